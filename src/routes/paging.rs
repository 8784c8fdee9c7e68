//! Keyset paging, the same for every list: a page size checked against its maximum (refused
//! with 400 rather than clamped), one row more fetched than shown to know whether another
//! page follows, and the next page's address in `Link: <…>; rel="next"` (RFC 8288).

use axum::{
    Json,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::error::{AppError, AppResult};

pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 100;

/// How many items a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u32);

impl Limit {
    /// The `limit` parameter: 1 to [`MAX_PAGE`], [`DEFAULT_PAGE`] when absent.
    pub fn parse(raw: Option<u32>) -> AppResult<Self> {
        let limit = raw.unwrap_or(DEFAULT_PAGE);
        if (1..=MAX_PAGE).contains(&limit) {
            Ok(Self(limit))
        } else {
            Err(AppError::invalid_parameter(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// Rows to fetch: one more than the page shows.
    pub fn fetch(self) -> u32 {
        self.0 + 1
    }
}

/// The answer for rows fetched with [`Limit::fetch`]: the page's items, and when more
/// follow, a `Link` to the page after the last one shown (`next` makes its path and query).
pub fn page<R, T: Serialize>(
    mut rows: Vec<R>,
    limit: Limit,
    next: impl FnOnce(&R) -> String,
    item: impl FnMut(R) -> T,
) -> Response {
    let more = rows.len() > limit.0 as usize;
    rows.truncate(limit.0 as usize);
    let link = rows.last().filter(|_| more).map(next);
    let items: Vec<T> = rows.into_iter().map(item).collect();
    let mut response = Json(items).into_response();
    if let Some(link) = link {
        link_next(&mut response, &link);
    }
    response
}

/// Names the page after this one (`next`: its path and query) in the response's `Link`.
pub fn link_next(response: &mut Response, next: &str) {
    let link = HeaderValue::from_str(&format!("<{next}>; rel=\"next\""))
        .expect("a link built from ids, dates and fixed words is a valid header");
    response.headers_mut().insert(header::LINK, link);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_is_one_to_the_maximum_and_defaults() {
        assert_eq!(Limit::parse(None).unwrap().get(), DEFAULT_PAGE);
        assert_eq!(Limit::parse(Some(1)).unwrap().fetch(), 2);
        assert_eq!(Limit::parse(Some(MAX_PAGE)).unwrap().get(), MAX_PAGE);
        assert!(Limit::parse(Some(0)).is_err());
        assert!(Limit::parse(Some(MAX_PAGE + 1)).is_err());
    }

    #[test]
    fn a_next_link_follows_only_when_more_rows_were_fetched() {
        let limit = Limit::parse(Some(2)).unwrap();
        let full = page(
            vec![5, 4, 3],
            limit,
            |last| format!("/x?cursor={last}"),
            |n| n,
        );
        assert_eq!(full.headers()[header::LINK], "</x?cursor=4>; rel=\"next\"");
        let last = page(vec![2, 1], limit, |last| format!("/x?cursor={last}"), |n| n);
        assert!(last.headers().get(header::LINK).is_none());
    }
}
