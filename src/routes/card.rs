//! The profile card, an SVG to embed: public by nature, so it is drawn for everyone alike
//! from the public sections only, and never reads a token.

use axum::{extract::State, response::Response};
use chrono::{Days, NaiveDate};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{UserPath, heatmap::activity, svg_response};
use crate::{
    db::StreakFigures,
    domain::{
        heatmap::{self, Day},
        profile,
        streak::{self, MAX_ALIVE_GAP_DAYS, Rule},
        visibility::{Badges, Goals, Viewer},
    },
    error::{AppError, AppResult},
    extract::{ApiPath, ApiQuery},
    render::card::{self, Card, Streaks, Theme},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_card))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CardQuery {
    /// Colours for a light (default) or a dark page.
    #[param(value_type = Option<Theme>, inline)]
    pub theme: Option<String>,
}

/// The card's streak figures: the best streak any goal has today, and the best any goal
/// ever had. These are the daily goals' figures as stored, in days.
fn card_streaks(figures: &StreakFigures, today: NaiveDate) -> Streaks {
    Streaks {
        current: figures
            .recent
            .iter()
            .map(|row| row.summary().on(Rule::Daily, today).streak_count)
            .max()
            .unwrap_or(0),
        longest: u32::try_from(figures.longest).unwrap_or(0),
    }
}

/// A user's card: name, streaks, badges and the last 12 weeks, as SVG.
#[utoipa::path(
    get,
    path = "/users/{user_id}/card.svg",
    tag = "profiles",
    params(UserPath, CardQuery),
    responses(
        (status = 200, description = "The card, SVG of 500×200; a private section's figures are not drawn",
            content_type = "image/svg+xml", body = String,
            headers(
                ("ETag" = String, description = "The card's entity tag"),
                ("Cache-Control" = String, description = "`public, max-age=` `CARD_MAX_AGE_SECS`"),
            )),
        (status = 400, description = "A parameter is not valid; `errors` names it"),
        (status = 404, description = "No such user, or the account is deactivated"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %path.user_id))]
async fn get_card(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<UserPath>,
    ApiQuery(query): ApiQuery<CardQuery>,
) -> AppResult<Response> {
    let theme = query
        .theme
        .as_deref()
        .map_or(Ok(Theme::default()), Theme::parse)
        .map_err(|message| AppError::invalid_parameter("theme", message))?;
    let row = state
        .store
        .user(path.user_id)
        .await?
        .ok_or_else(|| AppError::not_found("the user"))?;
    // The card is for everyone: what the public sees, even when the owner asks.
    let privacy = row.privacy();
    let today = streak::today(state.clock.now(), row.time_zone());
    let (streaks, weeks) = match privacy.grant::<Goals>(path.user_id, Viewer::Other) {
        Some(goals) => {
            let alive_since = today
                .checked_sub_days(Days::new(MAX_ALIVE_GAP_DAYS))
                .unwrap_or(today);
            let figures = state.store.streaks(&goals, alive_since).await?;
            let from = heatmap::weeks_ending(today, row.week_start(), card::WEEKS);
            let rows = state.store.heatmap(&goals, None, from, today).await?;
            let days: Vec<Day> = heatmap::calendar(from, today, &activity(&rows));
            (Some(card_streaks(&figures, today)), Some(days))
        }
        None => (None, None),
    };
    let badges = match privacy.grant::<Badges>(path.user_id, Viewer::Other) {
        Some(access) => {
            let held = state.store.badges_of(&access).await?;
            Some(card::Badges {
                count: held.len(),
                newest: held
                    .into_iter()
                    .take(card::ICONS_MAX)
                    .map(|b| b.code)
                    .collect(),
            })
        }
        None => None,
    };
    let svg = card::render(&Card {
        name: profile::shown_name(row.display_name.as_deref(), &row.username).to_owned(),
        username: row.username.clone(),
        streaks,
        badges,
        heatmap: weeks,
        theme,
    });

    let cache = format!("public, max-age={}", state.card_max_age_secs);
    Ok(svg_response(svg, &cache))
}

#[cfg(test)]
mod tests {
    use sqlx::types::Json;

    use super::*;
    use crate::db::StreakRow;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    fn goal(last: NaiveDate, run: i32, longest: i32) -> StreakRow {
        StreakRow {
            last_checkin_date: Some(last),
            streak_run: run,
            longest_streak: longest,
            freezes_held: 0,
            frozen_dates: Json(Vec::new()),
            streak_week_days: 0,
        }
    }

    #[test]
    fn the_card_shows_the_best_live_streak_and_the_longest_ever() {
        let figures = StreakFigures {
            recent: vec![goal(day(9), 4, 4), goal(day(10), 2, 9), goal(day(1), 6, 6)],
            longest: 30,
        };
        let streaks = card_streaks(&figures, day(10));
        // The goal last checked in on the 1st has lost its streak by the 10th.
        assert_eq!(
            streaks,
            Streaks {
                current: 4,
                longest: 30
            }
        );
        let none = StreakFigures {
            recent: Vec::new(),
            longest: 0,
        };
        assert_eq!(
            card_streaks(&none, day(10)),
            Streaks {
                current: 0,
                longest: 0
            }
        );
    }
}
