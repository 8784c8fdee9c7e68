//! Profiles: the caller's own (`/users/me`), anyone's public one, and updates by the owner.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::IgnoredAny};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Owned, UserPath, field, unknown_fields, viewer_of};
use crate::{
    auth::AuthUser,
    db::UserRow,
    domain::{
        FieldError, Patch, UserId,
        profile::{AvatarUrl, Bio, DisplayName, ProfileChanges, Skills, TimeZone, TimeZoneName},
        social::FollowPolicy,
        visibility::{PrivacyChanges, Section, Viewer, Visibility},
        week::WeekStart,
    },
    error::{AppError, AppResult},
    extract::{ApiJson, ApiPath},
    middleware::{expected_versions, with_version},
    services,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(get_profile, update_profile))
}

/// A user's public profile. It never carries the auth-service's columns (email, password
/// hash, flags) beyond the id and username.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserProfileResponse {
    pub id: UserId,
    pub username: String,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub skills: Vec<String>,
    /// An absolute https URL.
    pub avatar_url: Option<String>,
    /// When the auth-service created the account, if it recorded it.
    pub created_at: Option<DateTime<Utc>>,
    /// Users who follow this one (a follow begun, not a request).
    pub followers_count: i64,
    /// Users this one follows.
    pub following_count: i64,
    /// Whether a follow begins at once (`open`) or is a request the user approves.
    pub follow_policy: FollowPolicy,
    pub links: ProfileLinks,
}

/// Where the rest of a profile lives, as paths on this service. A section private to
/// someone else is left out.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileLinks {
    #[serde(rename = "self")]
    pub self_: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub badges: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goals: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub followers: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub following: Option<String>,
}

/// Who sees each section of the profile besides its owner.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisibilitySettings {
    pub goals: Visibility,
    pub badges: Visibility,
    pub activity: Visibility,
    pub stats: Visibility,
    /// The lists of followers and followed.
    pub connections: Visibility,
}

/// The caller's own profile: the public fields and those only its owner sees.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyProfileResponse {
    #[serde(flatten)]
    pub profile: UserProfileResponse,
    pub email: Option<String>,
    /// IANA time zone that decides where the user's day begins.
    pub timezone: String,
    /// The day the user's week starts on, in their time zone.
    pub week_start: WeekStart,
    /// Whether `streak.at_risk.v1` and `partner_streak.at_risk.v1` reminders go out for
    /// the user's goals (each goal can turn its own off too).
    pub reminders: bool,
    pub visibility: VisibilitySettings,
}

impl UserProfileResponse {
    fn from_row(row: &UserRow, viewer: Viewer) -> Self {
        let base = format!("/users/{}", row.id);
        let privacy = row.privacy();
        let link = |section: Section, path: &str| {
            privacy
                .allows(section, viewer)
                .then(|| format!("{base}/{path}"))
        };
        Self {
            id: row.id,
            username: row.username.clone(),
            display_name: row.display_name.clone(),
            bio: row.bio.clone(),
            skills: row.skills.0.clone(),
            avatar_url: row.avatar_url.clone(),
            created_at: row.created_at.map(|t| t.0),
            followers_count: row.followers_count,
            following_count: row.following_count,
            follow_policy: row.follow_policy(),
            links: ProfileLinks {
                badges: link(Section::Badges, "badges"),
                goals: link(Section::Goals, "goals"),
                stats: link(Section::Stats, "stats"),
                activity: link(Section::Activity, "activity"),
                followers: link(Section::Connections, "followers"),
                following: link(Section::Connections, "following"),
                self_: base.clone(),
            },
        }
    }
}

impl MyProfileResponse {
    pub(super) fn from_row(row: &UserRow) -> Self {
        let privacy = row.privacy();
        Self {
            profile: UserProfileResponse::from_row(row, Viewer::Owner),
            email: row.email.clone(),
            timezone: row.time_zone().name().to_owned(),
            week_start: row.week_start(),
            reminders: row.reminders,
            visibility: VisibilitySettings {
                goals: privacy.goals,
                badges: privacy.badges,
                activity: privacy.activity,
                stats: privacy.stats,
                connections: privacy.connections,
            },
        }
    }
}

impl IntoResponse for MyProfileResponse {
    /// Owner-only data: never stored by shared caches.
    fn into_response(self) -> Response {
        let mut response = Json(self).into_response();
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
        response
    }
}

/// A profile as `viewer` sees it, tagged with its version.
fn profile_view(row: &UserRow, viewer: Viewer) -> Response {
    let version = row.version(viewer);
    match viewer {
        Viewer::Owner => with_version(MyProfileResponse::from_row(row), &version),
        Viewer::Follower | Viewer::Other => {
            with_version(Json(UserProfileResponse::from_row(row, viewer)), &version)
        }
    }
}

/// A partial update of the caller's profile: leave a field out to keep it, send `null` to
/// clear it. Blank text also clears. Any other member is refused.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserUpdate {
    /// One line, at most 100 characters after trimming.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub display_name: Patch<String>,
    /// At most 500 characters after trimming; line breaks are kept.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub bio: Patch<String>,
    /// At most 30, each 1–40 characters; repeats in another case are dropped.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>, max_items = 30)]
    pub skills: Patch<Vec<String>>,
    /// An absolute https URL of a named host, at most 2048 characters; `""` or `null`
    /// removes it.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 2048)]
    pub avatar_url: Patch<String>,
    /// An IANA time zone name; `null` returns to UTC.
    #[serde(default)]
    #[schema(value_type = Option<TimeZoneName>)]
    pub timezone: Patch<String>,
    /// `monday` or `sunday`; `null` returns to Monday.
    #[serde(default)]
    #[schema(value_type = Option<WeekStart>)]
    pub week_start: Patch<String>,
    /// `open` or `approval`; `null` returns to `open`. Leaving `approval` approves every
    /// pending request.
    #[serde(default)]
    #[schema(value_type = Option<FollowPolicy>)]
    pub follow_policy: Patch<String>,
    /// `false` stops `streak.at_risk.v1` and `partner_streak.at_risk.v1` reminders for
    /// every goal, `true` (or `null`, the default) lets each goal's own setting decide.
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub reminders: Patch<bool>,
    /// Who besides the owner sees each section; sections left out keep their setting.
    #[serde(default)]
    pub visibility: Option<VisibilityUpdate>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub unknown: BTreeMap<String, IgnoredAny>,
}

/// `public`, `followers` or `private` for any of the five sections.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VisibilityUpdate {
    #[serde(default)]
    #[schema(value_type = Option<Visibility>)]
    pub goals: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Visibility>)]
    pub badges: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Visibility>)]
    pub activity: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Visibility>)]
    pub stats: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Visibility>)]
    pub connections: Option<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub unknown: BTreeMap<String, IgnoredAny>,
}

impl VisibilityUpdate {
    fn validate(self, errors: &mut Vec<FieldError>) -> PrivacyChanges {
        for (name, _) in self.unknown {
            errors.push(FieldError::new(
                format!("visibility.{name}"),
                "is not a section: goals, badges, activity, stats or connections",
            ));
        }
        let mut section = |name: &str, raw: Option<String>| {
            raw.and_then(|raw| {
                field(
                    errors,
                    &format!("visibility.{name}"),
                    Visibility::parse(&raw),
                )
            })
        };
        PrivacyChanges {
            goals: section("goals", self.goals),
            badges: section("badges", self.badges),
            activity: section("activity", self.activity),
            stats: section("stats", self.stats),
            connections: section("connections", self.connections),
        }
    }
}

/// Members a client may see on a profile but not set.
const PROFILE_READ_ONLY: &[&str] = &[
    "id",
    "username",
    "email",
    "created_at",
    "links",
    "followers_count",
    "following_count",
];

impl UserUpdate {
    pub(crate) fn validate(self) -> Result<(ProfileChanges, PrivacyChanges), AppError> {
        let mut errors = unknown_fields(
            &self.unknown,
            PROFILE_READ_ONLY,
            "is read-only: the auth-service or this service sets it",
            "UserUpdate",
        );
        let privacy = self
            .visibility
            .map(|v| v.validate(&mut errors))
            .unwrap_or_default();
        let skills = self
            .skills
            .try_map(Skills::parse)
            .map_err(|skill_errors| errors.extend(skill_errors))
            .ok();
        let display_name = field(
            &mut errors,
            "display_name",
            self.display_name
                .try_map(|v| DisplayName::parse(&v))
                .map(Patch::flatten),
        );
        let bio = field(
            &mut errors,
            "bio",
            self.bio.try_map(|v| Bio::parse(&v)).map(Patch::flatten),
        );
        let avatar_url = field(
            &mut errors,
            "avatar_url",
            self.avatar_url
                .try_map(|v| AvatarUrl::parse(&v))
                .map(Patch::flatten),
        );
        let timezone = field(
            &mut errors,
            "timezone",
            self.timezone.try_map(|v| TimeZone::parse(&v)),
        );
        let week_start = field(
            &mut errors,
            "week_start",
            self.week_start.try_map(|v| WeekStart::parse(&v)),
        );
        let follow_policy = field(
            &mut errors,
            "follow_policy",
            self.follow_policy.try_map(|v| FollowPolicy::parse(&v)),
        );
        match (
            display_name,
            bio,
            skills,
            avatar_url,
            timezone,
            week_start,
            follow_policy,
        ) {
            (
                Some(display_name),
                Some(bio),
                Some(skills),
                Some(avatar_url),
                Some(timezone),
                Some(week_start),
                Some(follow_policy),
            ) if errors.is_empty() => Ok((
                ProfileChanges {
                    display_name,
                    bio,
                    skills,
                    avatar_url,
                    timezone,
                    week_start,
                    follow_policy,
                    reminders: self.reminders,
                },
                privacy,
            )),
            _ => Err(AppError::Validation(errors)),
        }
    }
}

/// The caller's own profile, with the fields only its owner sees.
#[utoipa::path(
    get,
    path = "/users/me",
    tag = "profiles",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's profile", body = MyProfileResponse),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "The token's user has no profile here"),
    )
)]
async fn me(State(state): State<AppState>, AuthUser(caller): AuthUser) -> AppResult<Response> {
    let row = state
        .store
        .user(caller.user_id)
        .await?
        .ok_or_else(|| AppError::not_found("the token's user"))?;
    Ok(profile_view(&row, Viewer::Owner))
}

/// A user's public profile. Its owner, with their token, gets their own view (as from
/// `/users/me`): the same representation `PUT` answers with, so its `ETag` is the one
/// `If-Match` expects.
#[utoipa::path(
    get,
    path = "/users/{user_id}",
    tag = "profiles",
    params(UserPath),
    responses(
        (status = 200, description = "The public profile (the owner's own view for its owner)", body = UserProfileResponse,
            headers(("ETag" = String, description = "The representation's entity tag"))),
        (status = 304, description = "Not modified since the `If-None-Match` entity tag"),
        (status = 400, description = "The user id is not a positive 64-bit integer"),
        (status = 401, description = "A bearer token was sent and is not valid"),
        (status = 404, description = "No such user, or the account is deactivated"),
    )
)]
async fn get_profile(
    State(state): State<AppState>,
    caller: Option<AuthUser>,
    ApiPath(path): ApiPath<UserPath>,
) -> AppResult<Response> {
    let row = state
        .store
        .user(path.user_id)
        .await?
        .ok_or_else(|| AppError::not_found("the user"))?;
    let viewer = viewer_of(&state, caller.as_ref(), &row).await?;
    Ok(profile_view(&row, viewer))
}

/// Updates the caller's own profile; answers with the owner's view of it.
#[utoipa::path(
    put,
    path = "/users/{user_id}",
    tag = "profiles",
    params(UserPath),
    request_body = UserUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated profile", body = MyProfileResponse),
        (status = 400, description = "The body is not JSON, or the user id is not valid"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "The token's user has no profile here"),
        (status = 412, description = "`If-Match` names an entity tag the profile no longer has"),
        (status = 413, description = "The body is larger than 64 KiB"),
        (status = 415, description = "The body is not sent as JSON"),
        (status = 422, description = "A field is not valid; `errors` names each one"),
    )
)]
async fn update_profile(
    State(state): State<AppState>,
    Owned(path): Owned<UserPath>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<UserUpdate>,
) -> AppResult<Response> {
    let (changes, privacy) = body.validate()?;
    let expected = headers.get(header::IF_MATCH).map(expected_versions);
    let row = services::profile::update(
        &*state.store,
        &*state.clock,
        path.user_id,
        changes,
        privacy,
        expected.as_ref(),
    )
    .await?;
    Ok(profile_view(&row, Viewer::Owner))
}
