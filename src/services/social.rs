//! The social graph's writes: follows and their requests, removals, blocks and mutes. Each
//! is one transaction holding both users (so that it is ordered with an erasure of either),
//! a fixed number of statements whatever the counts, and counted against the caller's daily
//! quota, which a refused write does not spend (its transaction rolls back).

use chrono::{DateTime, Utc};

use crate::{
    clock::Clock,
    db::{Hold, OpenOf, Store, Tx, UserRow},
    domain::{
        UserId,
        activity::event_visible,
        badges::Measure,
        partnership::EndReason,
        platform_event::{FollowFacts, KudosFacts, PlatformEvent},
        social::{
            CONNECT_WRITES_PER_DAY, FOLLOWING_MAX, FollowRefusal, FollowState, FollowStep,
            KUDOS_WRITES_PER_DAY, KudosRefusal, follow_step, follow_time, kudos_allowed,
            over_quota,
        },
        visibility::Viewer,
    },
    error::{AppError, AppResult},
    services::{active_user, badges::award_earned, partners, retry},
};

/// A daily quota of writes: its name in `daily_writes`, its limit, what it counts.
struct Quota {
    kind: &'static str,
    limit: i64,
    what: &'static str,
}

/// Follows, unfollows, approvals, removals, blocks and mutes.
const CONNECT: Quota = Quota {
    kind: "connect",
    limit: CONNECT_WRITES_PER_DAY,
    what: "follow, unfollow, block and mute writes",
};

/// Kudos given and taken back.
const KUDOS: Quota = Quota {
    kind: "kudos",
    limit: KUDOS_WRITES_PER_DAY,
    what: "kudos given and taken back",
};

/// A write by `user` about `other`: both held, `user` active (404 otherwise), `other`
/// active (404 otherwise, as for an unknown user), the quota counted. Answers the
/// transaction and `other`'s row.
async fn begin_between(
    store: &dyn Store,
    user: UserId,
    other: UserId,
    now: DateTime<Utc>,
) -> AppResult<(Box<dyn Tx>, UserRow)> {
    begin_counted(store, user, other, now, &CONNECT).await
}

async fn begin_counted(
    store: &dyn Store,
    user: UserId,
    other: UserId,
    now: DateTime<Utc>,
    quota: &Quota,
) -> AppResult<(Box<dyn Tx>, UserRow)> {
    let mut tx = store.begin_for(user, Hold::Write).await?;
    tx.hold_also(other).await?;
    active_user(&mut *tx, user).await?;
    let other = active_user(&mut *tx, other).await?;
    let writes = tx.count_write(user, quota.kind, now.date_naive()).await?;
    if let Some(retry_after) = over_quota(writes, quota.limit, now) {
        return Err(AppError::QuotaSpent {
            message: format!(
                "more than {} {} today (UTC); retry in {retry_after} s",
                quota.limit, quota.what
            ),
            retry_after,
        });
    }
    Ok((tx, other))
}

fn not_oneself(user: UserId, other: UserId, what: &str) -> AppResult<()> {
    if user == other {
        return Err(AppError::validation(
            "target_id",
            format!("a user cannot {what} themselves"),
        ));
    }
    Ok(())
}

/// A follow begun: the follower's timeline, the counts, the followee's badges, the event.
async fn follow_begun(
    tx: &mut dyn Tx,
    follower: UserId,
    followee: UserId,
    now: DateTime<Utc>,
) -> AppResult<()> {
    tx.fill_timeline(follower, followee).await?;
    let followers = tx.move_counts(follower, followee, 1).await?;
    award_earned(tx, followee, Measure::Followers, Some(followers), now).await?;
    tx.announce(
        &PlatformEvent::FollowCreated(FollowFacts {
            user_id: followee,
            follower_id: follower,
        }),
        now,
    );
    Ok(())
}

/// `user` follows `target`, or asks to: where the follow stands afterwards.
#[tracing::instrument(skip_all, fields(user_id = %user, target_id = %target))]
pub async fn follow(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    target: UserId,
) -> AppResult<FollowState> {
    not_oneself(user, target, "follow")?;
    retry(|| async move {
        let now = follow_time(clock.now());
        let (mut tx, target_row) = begin_between(store, user, target, now).await?;
        let policy = target_row.follow_policy();
        let blocked = tx.blocked_either_way(user, target).await?;
        let current = tx.follow_state(user, target).await?;
        let following = tx.following_count(user).await?;
        let step =
            follow_step(user, target, policy, current, blocked, following).map_err(|refusal| {
                match refusal {
                    FollowRefusal::Oneself => {
                        AppError::validation("target_id", "a user cannot follow themselves")
                    }
                    FollowRefusal::Blocked => AppError::not_found("the user"),
                    FollowRefusal::TooMany => AppError::validation(
                        "target_id",
                        format!("a user may follow at most {FOLLOWING_MAX} users"),
                    ),
                }
            })?;
        match step {
            FollowStep::Unchanged(_) => {}
            FollowStep::Follow => {
                if current == Some(FollowState::Requested) {
                    tx.approve_follow(user, target, now).await?;
                } else {
                    tx.insert_follow(user, target, FollowState::Following, now)
                        .await?;
                }
                follow_begun(&mut *tx, user, target, now).await?;
            }
            FollowStep::Request => {
                tx.insert_follow(user, target, FollowState::Requested, now)
                    .await?;
                // Both sides get their counts' row, which approving every request at once
                // moves in one statement.
                tx.move_counts(user, target, 0).await?;
                tx.announce(
                    &PlatformEvent::FollowRequested(FollowFacts {
                        user_id: target,
                        follower_id: user,
                    }),
                    now,
                );
            }
        }
        tx.commit().await?;
        Ok(step.state())
    })
    .await
}

/// Ends a follow or withdraws a request of `follower` to `followee`, by either of them
/// (`user`): an unfollow, a decline or a removal.
async fn end_follow(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    follower: UserId,
    followee: UserId,
) -> AppResult<()> {
    let other = if user == follower { followee } else { follower };
    retry(|| async move {
        let now = clock.now();
        let (mut tx, _) = begin_between(store, user, other, now).await?;
        if tx.delete_follow(follower, followee).await? == Some(FollowState::Following) {
            tx.move_counts(follower, followee, -1).await?;
            let between = OpenOf::Between(follower, followee);
            partners::end_open(&mut *tx, between, EndReason::Unfollowed, now).await?;
        }
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// `user` stops following `target`, or withdraws their request. Nobody follows themselves,
/// so for `target == user` there is nothing to end, as for any follow that is not there.
#[tracing::instrument(skip_all, fields(user_id = %user, target_id = %target))]
pub async fn unfollow(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    target: UserId,
) -> AppResult<()> {
    end_follow(store, clock, user, user, target).await
}

/// `user` declines `follower`'s request, or removes them as a follower (nothing to do for
/// `follower == user`).
#[tracing::instrument(skip_all, fields(user_id = %user, follower_id = %follower))]
pub async fn remove_follower(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    follower: UserId,
) -> AppResult<()> {
    end_follow(store, clock, user, follower, user).await
}

/// `user` approves `follower`'s request; approving a follower already approved changes
/// nothing. 404 when there is no request.
#[tracing::instrument(skip_all, fields(user_id = %user, follower_id = %follower))]
pub async fn approve(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    follower: UserId,
) -> AppResult<()> {
    not_oneself(user, follower, "approve")?;
    retry(|| async move {
        let now = follow_time(clock.now());
        let (mut tx, _) = begin_between(store, user, follower, now).await?;
        if tx.approve_follow(follower, user, now).await? {
            follow_begun(&mut *tx, follower, user, now).await?;
        } else if tx.follow_state(follower, user).await? != Some(FollowState::Following) {
            return Err(AppError::NotFound(
                "this user has not asked to follow you".into(),
            ));
        }
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// Approves every pending request of `user`, inside the transaction that opened their
/// follows to everyone: a fixed number of statements, and one event per follow begun.
pub(crate) async fn approve_all(
    tx: &mut dyn Tx,
    user: UserId,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let now = follow_time(now);
    let (askers, followers) = tx.approve_all(user, now).await?;
    if askers.is_empty() {
        return Ok(());
    }
    for follower in askers {
        tx.announce(
            &PlatformEvent::FollowCreated(FollowFacts {
                user_id: user,
                follower_id: follower,
            }),
            now,
        );
    }
    award_earned(tx, user, Measure::Followers, Some(followers), now).await
}

/// `user` blocks `target`: the follows both ways and any request end with it.
#[tracing::instrument(skip_all, fields(user_id = %user, target_id = %target))]
pub async fn block(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    target: UserId,
) -> AppResult<()> {
    not_oneself(user, target, "block")?;
    retry(|| async move {
        let now = follow_time(clock.now());
        let (mut tx, _) = begin_between(store, user, target, now).await?;
        tx.insert_block(user, target, now).await?;
        for (follower, followee) in [(user, target), (target, user)] {
            if tx.delete_follow(follower, followee).await? == Some(FollowState::Following) {
                tx.move_counts(follower, followee, -1).await?;
            }
        }
        tx.unkudos_between(user, target).await?;
        partners::end_open(
            &mut *tx,
            OpenOf::Between(user, target),
            EndReason::Blocked,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// A mute added or taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    On,
    Off,
}

/// Takes a block back (nothing to do for `target == user`, whom nobody blocks).
#[tracing::instrument(skip_all, fields(user_id = %user, target_id = %target))]
pub async fn unblock(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    target: UserId,
) -> AppResult<()> {
    retry(|| async move {
        let (mut tx, _) = begin_between(store, user, target, clock.now()).await?;
        tx.delete_block(user, target).await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// Mutes or unmutes `target` for `user`: nothing else changes, and nobody is told. Muting
/// oneself is refused; unmuting oneself has nothing to do.
#[tracing::instrument(skip_all, fields(user_id = %user, target_id = %target))]
pub async fn mute(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    target: UserId,
    switch: Switch,
) -> AppResult<()> {
    if switch == Switch::On {
        not_oneself(user, target, "mute")?;
    }
    retry(|| async move {
        let now = follow_time(clock.now());
        let (mut tx, _) = begin_between(store, user, target, now).await?;
        match switch {
            Switch::On => tx.insert_mute(user, target, now).await?,
            Switch::Off => tx.delete_mute(user, target).await?,
        };
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// Opens a kudos write of `giver` on `owner`'s event: both held and active, the kudos quota
/// counted, and the event one the giver may see (404 otherwise, as for an event that does
/// not exist, and so for a block either way).
async fn begin_kudos(
    store: &dyn Store,
    giver: UserId,
    owner: UserId,
    event: i64,
    now: DateTime<Utc>,
) -> AppResult<(Box<dyn Tx>, String)> {
    let (mut tx, owner_row) = begin_counted(store, giver, owner, now, &KUDOS).await?;
    let unknown = || AppError::not_found("the activity event");
    let found = tx.event_ref(owner, event).await?.ok_or_else(unknown)?;
    if giver != owner {
        let privacy = owner_row.privacy();
        let viewer = if tx.follows(giver, owner).await? {
            Viewer::Follower
        } else {
            Viewer::Other
        };
        if tx.blocked_either_way(giver, owner).await?
            || !event_visible(&privacy, viewer, &found.section)
        {
            return Err(unknown());
        }
    }
    Ok((tx, found.kind))
}

/// `giver` gives kudos to `owner`'s event: once (a repeat changes nothing), never to their
/// own (422), only to an event they can see.
#[tracing::instrument(skip_all, fields(user_id = %giver, owner_id = %owner, event_id = event))]
pub async fn give_kudos(
    store: &dyn Store,
    clock: &dyn Clock,
    giver: UserId,
    owner: UserId,
    event: i64,
) -> AppResult<()> {
    retry(|| async move {
        let now = follow_time(clock.now());
        let (mut tx, kind) = begin_kudos(store, giver, owner, event, now).await?;
        kudos_allowed(giver, owner).map_err(|KudosRefusal::OwnEvent| {
            AppError::validation("event_id", "kudos are for other users' events")
        })?;
        if tx.insert_kudos(event, giver, owner, now).await? {
            let (given, received) = tx.move_kudos_counts(event, giver, owner, 1).await?;
            award_earned(&mut *tx, giver, Measure::KudosGiven, Some(given), now).await?;
            award_earned(&mut *tx, owner, Measure::KudosReceived, Some(received), now).await?;
            tx.announce(
                &PlatformEvent::KudosGiven(KudosFacts {
                    user_id: owner,
                    giver_id: giver,
                    activity_id: event,
                    activity_type: kind,
                }),
                now,
            );
        }
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// `giver` takes their kudos back: idempotent, and nothing is published.
#[tracing::instrument(skip_all, fields(user_id = %giver, owner_id = %owner, event_id = event))]
pub async fn take_back_kudos(
    store: &dyn Store,
    clock: &dyn Clock,
    giver: UserId,
    owner: UserId,
    event: i64,
) -> AppResult<()> {
    retry(|| async move {
        let (mut tx, _) = begin_kudos(store, giver, owner, event, clock.now()).await?;
        if tx.delete_kudos(event, giver).await? {
            tx.move_kudos_counts(event, giver, owner, -1).await?;
        }
        tx.commit().await?;
        Ok(())
    })
    .await
}
