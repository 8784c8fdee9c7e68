//! The reads and transaction primitives whose SQL and bindings are the same on both
//! backends, written once and expanded for each backend's concrete pool and transaction
//! types. Each expansion is ordinary code for one backend; nothing here is generic over
//! `sqlx::Database`. Statements that differ by backend come in as arguments.

/// `impl Reads for $store`, reading from its pool field `$pool` with the statements on `users`
/// of its `common`.
macro_rules! impl_reads {
    ($store:ty, $pool:ident) => {
        #[async_trait::async_trait]
        impl $crate::db::Reads for $store {
            async fn user(&self, id: UserId) -> sqlx::Result<Option<UserRow>> {
                let statements = self.common.user_statements()?;
                sqlx::query_as(sqlx::AssertSqlSafe(statements.active.clone()))
                    .bind(id)
                    .fetch_optional(&self.$pool)
                    .await
            }

            async fn goals(
                &self,
                access: &Access<visibility::Goals>,
                page: &GoalPage,
            ) -> sqlx::Result<Vec<GoalRow>> {
                let (user, limit) = (access.user(), i64::from(page.limit));
                let query = match (page.status, page.before) {
                    (None, None) => sqlx::query_as(sql::GOALS_FIRST_PAGE).bind(user).bind(limit),
                    (None, Some(before)) => sqlx::query_as(sql::GOALS_PAGE)
                        .bind(user)
                        .bind(before)
                        .bind(limit),
                    (Some(status), None) => sqlx::query_as(sql::GOALS_FIRST_PAGE_WITH_STATUS)
                        .bind(user)
                        .bind(status.as_str())
                        .bind(limit),
                    (Some(status), Some(before)) => sqlx::query_as(sql::GOALS_PAGE_WITH_STATUS)
                        .bind(user)
                        .bind(status.as_str())
                        .bind(before)
                        .bind(limit),
                };
                query.fetch_all(&self.$pool).await
            }

            async fn goal(
                &self,
                access: &Access<visibility::Goals>,
                goal: GoalId,
            ) -> sqlx::Result<Option<GoalRow>> {
                sqlx::query_as(sql::GOAL_BY_ID)
                    .bind(goal)
                    .bind(access.user())
                    .fetch_optional(&self.$pool)
                    .await
            }

            async fn checkins(
                &self,
                access: &Access<visibility::Goals>,
                goal: GoalId,
                page: &CheckinPage,
            ) -> sqlx::Result<Vec<CheckinRow>> {
                sqlx::query_as(sql::CHECKINS_PAGE)
                    .bind(goal)
                    .bind(page.from)
                    .bind(page.to)
                    .bind(i64::from(page.limit))
                    .bind(access.user())
                    .fetch_all(&self.$pool)
                    .await
            }

            async fn badges_of(
                &self,
                access: &Access<visibility::Badges>,
            ) -> sqlx::Result<Vec<AwardedBadgeRow>> {
                sqlx::query_as(sql::BADGES_OF_USER)
                    .bind(access.user())
                    .fetch_all(&self.$pool)
                    .await
            }

            async fn activity(
                &self,
                access: &Access<visibility::Activity>,
                page: &ActivityPage,
            ) -> sqlx::Result<Vec<EventRow>> {
                sqlx::query_as(sql::ACTIVITY_PAGE)
                    .bind(access.user())
                    .bind(page.before.unwrap_or(i64::MAX))
                    .bind(page.goals_visible)
                    .bind(page.badges_visible)
                    .bind(i64::from(page.limit))
                    .bind(page.reader)
                    .fetch_all(&self.$pool)
                    .await
            }

            async fn stats(
                &self,
                access: &Access<visibility::Stats>,
                sections: &$crate::db::StatsSections,
                recent_since: NaiveDate,
                alive_since: NaiveDate,
            ) -> sqlx::Result<StatsFigures> {
                // One connection for both statements: one checkout, one release.
                let mut conn = self.$pool.acquire().await?;
                let rows = sqlx::query_as(sql::STATS)
                    .bind(access.user())
                    .bind(recent_since)
                    .bind(sections.goals.is_some())
                    .bind(sections.badges.is_some())
                    .bind(sections.activity.is_some())
                    .fetch_all(&mut *conn)
                    .await?;
                let recent_streaks = match &sections.goals {
                    Some(goals) => Some(
                        sqlx::query_as(sql::RECENT_STREAKS)
                            .bind(goals.user())
                            .bind(alive_since)
                            .fetch_all(&mut *conn)
                            .await?,
                    ),
                    None => None,
                };
                Ok(StatsFigures::from_rows(rows, recent_streaks))
            }

            async fn heatmap(
                &self,
                access: &Access<visibility::Goals>,
                goal: Option<GoalId>,
                from: NaiveDate,
                to: NaiveDate,
            ) -> sqlx::Result<Vec<$crate::db::HeatmapRow>> {
                sqlx::query_as(sql::HEATMAP)
                    .bind(access.user())
                    .bind(from)
                    .bind(to)
                    .bind(goal)
                    .fetch_all(&self.$pool)
                    .await
            }

            async fn streaks(
                &self,
                access: &Access<visibility::Goals>,
                alive_since: NaiveDate,
            ) -> sqlx::Result<$crate::db::StreakFigures> {
                // One connection for both statements: one checkout, one release.
                let mut conn = self.$pool.acquire().await?;
                let recent = sqlx::query_as(sql::RECENT_STREAKS)
                    .bind(access.user())
                    .bind(alive_since)
                    .fetch_all(&mut *conn)
                    .await?;
                let longest = sqlx::query_scalar(sql::LONGEST_STREAK)
                    .bind(access.user())
                    .fetch_one(&mut *conn)
                    .await?;
                Ok($crate::db::StreakFigures { recent, longest })
            }

            async fn badge_catalog(&self) -> sqlx::Result<Vec<CatalogRow>> {
                sqlx::query_as(sql::BADGE_CATALOG)
                    .fetch_all(&self.$pool)
                    .await
            }

            async fn outbox_backlog(&self) -> sqlx::Result<$crate::db::OutboxBacklog> {
                sqlx::query_as(sql::OUTBOX_BACKLOG)
                    .fetch_one(&self.$pool)
                    .await
            }

            async fn denylist_entry(
                &self,
                table: &$crate::db::DenylistTable,
                jti: &str,
            ) -> sqlx::Result<Option<Option<$crate::db::UtcTimestamp>>> {
                sqlx::query_scalar(sqlx::AssertSqlSafe(table.lookup()))
                    .bind(jti)
                    .fetch_optional(&self.$pool)
                    .await
            }

            async fn probe_denylist(&self, table: &$crate::db::DenylistTable) -> sqlx::Result<()> {
                sqlx::query(sqlx::AssertSqlSafe(table.probe()))
                    .execute(&self.$pool)
                    .await
                    .map(drop)
            }

            async fn revocations(
                &self,
                jti: Option<&str>,
                user: UserId,
            ) -> sqlx::Result<$crate::db::RevocationRow> {
                sqlx::query_as(sql::REVOCATIONS)
                    .bind(jti)
                    .bind(user)
                    .fetch_one(&self.$pool)
                    .await
            }

            async fn anything_revoked(&self) -> sqlx::Result<bool> {
                sqlx::query_scalar(sql::ANYTHING_REVOKED)
                    .fetch_one(&self.$pool)
                    .await
            }
        }
    };
}
pub(crate) use impl_reads;

/// `impl Tx for $tx`, whose field `tx` is the open transaction and `users` the statements
/// on the users table. `$goal_for_update` reads a goal and locks it for the rest of the
/// transaction, `$weekly_goals` a user's weekly goals likewise; `$flush_outbox` writes the
/// events announced in the transaction, as it commits. The type has fields `outbox` (whether
/// events are on) and `announced`.
macro_rules! impl_tx {
    (
        $tx:ty,
        goal_for_update: $goal_for_update:expr,
        weekly_goals_for_update: $weekly_goals:expr,
        flush_outbox: $flush_outbox:path
    ) => {
        #[async_trait::async_trait]
        impl $crate::db::Tx for $tx {
            async fn user(&mut self, id: UserId) -> sqlx::Result<Option<UserRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(self.users.active.clone()))
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
            }

            async fn lock_user(&mut self, id: UserId) -> sqlx::Result<Option<UserRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(self.users.lock_active.clone()))
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
            }

            async fn save_profile(
                &mut self,
                id: UserId,
                profile: &Profile,
                privacy: &Privacy,
                now: DateTime<Utc>,
            ) -> sqlx::Result<UserRow> {
                sqlx::query_as(sqlx::AssertSqlSafe(self.users.update_profile.clone()))
                    .bind(id)
                    .bind(&profile.display_name)
                    .bind(&profile.bio)
                    .bind(Json(&profile.skills))
                    .bind(&profile.avatar_url)
                    .bind(profile.timezone.name())
                    .bind(privacy.goals.as_str())
                    .bind(privacy.badges.as_str())
                    .bind(privacy.activity.as_str())
                    .bind(privacy.stats.as_str())
                    .bind(now)
                    .bind(profile.week_start.as_str())
                    .bind(privacy.connections.as_str())
                    .bind(profile.follow_policy.as_str())
                    .fetch_one(&mut *self.tx)
                    .await
            }

            fn owns_users(&self) -> bool {
                self.users.owned
            }

            async fn user_exists(&mut self, id: UserId) -> sqlx::Result<bool> {
                let found: Option<i64> =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(self.users.exists.clone()))
                        .bind(id)
                        .fetch_optional(&mut *self.tx)
                        .await?;
                Ok(found.is_some())
            }

            async fn insert_user(
                &mut self,
                id: UserId,
                username: &str,
                email: Option<&str>,
                now: DateTime<Utc>,
            ) -> sqlx::Result<bool> {
                let done = sqlx::query(sqlx::AssertSqlSafe(self.users.insert.clone()))
                    .bind(id)
                    .bind(username)
                    .bind(email)
                    .bind(now)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn update_account(
                &mut self,
                id: UserId,
                username: Option<&str>,
                email: Option<Option<&str>>,
            ) -> sqlx::Result<bool> {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(self.users.update_account.clone()))
                    .bind(id)
                    .bind(username);
                if self.users.email {
                    query = query.bind(email.is_some()).bind(email.flatten());
                }
                Ok(query.execute(&mut *self.tx).await?.rows_affected() > 0)
            }

            async fn deactivate_user(&mut self, id: UserId) -> sqlx::Result<bool> {
                let Some(statement) = self.users.deactivate.clone() else {
                    return Ok(false);
                };
                let done = sqlx::query(sqlx::AssertSqlSafe(statement))
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn erase_user_data(&mut self, id: UserId) -> sqlx::Result<u64> {
                let mut erased = 0;
                for statement in self.users.people.erase_counts.clone() {
                    sqlx::query(sqlx::AssertSqlSafe(statement))
                        .bind(id)
                        .execute(&mut *self.tx)
                        .await?;
                }
                let statements = $crate::db::social::ERASE_CONNECTIONS
                    .iter()
                    .chain($crate::db::partners::ERASE_PARTNERSHIPS)
                    .chain(sql::ERASE_USER_DATA);
                for statement in statements {
                    erased += sqlx::query(*statement)
                        .bind(id)
                        .execute(&mut *self.tx)
                        .await?
                        .rows_affected();
                }
                Ok(erased)
            }

            async fn reset_profile(
                &mut self,
                id: UserId,
                now: DateTime<Utc>,
            ) -> sqlx::Result<bool> {
                let done = sqlx::query(sql::RESET_PROFILE)
                    .bind(id)
                    .bind(Json(Vec::<String>::new()))
                    .bind(now)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_user(&mut self, id: UserId) -> sqlx::Result<bool> {
                let done = sqlx::query(sql::DELETE_USER)
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn claim_inbox_message(
                &mut self,
                key: &str,
                now: DateTime<Utc>,
            ) -> sqlx::Result<bool> {
                let claimed: Option<String> = sqlx::query_scalar(sql::CLAIM_INBOX_MESSAGE)
                    .bind(key)
                    .bind(now)
                    .fetch_optional(&mut *self.tx)
                    .await?;
                Ok(claimed.is_some())
            }

            async fn purge_inbox(&mut self, before: DateTime<Utc>) -> sqlx::Result<u64> {
                let done = sqlx::query(sql::PURGE_INBOX)
                    .bind(before)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn account_ending(
                &mut self,
                id: UserId,
            ) -> sqlx::Result<Option<$crate::domain::account::Ending>> {
                let stored: Option<String> = sqlx::query_scalar(sql::ACCOUNT_ENDING)
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await?;
                Ok(stored
                    .as_deref()
                    .and_then($crate::domain::account::Ending::from_stored))
            }

            async fn record_account_ending(
                &mut self,
                id: UserId,
                ending: $crate::domain::account::Ending,
                now: DateTime<Utc>,
            ) -> sqlx::Result<()> {
                sqlx::query(sql::RECORD_ACCOUNT_ENDING)
                    .bind(id)
                    .bind(ending.as_str())
                    .bind(now)
                    .execute(&mut *self.tx)
                    .await
                    .map(drop)
            }

            async fn revoke_token(
                &mut self,
                jti: &str,
                expires_at: DateTime<Utc>,
            ) -> sqlx::Result<()> {
                sqlx::query(sql::REVOKE_TOKEN)
                    .bind(jti)
                    .bind(expires_at)
                    .execute(&mut *self.tx)
                    .await
                    .map(drop)
            }

            async fn revoke_user_tokens(
                &mut self,
                user: UserId,
                before: DateTime<Utc>,
            ) -> sqlx::Result<()> {
                sqlx::query(sql::REVOKE_USER_TOKENS)
                    .bind(user)
                    .bind(before)
                    .execute(&mut *self.tx)
                    .await
                    .map(drop)
            }

            async fn purge_revoked_tokens(&mut self, before: DateTime<Utc>) -> sqlx::Result<u64> {
                let done = sqlx::query(sql::PURGE_REVOKED_TOKENS)
                    .bind(before)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn purge_outbox(
                &mut self,
                before: DateTime<Utc>,
                limit: i64,
            ) -> sqlx::Result<u64> {
                let done = sqlx::query(sql::PURGE_OUTBOX)
                    .bind(before)
                    .bind(limit)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(done.rows_affected())
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
                    .bind(goal.schedule.cadence().as_str())
                    .bind(goal.schedule.days_per_week().map(i64::from))
                    .bind(goal.reminders)
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
                    .bind(fields.schedule.cadence().as_str())
                    .bind(fields.schedule.days_per_week().map(i64::from))
                    .bind(fields.reminders)
                    .fetch_one(&mut *self.tx)
                    .await
            }

            async fn weekly_goals(&mut self, user: UserId) -> sqlx::Result<Vec<GoalRow>> {
                sqlx::query_as($weekly_goals)
                    .bind(user)
                    .fetch_all(&mut *self.tx)
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

            async fn count_goals(
                &mut self,
                user: UserId,
                status: Option<GoalStatus>,
            ) -> sqlx::Result<i64> {
                match status {
                    None => {
                        sqlx::query_scalar(sql::COUNT_GOALS)
                            .bind(user)
                            .fetch_one(&mut *self.tx)
                            .await
                    }
                    Some(status) => {
                        sqlx::query_scalar(sql::COUNT_GOALS_WITH_STATUS)
                            .bind(user)
                            .bind(status.as_str())
                            .fetch_one(&mut *self.tx)
                            .await
                    }
                }
            }

            async fn insert_checkin(
                &mut self,
                user: UserId,
                goal: GoalId,
                checkin: &NewCheckin,
                now: DateTime<Utc>,
            ) -> sqlx::Result<Option<CheckinRow>> {
                sqlx::query_as(sql::INSERT_CHECKIN)
                    .bind(goal)
                    .bind(user)
                    .bind(checkin.day)
                    .bind(checkin.minutes.map(i64::from))
                    .bind(&checkin.note)
                    .bind(now)
                    .fetch_optional(&mut *self.tx)
                    .await
            }

            async fn checkin(
                &mut self,
                goal: GoalId,
                day: NaiveDate,
            ) -> sqlx::Result<Option<CheckinRow>> {
                sqlx::query_as(sql::CHECKIN)
                    .bind(goal)
                    .bind(day)
                    .fetch_optional(&mut *self.tx)
                    .await
            }

            async fn delete_checkin(&mut self, goal: GoalId, day: NaiveDate) -> sqlx::Result<bool> {
                let done = sqlx::query(sql::DELETE_CHECKIN)
                    .bind(goal)
                    .bind(day)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn checkin_dates(&mut self, goal: GoalId) -> sqlx::Result<Vec<NaiveDate>> {
                sqlx::query_scalar(sql::CHECKIN_DATES)
                    .bind(goal)
                    .fetch_all(&mut *self.tx)
                    .await
            }

            async fn save_streak(
                &mut self,
                goal: GoalId,
                summary: &StreakSummary,
                announced: Option<AnnouncedRun>,
                checkins_added: i64,
            ) -> sqlx::Result<()> {
                let count = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
                sqlx::query(sql::SAVE_STREAK)
                    .bind(goal)
                    .bind(summary.last_checkin)
                    .bind(count(summary.run))
                    .bind(count(summary.longest))
                    .bind(count(summary.freezes))
                    .bind(Json(&summary.frozen_dates))
                    .bind(checkins_added)
                    .bind(count(summary.week_days))
                    .bind(announced.map(|mark| mark.start))
                    .bind(announced.map_or(0, |mark| count(mark.streak)))
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            fn announce(&mut self, event: &PlatformEvent, now: DateTime<Utc>) {
                if self.outbox {
                    self.announced.push($crate::db::Announced {
                        event_id: uuid::Uuid::new_v4().to_string(),
                        user_id: event.user(),
                        event_type: event.type_name(),
                        data: event.data(),
                        occurred_at: now,
                    });
                }
            }

            async fn insert_event(
                &mut self,
                user: UserId,
                event: &NewEvent,
                now: DateTime<Utc>,
            ) -> sqlx::Result<()> {
                sqlx::query(sql::INSERT_EVENT)
                    .bind(user)
                    .bind(event.kind.as_str())
                    .bind(event.kind.section_name())
                    .bind(now)
                    .bind(event.goal_id)
                    .bind(&event.badge_code)
                    .bind(&event.summary)
                    .execute(&mut *self.tx)
                    .await
                    .map(drop)
            }

            async fn badge(&mut self, code: &str) -> sqlx::Result<Option<CatalogRow>> {
                sqlx::query_as(sql::BADGE)
                    .bind(code)
                    .fetch_optional(&mut *self.tx)
                    .await
            }

            async fn add_badge(&mut self, badge: &NewBadge) -> sqlx::Result<()> {
                sqlx::query(sql::INSERT_BADGE)
                    .bind(&badge.code)
                    .bind(&badge.name)
                    .bind(&badge.description)
                    .bind(&badge.icon_url)
                    .bind(badge.tier.as_str())
                    .bind(&badge.criteria)
                    .execute(&mut *self.tx)
                    .await
                    .map(drop)
            }

            async fn held_badges(&mut self, user: UserId) -> sqlx::Result<Vec<String>> {
                sqlx::query_scalar(sql::HELD_BADGES)
                    .bind(user)
                    .fetch_all(&mut *self.tx)
                    .await
            }

            async fn user_badge(
                &mut self,
                user: UserId,
                code: &str,
            ) -> sqlx::Result<Option<AwardedBadgeRow>> {
                sqlx::query_as(sql::USER_BADGE)
                    .bind(user)
                    .bind(code)
                    .fetch_optional(&mut *self.tx)
                    .await
            }

            async fn award(
                &mut self,
                user: UserId,
                code: &str,
                now: DateTime<Utc>,
            ) -> sqlx::Result<bool> {
                let done = sqlx::query(sql::AWARD_BADGE)
                    .bind(user)
                    .bind(code)
                    .bind(now)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn revoke(&mut self, user: UserId, code: &str) -> sqlx::Result<bool> {
                let done = sqlx::query(sql::REVOKE_BADGE)
                    .bind(user)
                    .bind(code)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn claim_idempotency_key(
                &mut self,
                user: UserId,
                key: &str,
                request_hash: &str,
                now: DateTime<Utc>,
                expired_before: DateTime<Utc>,
            ) -> sqlx::Result<bool> {
                let claimed: Option<UserId> = sqlx::query_scalar(sql::CLAIM_IDEMPOTENCY_KEY)
                    .bind(user)
                    .bind(key)
                    .bind(request_hash)
                    .bind(now)
                    .bind(expired_before)
                    .fetch_optional(&mut *self.tx)
                    .await?;
                Ok(claimed.is_some())
            }

            async fn idempotency_record(
                &mut self,
                user: UserId,
                key: &str,
            ) -> sqlx::Result<Option<IdempotencyRow>> {
                sqlx::query_as(sql::IDEMPOTENCY_RECORD)
                    .bind(user)
                    .bind(key)
                    .fetch_optional(&mut *self.tx)
                    .await
            }

            async fn save_idempotent_result(
                &mut self,
                user: UserId,
                key: &str,
                kept: &str,
                goal: GoalId,
            ) -> sqlx::Result<()> {
                sqlx::query(sql::SAVE_IDEMPOTENT_RESULT)
                    .bind(user)
                    .bind(key)
                    .bind(kept)
                    .bind(goal)
                    .execute(&mut *self.tx)
                    .await
                    .map(drop)
            }

            async fn purge_idempotency_keys(&mut self, before: DateTime<Utc>) -> sqlx::Result<u64> {
                let done = sqlx::query(sql::PURGE_IDEMPOTENCY_KEYS)
                    .bind(before)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn claim_export_run(
                &mut self,
                user: UserId,
                now: DateTime<Utc>,
                since: DateTime<Utc>,
            ) -> sqlx::Result<Option<DateTime<Utc>>> {
                let claimed: Option<DateTime<Utc>> =
                    sqlx::query_scalar($crate::db::export::CLAIM_EXPORT_RUN)
                        .bind(user)
                        .bind(now)
                        .bind(since)
                        .fetch_optional(&mut *self.tx)
                        .await?;
                if claimed.is_some() {
                    return Ok(None);
                }
                sqlx::query_scalar($crate::db::export::LAST_EXPORT_RUN)
                    .bind(user)
                    .fetch_optional(&mut *self.tx)
                    .await
            }

            async fn commit(self: Box<Self>) -> sqlx::Result<()> {
                let mut this = *self;
                if !this.announced.is_empty() {
                    $flush_outbox(&mut this.tx, &this.announced).await?;
                }
                this.tx.commit().await
            }
        }
    };
}
pub(crate) use impl_tx;
