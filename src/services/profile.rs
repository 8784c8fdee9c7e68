use crate::{
    clock::Clock,
    db::{Hold, Store, UserRow},
    domain::{
        UserId,
        activity::NewEvent,
        badges::Measure,
        platform_event::{PlatformEvent, ProfileFacts},
        profile::ProfileChanges,
        social::FollowPolicy,
        version::Expected,
        visibility::{PrivacyChanges, Viewer},
    },
    error::{AppError, AppResult},
    services::{active_user, badges::award_earned, checkins::history, retry, social},
};

/// Applies a partial update to a user's profile and visibilities if its stored version (as
/// its owner sees it) is one `expected` admits (checked under the row lock, so two editors
/// cannot both pass). An update that changes nothing writes nothing.
#[tracing::instrument(skip_all, fields(user_id = %user))]
pub async fn update(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    changes: ProfileChanges,
    privacy: PrivacyChanges,
    expected: Option<&Expected>,
) -> AppResult<UserRow> {
    retry(|| update_once(store, clock, user, changes.clone(), privacy, expected)).await
}

async fn update_once(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    changes: ProfileChanges,
    privacy: PrivacyChanges,
    expected: Option<&Expected>,
) -> AppResult<UserRow> {
    let mut tx = store.begin_for(user, Hold::Write).await?;
    let current = tx
        .lock_user(user)
        .await?
        .ok_or_else(|| AppError::not_found("the user"))?;
    if expected.is_some_and(|expected| !expected.admits(&current.version(Viewer::Owner))) {
        return Err(AppError::PreconditionFailed(
            "the profile changed since it was read: read it again".into(),
        ));
    }
    let (profile_before, privacy_before) = (current.profile(), current.privacy());
    let profile = changes.apply(profile_before.clone());
    let privacy = privacy.apply(privacy_before);
    if profile == profile_before && privacy == privacy_before {
        return Ok(current);
    }
    let now = clock.now();
    if profile.reminders != profile_before.reminders {
        // Before the profile's row is read back, which shows the setting.
        tx.set_user_reminders(user, profile.reminders, now.timestamp())
            .await?;
    } else if profile.timezone != profile_before.timezone {
        // The reminder's instant moved: the next pass schedules it anew (a day already
        // reminded of is not reminded of again: its key holds).
        tx.reschedule_user(user, now.timestamp()).await?;
    }
    let mut updated = tx.save_profile(user, &profile, &privacy, now).await?;
    if profile_before.follow_policy == FollowPolicy::Approval
        && profile.follow_policy == FollowPolicy::Open
    {
        // Open to everyone: whoever asked follows now, and the counts shown include them.
        social::approve_all(&mut *tx, user, now).await?;
        updated = active_user(&mut *tx, user).await?;
    }
    if profile.week_start != profile_before.week_start {
        // Weekly goals' weeks moved: the same check-ins, counted in the new weeks. (A new
        // time zone needs nothing: check-ins keep their dates, and only "today" moves.)
        for goal in tx.weekly_goals(user).await? {
            let rule = goal.schedule().rule(profile.week_start);
            let summary = history(&mut *tx, goal.id, rule).await?;
            tx.save_streak(goal.id, &summary, None, 0).await?;
        }
    }
    tx.insert_event(user, &NewEvent::profile_updated(), now)
        .await?;
    tx.announce(
        &PlatformEvent::ProfileUpdated(ProfileFacts { user_id: user }),
        now,
    );
    award_earned(
        &mut *tx,
        user,
        Measure::ProfileComplete,
        Some(i64::from(profile.is_complete())),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(updated)
}
