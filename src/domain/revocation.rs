//! Tokens refused before they expire: a logout lists one token's `jti`; a password change or
//! a "sign out everywhere" refuses every token of a user issued before a moment.

use chrono::{DateTime, TimeDelta, Utc};

/// The longest `jti` looked up, in bytes.
const JTI_MAX: usize = 255;

/// A `jti` is a token's opaque id, printed by its issuer: short, without control characters
/// (a NUL could not even be looked up in PostgreSQL).
pub fn plausible_jti(jti: &str) -> bool {
    (1..=JTI_MAX).contains(&jti.len()) && !jti.chars().any(char::is_control)
}

/// Whether a listed token is still refused at `now`. Its entry's `expires_at` is the token's
/// `exp`, and a token validates for `leeway` past its `exp`, so it is refused until then too.
/// An entry without an expiry is listed for good.
pub fn still_listed(
    expires_at: Option<DateTime<Utc>>,
    leeway: TimeDelta,
    now: DateTime<Utc>,
) -> bool {
    // Past the last instant there is, it is listed for good.
    expires_at.is_none_or(|expires_at| {
        expires_at
            .checked_add_signed(leeway)
            .is_none_or(|until| until > now)
    })
}

/// Whether a token issued at `iat` falls under a user's revocation of the tokens issued
/// before `before`. A token that does not say when it was issued counts as issued before.
pub fn issued_before(iat: Option<DateTime<Utc>>, before: DateTime<Utc>) -> bool {
    iat.is_none_or(|iat| iat < before)
}

/// Seconds since the epoch, a fraction allowed, as an instant (a token's `iat`, a message's
/// time); `None` for a value no instant has.
pub fn epoch_seconds(seconds: f64) -> Option<DateTime<Utc>> {
    if !seconds.is_finite() {
        return None;
    }
    let whole = seconds.floor();
    // In range of i64 and whole: the cast is exact.
    #[allow(clippy::cast_possible_truncation)]
    let secs = whole as i64;
    if (secs as f64) != whole {
        return None;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let nanos = ((seconds - whole) * 1e9) as u32;
    DateTime::from_timestamp(secs, nanos.min(999_999_999))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).unwrap()
    }

    #[test]
    fn a_jti_is_short_printable_text() {
        assert!(plausible_jti("2f1c0a7e-8c55-4f0e-9d5b-1d3f4b0c6a2e"));
        for bad in ["", "a\u{0}b", "tab\there", &"j".repeat(256)] {
            assert!(!plausible_jti(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_listed_token_is_refused_for_as_long_as_it_could_validate() {
        let leeway = TimeDelta::seconds(30);
        let exp = at(1_000);
        assert!(still_listed(Some(exp), leeway, at(999)));
        // Past its exp but within the leeway the token still validates: still refused.
        assert!(still_listed(Some(exp), leeway, at(1_006)));
        assert!(still_listed(Some(exp), leeway, at(1_029)));
        assert!(!still_listed(Some(exp), leeway, at(1_030)));
        assert!(still_listed(None, leeway, at(i64::from(i32::MAX))));
        assert!(still_listed(Some(exp), TimeDelta::MAX, at(1_000_000)));
    }

    #[test]
    fn a_users_revocation_takes_the_tokens_issued_strictly_before_it_and_those_that_do_not_say() {
        let before = at(1_000);
        assert!(issued_before(Some(at(999)), before));
        assert!(!issued_before(Some(at(1_000)), before));
        assert!(!issued_before(Some(at(1_001)), before));
        assert!(issued_before(None, before));
    }

    #[test]
    fn seconds_since_the_epoch_are_read_with_their_fraction() {
        assert_eq!(epoch_seconds(1_000.0), Some(at(1_000)));
        assert_eq!(
            epoch_seconds(1_000.5),
            Some(Utc.timestamp_opt(1_000, 500_000_000).unwrap())
        );
        assert_eq!(epoch_seconds(f64::NAN), None);
        assert_eq!(epoch_seconds(f64::INFINITY), None);
        assert_eq!(epoch_seconds(1e300), None);
    }

    proptest::proptest! {
        /// A token issued before a revocation is refused by it, one issued at or after is
        /// not, whatever the instants.
        #[test]
        fn the_cutoff_splits_tokens_by_when_they_were_issued(
            iat in -1_000_000_000i64..4_000_000_000,
            before in -1_000_000_000i64..4_000_000_000,
        ) {
            proptest::prop_assert_eq!(issued_before(Some(at(iat)), at(before)), iat < before);
        }
    }
}
