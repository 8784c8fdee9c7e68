//! The HTTP API, one module per resource. Each module's `router()` lists its handlers with
//! their OpenAPI descriptions; [`router`] merges them. Handlers parse and authorise, call
//! the database or a service, and shape the response.

mod activity;
mod badges;
mod card;
mod checkins;
mod connect;
mod credentials;
pub mod export;
mod feed;
mod goals;
mod heatmap;
mod icons;
mod paging;
mod partners;

mod health;
mod stats;
mod users;

use std::{collections::BTreeMap, marker::PhantomData};

use axum::{
    body::Body,
    extract::FromRequestParts,
    http::{header, request::Parts},
    response::{IntoResponse, Response},
};
use serde::{
    Deserialize,
    de::{DeserializeOwned, IgnoredAny},
};
use utoipa::{
    IntoParams,
    openapi::{
        KnownFormat, ObjectBuilder, Required, SchemaFormat, Type,
        path::{Parameter, ParameterBuilder, ParameterIn},
    },
};
use utoipa_axum::router::OpenApiRouter;

use chrono::NaiveDate;

use crate::{
    auth::AuthUser,
    db::{EARLIEST_DAY, LATEST_DAY, UserRow},
    domain::{
        FieldError, GoalId, UserId, field,
        visibility::{Access, SectionKind, Viewer},
    },
    error::{AppError, AppResult},
    extract::ApiPath,
    state::AppState,
};

/// The API proper.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(users::router())
        .merge(goals::router())
        .merge(badges::router())
        .merge(checkins::router())
        .merge(activity::router())
        .merge(stats::router())
        .merge(icons::router())
        .merge(heatmap::router())
        .merge(card::router())
        .merge(credentials::router())
        .merge(export::router())
        .merge(connect::router())
        .merge(feed::router())
        .merge(partners::router())
}

/// Liveness and readiness, for the platform that runs the service.
pub fn probes() -> OpenApiRouter<AppState> {
    health::router()
}

/// `/users/{user_id}`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The user, as numbered by the auth-service.
    pub user_id: UserId,
}

/// `/users/{user_id}/goals/{goal_id}`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct GoalPath {
    pub user_id: UserId,
    pub goal_id: GoalId,
}

/// `/users/{user_id}/goals/{goal_id}/checkins/{date}`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CheckinPath {
    pub user_id: UserId,
    pub goal_id: GoalId,
    /// A day, `YYYY-MM-DD`.
    #[serde(deserialize_with = "day")]
    #[param(value_type = String, format = Date)]
    pub date: NaiveDate,
}

/// A `YYYY-MM-DD` day between [`EARLIEST_DAY`] and [`LATEST_DAY`], the days both backends
/// store; the error names the expected shape (and, raised inside the visitor, lets axum say
/// which parameter it was).
pub fn day<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    struct DayVisitor;
    impl serde::de::Visitor<'_> for DayVisitor {
        type Value = NaiveDate;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a date like 2026-03-10")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NaiveDate, E> {
            let day = NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| E::custom("must be a date like 2026-03-10"))?;
            if !(EARLIEST_DAY..=LATEST_DAY).contains(&day) {
                return Err(E::custom(
                    "must be a date between 0001-01-01 and 9999-12-31",
                ));
            }
            Ok(day)
        }
    }
    deserializer.deserialize_str(DayVisitor)
}

/// Like [`day`], for optional members and parameters.
pub fn optional_day<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<NaiveDate>, D::Error> {
    #[derive(Deserialize)]
    struct Day(#[serde(deserialize_with = "day")] NaiveDate);
    Ok(Option::<Day>::deserialize(deserializer)?.map(|d| d.0))
}

/// `?from=&to=`: a range of days, either end optional. What an end left out means is the
/// operation's, and so are the parameters' descriptions, which `W` words.
#[derive(Debug, Deserialize)]
#[serde(bound = "")]
pub struct DayRange<W> {
    #[serde(default, deserialize_with = "optional_day")]
    pub from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "optional_day")]
    pub to: Option<NaiveDate>,
    #[serde(skip)]
    wording: PhantomData<W>,
}

/// How an operation describes the ends of its [`DayRange`] in the OpenAPI document.
pub trait RangeWording {
    const FROM: &'static str;
    const TO: &'static str;
}

impl<W: RangeWording> IntoParams for DayRange<W> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        [("from", W::FROM), ("to", W::TO)]
            .into_iter()
            .map(|(name, description)| {
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Query)
                    .description(Some(description))
                    .required(Required::False)
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))),
                    ))
                    .build()
            })
            .collect()
    }
}

/// An SVG picture and how long caches may keep it; `middleware::conditional_get` tags it
/// and answers revalidations.
fn svg_response(picture: impl Into<Body>, cache_control: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, cache_control),
        ],
        picture.into(),
    )
        .into_response()
}

/// Paths under one user's resources.
pub trait UserScoped {
    fn user_id(&self) -> UserId;
}

impl UserScoped for UserPath {
    fn user_id(&self) -> UserId {
        self.user_id
    }
}

impl UserScoped for GoalPath {
    fn user_id(&self) -> UserId {
        self.user_id
    }
}

impl UserScoped for CheckinPath {
    fn user_id(&self) -> UserId {
        self.user_id
    }
}

/// Who the caller is to `owner`'s profile: its owner, a follower, or anyone else. Whether
/// the caller follows is read when it matters (some section is for followers), at every
/// request, so an unfollow, a removal or a block counts from the next one.
pub async fn viewer_of(
    state: &AppState,
    caller: Option<&AuthUser>,
    owner: &UserRow,
) -> AppResult<Viewer> {
    Ok(match caller {
        Some(AuthUser(caller)) if caller.user_id == owner.id => Viewer::Owner,
        Some(AuthUser(caller))
            if owner.privacy().has_followers_section()
                && state.store.follows(caller.user_id, owner.id).await? =>
        {
            Viewer::Follower
        }
        _ => Viewer::Other,
    })
}

/// The user whose section `S` is read, and leave to read it: 404 for an unknown or
/// deactivated user, and 404 for a section hidden from the caller, so nothing in it (not
/// even which goals exist) can be learned.
pub async fn open_section<S: SectionKind>(
    state: &AppState,
    user: UserId,
    caller: Option<&AuthUser>,
) -> AppResult<(UserRow, Access<S>)> {
    let row = state
        .store
        .user(user)
        .await?
        .ok_or_else(|| AppError::not_found("the user"))?;
    let viewer = viewer_of(state, caller, &row).await?;
    let access = row
        .privacy()
        .grant::<S>(user, viewer)
        .ok_or_else(|| AppError::NotFound("this section of the profile is not public".into()))?;
    Ok((row, access))
}

/// A path under the caller's own resources: 401 without a valid token, 403 when the path
/// names another user. Checked before the body is read, so another user's request learns
/// nothing from validation.
pub struct Owned<P>(pub P);

impl<P: DeserializeOwned + UserScoped + Send> FromRequestParts<AppState> for Owned<P> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let AuthUser(caller) = AuthUser::from_request_parts(parts, state).await?;
        let ApiPath(path) = ApiPath::<P>::from_request_parts(parts, state).await?;
        if path.user_id() != caller.user_id {
            return Err(AppError::Forbidden(
                "a token may only change its own user's data".into(),
            ));
        }
        Ok(Self(path))
    }
}

/// One error per member a request type does not have: `read_only_message` for those a
/// client may see but not set, "is not a field of …" for the rest.
fn unknown_fields(
    unknown: &BTreeMap<String, IgnoredAny>,
    read_only: &[&str],
    read_only_message: &str,
    schema: &str,
) -> Vec<FieldError> {
    unknown
        .keys()
        .map(|field| {
            let message = if read_only.contains(&field.as_str()) {
                read_only_message.to_owned()
            } else {
                format!("is not a field of {schema}")
            };
            FieldError::new(field.clone(), message)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{checkins::CheckinCreate, goals, users::UserUpdate};
    use crate::extract::parse_json;

    #[derive(Debug, serde::Deserialize)]
    struct Day(#[serde(deserialize_with = "super::day")] chrono::NaiveDate);

    #[test]
    fn days_outside_what_both_databases_store_are_refused() {
        let parse = |raw: &str| serde_json::from_value::<Day>(serde_json::json!(raw));
        for good in ["0001-01-01", "2026-03-10", "9999-12-31"] {
            assert_eq!(
                parse(good).map(|d| d.0.to_string()).ok().as_deref(),
                Some(good)
            );
        }
        for bad in [
            "-12345-01-01",
            "-4714-01-01",
            "0000-12-31",
            "+10000-01-01",
            "2026-02-30",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        /// Whatever bytes arrive as a body, parsing and validating answer a value or a
        /// problem; they never panic, whatever the request type.
        #[test]
        fn parsing_and_validating_arbitrary_bodies_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..256),
            text in r#"[\[\]{}":,0-9a-z_\\ .-]{0,160}"#,
        ) {
            for body in [bytes.as_slice(), text.as_bytes()] {
                let _ = parse_json::<serde_json::Value>(body);
                let _ = parse_json::<UserUpdate>(body).map(UserUpdate::validate);
                let _ = parse_json::<goals::LearningGoalCreate>(body).map(goals::LearningGoalCreate::validate);
                let _ = parse_json::<goals::LearningGoalUpdate>(body).map(goals::LearningGoalUpdate::validate);
                let _ = parse_json::<CheckinCreate>(body).map(|c| c.into_request().validate(chrono::NaiveDate::MIN));
            }
        }

        /// The same for bodies that are JSON objects with the members the types know.
        #[test]
        fn validating_arbitrary_members_never_panics(
            value in proptest::collection::btree_map(
                prop_oneof![
                    Just("title".to_owned()), Just("description".to_owned()), Just("status".to_owned()),
                    Just("display_name".to_owned()), Just("bio".to_owned()), Just("skills".to_owned()),
                    Just("avatar_url".to_owned()), Just("timezone".to_owned()), Just("week_start".to_owned()), Just("visibility".to_owned()),
                    Just("date".to_owned()), Just("minutes".to_owned()), Just("note".to_owned()), ".{0,6}",
                ],
                prop_oneof![
                    Just(serde_json::Value::Null),
                    any::<i64>().prop_map(serde_json::Value::from),
                    ".{0,50}".prop_map(serde_json::Value::from),
                    proptest::collection::vec(".{0,45}", 0..35).prop_map(serde_json::Value::from),
                ],
                0..6,
            )
        ) {
            let body = serde_json::to_vec(&value).unwrap();
            let _ = parse_json::<UserUpdate>(&body).map(UserUpdate::validate);
            let _ = parse_json::<goals::LearningGoalCreate>(&body).map(goals::LearningGoalCreate::validate);
            let _ = parse_json::<goals::LearningGoalUpdate>(&body).map(goals::LearningGoalUpdate::validate);
            let _ = parse_json::<CheckinCreate>(&body).map(|c| c.into_request().validate(chrono::NaiveDate::MIN));
        }
    }
}
