//! The reads and transaction primitives whose SQL and bindings are the same on both
//! backends, written once and expanded for each backend's concrete pool and transaction
//! types. Each expansion is ordinary code for one backend; nothing here is generic over
//! `sqlx::Database`. Statements that differ by backend come in as arguments.

/// `impl Reads for $store`, reading from its pool field `$pool`.
macro_rules! impl_reads {
    ($store:ty, $pool:ident) => {
        #[async_trait::async_trait]
        impl $crate::db::Reads for $store {
            async fn user(&self, id: UserId) -> sqlx::Result<Option<UserRow>> {
                sqlx::query_as(sql::USER_BY_ID)
                    .bind(id)
                    .fetch_optional(&self.$pool)
                    .await
            }

            async fn badges_of(&self, user: UserId) -> sqlx::Result<Vec<AwardedBadgeRow>> {
                sqlx::query_as(sql::BADGES_OF_USER)
                    .bind(user)
                    .fetch_all(&self.$pool)
                    .await
            }

            async fn goals(&self, user: UserId, page: &GoalPage) -> sqlx::Result<Vec<GoalRow>> {
                let before = page.before.map_or(i64::MAX, GoalId::get);
                let limit = i64::from(page.limit);
                match page.status {
                    None => {
                        sqlx::query_as(sql::GOALS_PAGE)
                            .bind(user)
                            .bind(before)
                            .bind(limit)
                            .fetch_all(&self.$pool)
                            .await
                    }
                    Some(status) => {
                        sqlx::query_as(sql::GOALS_PAGE_WITH_STATUS)
                            .bind(user)
                            .bind(status.as_str())
                            .bind(before)
                            .bind(limit)
                            .fetch_all(&self.$pool)
                            .await
                    }
                }
            }

            async fn goal(&self, user: UserId, goal: GoalId) -> sqlx::Result<Option<GoalRow>> {
                sqlx::query_as(sql::GOAL_BY_ID)
                    .bind(goal)
                    .bind(user)
                    .fetch_optional(&self.$pool)
                    .await
            }

            async fn goal_counts(&self, user: UserId) -> sqlx::Result<Vec<(String, i64)>> {
                sqlx::query_as(sql::GOAL_COUNTS)
                    .bind(user)
                    .fetch_all(&self.$pool)
                    .await
            }

            async fn badge_count(&self, user: UserId) -> sqlx::Result<i64> {
                sqlx::query_scalar(sql::BADGE_COUNT)
                    .bind(user)
                    .fetch_one(&self.$pool)
                    .await
            }
        }
    };
}
pub(crate) use impl_reads;

/// `impl Tx for $tx`, whose field `tx` is the open transaction. `$user_for_update` and
/// `$goal_for_update` read a row and lock it for the rest of the transaction.
macro_rules! impl_tx {
    ($tx:ty, user_for_update: $user_for_update:expr, goal_for_update: $goal_for_update:expr) => {
        #[async_trait::async_trait]
        impl $crate::db::Tx for $tx {
            async fn lock_user(&mut self, id: UserId) -> sqlx::Result<Option<UserRow>> {
                sqlx::query_as($user_for_update)
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
            }

            async fn save_profile(
                &mut self,
                id: UserId,
                profile: &Profile,
                now: DateTime<Utc>,
            ) -> sqlx::Result<UserRow> {
                sqlx::query_as(sql::UPDATE_PROFILE)
                    .bind(id)
                    .bind(&profile.display_name)
                    .bind(&profile.bio)
                    .bind(Json(&profile.skills))
                    .bind(&profile.avatar_url)
                    .bind(profile.timezone.name())
                    .bind(now)
                    .fetch_one(&mut *self.tx)
                    .await
            }

            async fn insert_user(
                &mut self,
                id: UserId,
                username: &str,
                now: DateTime<Utc>,
            ) -> sqlx::Result<()> {
                sqlx::query(sql::INSERT_USER)
                    .bind(id)
                    .bind(username)
                    .bind(now)
                    .execute(&mut *self.tx)
                    .await
                    .map(drop)
            }

            async fn lock_goal(
                &mut self,
                user: UserId,
                goal: GoalId,
            ) -> sqlx::Result<Option<GoalRow>> {
                sqlx::query_as($goal_for_update)
                    .bind(goal)
                    .bind(user)
                    .fetch_optional(&mut *self.tx)
                    .await
            }

            async fn insert_goal(
                &mut self,
                user: UserId,
                goal: &NewGoal,
                now: DateTime<Utc>,
            ) -> sqlx::Result<GoalRow> {
                sqlx::query_as(sql::INSERT_GOAL)
                    .bind(user)
                    .bind(goal.title.as_str())
                    .bind(goal.description.as_ref().map(|d| d.as_str()))
                    .bind(goal.status.as_str())
                    .bind(now)
                    .bind(goal.completed_at(now))
                    .fetch_one(&mut *self.tx)
                    .await
            }

            async fn save_goal(
                &mut self,
                user: UserId,
                goal: GoalId,
                fields: &GoalFields,
                now: DateTime<Utc>,
            ) -> sqlx::Result<GoalRow> {
                sqlx::query_as(sql::UPDATE_GOAL)
                    .bind(goal)
                    .bind(user)
                    .bind(&fields.title)
                    .bind(&fields.description)
                    .bind(fields.status.as_str())
                    .bind(fields.completed_at)
                    .bind(now)
                    .fetch_one(&mut *self.tx)
                    .await
            }

            async fn delete_goal(
                &mut self,
                user: UserId,
                goal: GoalId,
            ) -> sqlx::Result<Option<String>> {
                sqlx::query_scalar(sql::DELETE_GOAL)
                    .bind(goal)
                    .bind(user)
                    .fetch_optional(&mut *self.tx)
                    .await
            }

            async fn commit(self: Box<Self>) -> sqlx::Result<()> {
                self.tx.commit().await
            }
        }
    };
}
pub(crate) use impl_tx;
