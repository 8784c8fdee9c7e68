//! A PostgreSQL database of the test's own on the machine's server, created fresh and
//! dropped with the kit: for what a schema cannot show, such as a database that refuses
//! connections while it is maintained (`ALLOW_CONNECTIONS false`).

use sqlx::{Executor, postgres::PgPoolOptions};

use super::{Backend, after_the_test, test_database_url};

pub struct OwnDatabase {
    name: String,
}

impl OwnDatabase {
    /// A new, empty database; `None` when PostgreSQL is not there (see [`Backend::available`]).
    pub async fn create() -> Option<Self> {
        if !Backend::Postgres.available().await {
            return None;
        }
        let database = Self {
            name: format!("test_{}", uuid::Uuid::new_v4().simple()),
        };
        database
            .admin(&format!("CREATE DATABASE {}", database.name))
            .await;
        Some(database)
    }

    /// `DATABASE_URL` of this database.
    pub fn url(&self) -> String {
        let mut url = url::Url::parse(&test_database_url()).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&self.name);
        url.to_string()
    }

    /// Runs SQL in this database (which must be accepting connections).
    pub async fn execute(&self, sql: &str) {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(&self.url())
            .await
            .expect("the test's own database");
        pool.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())))
            .await
            .unwrap_or_else(|e| panic!("test SQL failed: {e}"));
        pool.close().await;
    }

    /// As an operator maintaining the database: no new connections (SQLSTATE 55000), and
    /// those open are ended.
    pub async fn refuse_connections(&self) {
        self.admin(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS false",
            self.name
        ))
        .await;
        // A connection the service was opening as the database closed passes the check and
        // is listed only once it is up: end what is listed until three looks in a row (each
        // a connection of its own) find nothing.
        let mut quiet = 0;
        while quiet < 3 {
            let ended = self
                .admin_count(&format!(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                     WHERE datname = '{}' AND pid <> pg_backend_pid()",
                    self.name
                ))
                .await;
            quiet = if ended == 0 { quiet + 1 } else { 0 };
        }
    }

    pub async fn accept_connections(&self) {
        self.admin(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS true",
            self.name
        ))
        .await;
    }

    /// A count, read on the server as [`Self::admin`] runs SQL.
    async fn admin_count(&self, sql: &str) -> i64 {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(&test_database_url())
            .await
            .expect("PostgreSQL for tests");
        let count = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("admin SQL failed: {e}"));
        pool.close().await;
        count
    }

    /// Runs SQL on the server, connected to the tests' usual database.
    async fn admin(&self, sql: &str) {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(&test_database_url())
            .await
            .expect("PostgreSQL for tests");
        pool.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())))
            .await
            .unwrap_or_else(|e| panic!("admin SQL failed: {e}"));
        pool.close().await;
    }
}

impl Drop for OwnDatabase {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        after_the_test(async move {
            if let Ok(pool) = PgPoolOptions::new()
                .max_connections(1)
                .connect(&test_database_url())
                .await
            {
                let _ = pool.execute(sqlx::AssertSqlSafe(drop)).await;
                pool.close().await;
            }
        });
    }
}
