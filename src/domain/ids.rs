//! Identifiers. The auth-service numbers users with positive 64-bit integers; goals are
//! numbered by this service the same way. A path segment that is not one is rejected before
//! any handler runs.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, de};
use utoipa::openapi::{
    RefOr, Schema,
    schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type},
};

macro_rules! positive_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, sqlx::Type)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(i64);

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(1))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl $name {
            pub fn parse(value: i64) -> Result<Self, &'static str> {
                positive(value).map(Self)
            }

            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = &'static str;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_decimal(s).and_then(Self::parse)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        /// Deserialized from text, as path segments arrive; the error is raised inside the
        /// visitor so that axum reports which parameter it was.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(IdVisitor).map(Self)
            }
        }
    };
}

const NOT_POSITIVE: &str = "must be a positive 64-bit integer";

/// Plain decimal digits only: no sign, no spaces, no exponent.
fn parse_decimal(s: &str) -> Result<i64, &'static str> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NOT_POSITIVE);
    }
    s.parse().map_err(|_| NOT_POSITIVE)
}

fn positive(value: i64) -> Result<i64, &'static str> {
    if value > 0 {
        Ok(value)
    } else {
        Err(NOT_POSITIVE)
    }
}

struct IdVisitor;

impl de::Visitor<'_> for IdVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NOT_POSITIVE)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        parse_decimal(v).and_then(positive).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        positive(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v)
            .map_err(|_| NOT_POSITIVE)
            .and_then(positive)
            .map_err(E::custom)
    }
}

positive_id!(
    /// A user of the platform, as numbered by the auth-service.
    UserId
);
positive_id!(
    /// A learning goal.
    GoalId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_positive_decimal_integers_only() {
        assert_eq!("42".parse::<UserId>().map(UserId::get), Ok(42));
        assert_eq!(
            "9223372036854775807".parse::<UserId>().map(UserId::get),
            Ok(i64::MAX)
        );
        for bad in [
            "0",
            "-1",
            "+1",
            " 1",
            "1.0",
            "abc",
            "",
            "9223372036854775808",
            "1e3",
        ] {
            assert!(bad.parse::<UserId>().is_err(), "{bad:?} was accepted");
        }
    }
}
