//! Builds the application: keys, database, router and middleware, bound to its address.
//! Tests build it exactly as the binary does, on port 0.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Request, State},
    http::{HeaderName, HeaderValue, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::{
    auth::{Authenticator, keys::dev_secret},
    clock::Clock,
    config::Config,
    db,
    error::AppError,
    extract::MAX_BODY_BYTES,
    openapi::{ApiDoc, with_problem_bodies},
    routes,
    state::AppState,
};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Connects and migrates the database, loads the keys and binds the listener.
    pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let auth = Arc::new(authenticator(config).await?);
        let store = db::connect(config).await?;
        store.migrate().await.context("migrating the database")?;
        let state = AppState { store, auth, clock };
        let router = router(state.clone(), config);
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .with_context(|| format!("binding {}", config.listen_addr))?;
        Ok(Self {
            listener,
            router,
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, lets requests in flight finish, then closes the
    /// database pool.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(address = %self.local_addr(), "serving");
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        self.state.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The verifier for the configured keys; with none configured, the development secret,
/// announced loudly.
pub async fn authenticator(config: &Config) -> anyhow::Result<Authenticator> {
    let jwt = &config.jwt;
    let dev =
        if jwt.jwt_secret.is_none() && jwt.jwt_public_key.is_none() && jwt.jwt_jwks_url.is_none() {
            let secret = dev_secret(&config.data_dir)?;
            tracing::warn!(
                path = %config.data_dir.join("dev-jwt-secret").display(),
                "no JWT key configured: using a DEVELOPMENT secret. Tokens signed with it are for \
                 local use only; set JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL in production"
            );
            Some(secret)
        } else {
            None
        };
    Authenticator::from_config(jwt, dev).await
}

pub fn router(state: AppState, config: &Config) -> Router {
    let (api_router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::router())
        .split_for_parts();
    let api = with_problem_bodies(api);
    let middleware = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                // Method, route and request id only: no headers, no query, no bodies.
                let route = request
                    .extensions()
                    .get::<axum::extract::MatchedPath>()
                    .map_or("unmatched", |p| p.as_str());
                let request_id = request
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                tracing::info_span!("request", method = %request.method(), route, request_id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(middleware::from_fn_with_state(
            config.request_timeout(),
            request_timeout,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    api_router
        .merge(SwaggerUi::new("/docs").url("/openapi.json", api))
        .fallback(|| async { AppError::NotFound("no such resource".into()) })
        .method_not_allowed_fallback(|| async {
            AppError::MethodNotAllowed("this resource does not answer that method".into())
        })
        .layer(middleware)
        .with_state(state)
}

/// Bounds every request: one that takes longer is answered 503 and its work dropped.
async fn request_timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            AppError::Unavailable(format!("the request took longer than {limit:?}")).into_response()
        }
    }
}
