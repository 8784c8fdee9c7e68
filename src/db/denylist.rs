//! The auth-service's table of revoked tokens (its `token_blacklist`: `jti`, `expires_at`),
//! named by configuration. Its name goes into SQL text, so only a plain identifier is taken.

/// The lookup of one `jti` in a deny-list table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenylistTable {
    name: String,
    lookup: String,
    probe: String,
}

impl DenylistTable {
    /// A table name of letters, digits and underscores, not starting with a digit, at most
    /// 63 characters (PostgreSQL's limit): nothing that could change the statement.
    pub fn parse(name: &str) -> Result<Self, String> {
        let plain = (1..=63).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.as_bytes()[0].is_ascii_digit();
        if !plain {
            return Err(format!(
                "JWT_DENYLIST_TABLE {name:?} is not a plain SQL identifier \
                 (letters, digits and underscores, not starting with a digit)"
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            lookup: format!("SELECT expires_at FROM {name} WHERE jti = $1"),
            probe: format!("SELECT jti, expires_at FROM {name} WHERE 1 = 0"),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads no row, and fails when the table or the lookup's columns are missing.
    pub fn probe(&self) -> &str {
        &self.probe
    }

    /// $1 the token's `jti`: its `expires_at` (null: never) when it is listed.
    pub fn lookup(&self) -> &str {
        &self.lookup
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_identifiers_are_taken_and_anything_else_refused() {
        for good in ["token_blacklist", "Revoked_Tokens2", "_t"] {
            assert!(DenylistTable::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "2fa",
            "auth.token_blacklist",
            "t; DROP TABLE users",
            "\"quoted\"",
            "tokens--",
            "bläck",
            &"t".repeat(64),
        ] {
            assert!(DenylistTable::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_lookup_reads_the_expiry_of_one_jti() {
        let table = DenylistTable::parse("token_blacklist").unwrap();
        assert_eq!(
            table.lookup(),
            "SELECT expires_at FROM token_blacklist WHERE jti = $1"
        );
        assert_eq!(
            table.probe(),
            "SELECT jti, expires_at FROM token_blacklist WHERE 1 = 0"
        );
        assert_eq!(table.name(), "token_blacklist");
    }
}
