//! Accounts: applying the auth-service's lifecycle events, erasing a user, and the
//! standalone `users create`.

use chrono::{DateTime, TimeDelta, Utc};

use crate::{
    clock::{Clock, SystemClock},
    db::{Hold, OpenOf, Store, Tx},
    domain::{
        UserId,
        account::{Change, Ending, Plan},
        partnership::EndReason,
    },
    error::{AppError, AppResult},
    services::{partners, retry},
};

/// How long an applied message's key is kept to recognise a redelivery or a repeat.
pub const INBOX_TTL: TimeDelta = TimeDelta::days(7);

/// What applying a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// The message was applied before (a redelivery or a repeat): nothing written.
    AlreadyApplied,
    /// Nothing to write: the row was there already, names no row, or the auth-service keeps
    /// those columns itself.
    NothingToDo,
    /// The account was erased: nothing about it is written again (its ids are never reused).
    Ignored,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::AlreadyApplied => "already applied",
            Self::NothingToDo => "nothing to do",
            Self::Ignored => "ignored",
        }
    }
}

/// Applies one lifecycle event in one transaction, at most once per `key` (the message's
/// identity): the key is claimed in the same transaction, so a message redelivered after
/// its commit, or sent twice, changes nothing. What is remembered of the account's end
/// decides the rest (see [`Change::plan`]).
#[tracing::instrument(skip_all, fields(user_id = change.user().map(tracing::field::display), event_type = change.event_type()))]
pub async fn apply(
    store: &dyn Store,
    clock: &dyn Clock,
    key: &str,
    change: &Change,
) -> AppResult<Outcome> {
    retry(|| apply_once(store, clock, key, change)).await
}

async fn apply_once(
    store: &dyn Store,
    clock: &dyn Clock,
    key: &str,
    change: &Change,
) -> AppResult<Outcome> {
    let now = clock.now();
    // A message about an account holds it alone: messages about one account apply one
    // after the other, and after the user's writes in flight.
    let mut tx = match change.user() {
        Some(user) => {
            let hold = match change {
                Change::Deleted { .. } => Hold::Erase,
                _ => Hold::Account,
            };
            store.begin_for(user, hold).await?
        }
        None => store.begin().await?,
    };
    if !tx.claim_inbox_message(key, now).await? {
        return Ok(Outcome::AlreadyApplied);
    }
    let ending = match change.user() {
        Some(user) => tx.account_ending(user).await?,
        None => None,
    };
    let outcome = match (change.plan(tx.owns_users(), ending), change) {
        (
            plan @ (Plan::InsertIfMissing | Plan::InsertInactive),
            Change::Created {
                user,
                username,
                email,
            },
        ) => {
            // Checked first: a table whose other columns need values this event does not
            // carry must not fail for a row that is already there.
            let inserted = !tx.user_exists(*user).await?
                && tx
                    .insert_user(*user, username, email.as_deref(), now)
                    .await?;
            if inserted && plan == Plan::InsertInactive {
                tx.deactivate_user(*user).await?;
            }
            done(inserted)
        }
        (
            Plan::UpdateAccount,
            Change::Updated {
                user,
                username,
                email,
            },
        ) => done(
            tx.update_account(
                *user,
                username.as_deref(),
                email.as_ref().map(Option::as_deref),
            )
            .await?,
        ),
        (Plan::Deactivate, Change::Deactivated { user }) => {
            let of = OpenOf::User(*user);
            partners::end_open(&mut *tx, of, EndReason::Deactivated, now).await?;
            // Before the creation: remembered, so that the account is created inactive.
            if !tx.deactivate_user(*user).await? {
                tx.record_account_ending(*user, Ending::Deactivated, now)
                    .await?;
            }
            Outcome::Applied
        }
        (Plan::Erase { delete_row }, Change::Deleted { user }) => {
            done(erase_in(&mut *tx, *user, delete_row, now).await?)
        }
        (Plan::DenyToken, Change::TokenRevoked { jti, expires_at }) => {
            tx.revoke_token(jti, *expires_at).await?;
            Outcome::Applied
        }
        (Plan::DenyUserTokens, Change::TokensRevoked { user, before }) => {
            tx.revoke_user_tokens(*user, *before).await?;
            Outcome::Applied
        }
        (Plan::IgnoreErased, _) => {
            tracing::warn!(
                "auth-service event about an erased account: ignored (its id is never reused)"
            );
            Outcome::Ignored
        }
        _ => Outcome::NothingToDo,
    };
    tx.commit().await?;
    Ok(outcome)
}

fn done(wrote: bool) -> Outcome {
    if wrote {
        Outcome::Applied
    } else {
        Outcome::NothingToDo
    }
}

/// Erases everything this service holds about a user, in one transaction: goals,
/// check-ins, badge awards, activity, idempotency keys, its events in the outbox,
/// revocations and the profile columns (and the row, when this service owns `users`). It
/// holds the user exclusively, so the user's writes commit before it or find no user after
/// it. The id alone is kept, as erased, so that nothing about the account is written again.
/// Whether there was anything; erasing twice is harmless.
#[tracing::instrument(skip_all, fields(user_id = %user))]
pub async fn erase(store: &dyn Store, clock: &dyn Clock, user: UserId) -> AppResult<bool> {
    retry(|| erase_once(store, clock, user)).await
}

async fn erase_once(store: &dyn Store, clock: &dyn Clock, user: UserId) -> AppResult<bool> {
    let mut tx = store.begin_for(user, Hold::Erase).await?;
    let delete_row = tx.owns_users();
    let erased = erase_in(&mut *tx, user, delete_row, clock.now()).await?;
    tx.commit().await?;
    Ok(erased)
}

async fn erase_in(
    tx: &mut dyn Tx,
    user: UserId,
    delete_row: bool,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    // The partner who remains is told, and keeps the history.
    partners::end_open(tx, OpenOf::User(user), EndReason::Erased, now).await?;
    // A late UserCreated then finds the id erased.
    tx.record_account_ending(user, Ending::Erased, now).await?;
    let rows = tx.erase_user_data(user).await?;
    let row = if delete_row {
        tx.delete_user(user).await?
    } else {
        tx.reset_profile(user, now).await?
    };
    Ok(rows > 0 || row)
}

/// Standalone use: inserts a user as the auth-service would.
pub async fn create(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    username: &str,
) -> AppResult<()> {
    let mut tx = store.begin_for(user, Hold::Write).await?;
    if !tx.insert_user(user, username, None, clock.now()).await? {
        return Err(AppError::Conflict(format!("user {user} already exists")));
    }
    tx.commit().await?;
    Ok(())
}

/// Forgets the revoked tokens that can no longer validate: those past their expiry by more
/// than `leeway`, by the system clock that tokens are checked against. How many.
pub async fn purge_revoked_tokens(store: &dyn Store, leeway: TimeDelta) -> AppResult<u64> {
    let Some(expired_before) = SystemClock.now().checked_sub_signed(leeway) else {
        return Ok(0);
    };
    let mut tx = store.begin().await?;
    let purged = tx.purge_revoked_tokens(expired_before).await?;
    tx.commit().await?;
    Ok(purged)
}

/// Forgets the keys of messages applied longer ago than [`INBOX_TTL`]: how many.
pub async fn purge_inbox(store: &dyn Store, clock: &dyn Clock) -> AppResult<u64> {
    let mut tx = store.begin().await?;
    let purged = tx.purge_inbox(clock.now() - INBOX_TTL).await?;
    tx.commit().await?;
    Ok(purged)
}
