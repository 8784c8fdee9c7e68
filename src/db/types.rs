//! Column types that need a word on how they are read.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use sqlx::{
    Decode, Postgres, Sqlite, Type,
    error::BoxDynError,
    postgres::{PgTypeInfo, PgValueRef},
    sqlite::{SqliteTypeInfo, SqliteValueRef},
};

/// `users.created_at` belongs to the auth-service, which may have declared it `TIMESTAMP` or
/// `TIMESTAMPTZ` (on SQLite: text or a number). Either way it is read as UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTimestamp(pub DateTime<Utc>);

impl Type<Postgres> for UtcTimestamp {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("timestamptz")
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <DateTime<Utc> as Type<Postgres>>::compatible(ty)
            || <NaiveDateTime as Type<Postgres>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Postgres> for UtcTimestamp {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        // Both types travel as microseconds since 2000-01-01 UTC in the binary protocol.
        let naive = <NaiveDateTime as Decode<Postgres>>::decode(value)?;
        Ok(Self(Utc.from_utc_datetime(&naive)))
    }
}

impl Type<Sqlite> for UtcTimestamp {
    fn type_info() -> SqliteTypeInfo {
        <DateTime<Utc> as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <DateTime<Utc> as Type<Sqlite>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Sqlite> for UtcTimestamp {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        <DateTime<Utc> as Decode<Sqlite>>::decode(value).map(Self)
    }
}
