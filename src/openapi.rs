//! The OpenAPI 3.1 document. Paths and their schemas are collected from the handlers'
//! `#[utoipa::path]` attributes as the router is built, so the document cannot drift from
//! the routes; this module adds what is common to all of them.

use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::{
        self, Content, RefOr,
        path::Operation,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::error::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "user-service",
        description = "Profiles, badges and the learning tracker of a learning platform. \
            Tokens are issued by the platform's auth-service; this service verifies them."
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "profiles", description = "Public profiles and the caller's own"),
        (name = "goals", description = "Learning goals"),
        (name = "badges", description = "Badges earned"),
        (name = "activity", description = "What a user did, newest first"),
        (name = "stats", description = "Activity in figures"),
        (name = "operations", description = "Probes for the platform running the service"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A JWT issued by the auth-service"))
                    .build(),
            ),
        );
    }
}

/// Every 4xx and 5xx answer is a problem document; the handlers only describe when each
/// happens.
pub fn with_problem_bodies(mut api: openapi::OpenApi) -> openapi::OpenApi {
    let problem = Content::new(Some(RefOr::Ref(openapi::Ref::from_schema_name(
        Problem::name(),
    ))));
    for item in api.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            add_problem_content(operation, &problem);
        }
    }
    api
}

fn add_problem_content(operation: &mut Operation, problem: &Content) {
    for (status, response) in operation.responses.responses.iter_mut() {
        if !(status.starts_with('4') || status.starts_with('5')) {
            continue;
        }
        if let RefOr::T(response) = response {
            response
                .content
                .insert("application/problem+json".into(), RefOr::T(problem.clone()));
        }
    }
}
