//! Events for the platform, read as a consumer on the machine's RabbitMQ and NATS JetStream
//! receives them: one CloudEvent per change, in order per user, nothing lost while the broker
//! is away, the same ids again after a crash between a publish and its mark, and one
//! publisher at a time among replicas.

use std::{collections::HashSet, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use serde_json::json;

use crate::{
    cli::command,
    helpers::{
        Backend, ChildServer, SECRET, TestApp, award_token, default_now,
        events::{Bus, Received, Subscriber, all_marked_published},
        http_client, json_body,
        rabbitmq::Proxy,
        token,
    },
};

/// Long enough for a relay polling every 20 ms to have sent anything it was going to.
const SETTLE: Duration = Duration::from_millis(700);

async fn app_publishing_to(backend: Backend, subscriber: &Subscriber) -> TestApp {
    TestApp::builder(backend)
        .config(|c| subscriber.configure(&mut c.events))
        .spawn()
        .await
}

fn kinds(received: &[Received]) -> Vec<&str> {
    received.iter().map(Received::kind).collect()
}

/// The feed's event types, oldest first, as platform event types.
async fn feed_as_event_types(app: &TestApp, user: i64) -> Vec<String> {
    let feed = json_body(
        app.get(&format!("/users/{user}/activity?limit=100")).await,
        200,
    )
    .await;
    let mut types: Vec<String> = feed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let kind = e["type"].as_str().unwrap();
            let (entity, change) = kind.split_once('_').unwrap();
            format!("{entity}.{change}.v1")
        })
        .collect();
    types.reverse();
    types
}

/// Every kind of change once, for user 1: a profile edit, a goal created, checked in on,
/// the check-in taken back, the goal completed and deleted, a badge awarded and revoked.
async fn make_every_kind_of_change(app: &TestApp) -> i64 {
    let ada = app.user(1).await;
    let service = award_token();
    let profile = app
        .put("/users/1", Some(&ada), &json!({"display_name": "Ada"}))
        .await;
    assert_eq!(profile.status(), 200);
    let goal = app.create_goal(1, &ada, "Learn Rust").await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/users/1/goals/{goal}");
    let checkins = format!("{path}/checkins");
    let steps = [
        (
            Method::POST,
            checkins.clone(),
            &ada,
            Some(json!({"date": "2026-03-10", "minutes": 25})),
            201,
        ),
        (
            Method::DELETE,
            format!("{checkins}/2026-03-10"),
            &ada,
            None,
            204,
        ),
        (
            Method::PUT,
            path.clone(),
            &ada,
            Some(json!({"status": "completed"})),
            200,
        ),
        (Method::DELETE, path, &ada, None, 204),
        (
            Method::POST,
            "/users/1/badges".into(),
            &service,
            Some(json!({"code": "profile-complete"})),
            201,
        ),
        (
            Method::DELETE,
            "/users/1/badges/profile-complete".into(),
            &service,
            None,
            204,
        ),
    ];
    for (method, path, token, body, status) in steps {
        let mut request = app.request(method.clone(), &path, Some(token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{method} {path}");
    }
    goal
}

async fn each_change_is_one_cloudevent_with_the_documented_attributes_and_data(
    backend: Backend,
    bus: Bus,
) {
    let Some(mut subscriber) = Subscriber::start(bus).await else {
        return;
    };
    let app = app_publishing_to(backend, &subscriber).await;
    let goal = make_every_kind_of_change(&app).await;

    let mut expected = feed_as_event_types(&app, 1).await;
    // The check-in also lengthened the goal's streak, right after it.
    let checkin = expected
        .iter()
        .position(|t| t == "checkin.added.v1")
        .unwrap();
    expected.insert(checkin + 1, "streak.extended.v1".into());
    let received = subscriber.take(expected.len()).await;
    subscriber.assert_no_more(SETTLE).await;
    assert_eq!(kinds(&received), expected);

    let ids: HashSet<&str> = received.iter().map(Received::id).collect();
    assert_eq!(
        ids.len(),
        received.len(),
        "every event has an id of its own"
    );
    for message in &received {
        let event = &message.event;
        let parsed: cloudevents::Event =
            serde_json::from_value(event.clone()).expect("a valid CloudEvent");
        assert_eq!(
            cloudevents::AttributesReader::specversion(&parsed),
            cloudevents::event::SpecVersion::V10
        );
        assert_eq!(event["source"], "/user-service");
        assert_eq!(event["subject"], "1");
        assert_eq!(event["datacontenttype"], "application/json");
        assert_eq!(message.message_id, message.id());
        assert_eq!(message.content_type, "application/cloudevents+json");
        // When the change was made, by the service's clock.
        let time: DateTime<Utc> = event["time"].as_str().unwrap().parse().unwrap();
        assert_eq!(time, default_now());
        let full_type = event["type"].as_str().unwrap();
        assert!(full_type.starts_with("org.learning.user."), "{full_type}");
        match bus {
            Bus::RabbitMq => {
                assert_eq!(message.route, full_type);
                assert_eq!(message.persistent, Some(true));
            }
            Bus::Nats => assert_eq!(
                message.route,
                format!("{}.{full_type}", subscriber.subjects)
            ),
        }
        assert_eq!(message.data()["user_id"], 1);
        let text = event.to_string();
        assert!(
            !text.contains("@example.com") && !text.contains("Bearer"),
            "{text}"
        );
    }
    let data = |kind: &str| {
        received
            .iter()
            .find(|r| r.kind() == kind)
            .unwrap_or_else(|| panic!("no {kind}"))
            .data()
            .clone()
    };
    assert_eq!(
        data("goal.created.v1"),
        json!({"user_id": 1, "goal_id": goal, "title": "Learn Rust", "status": "in-progress"})
    );
    assert_eq!(data("goal.completed.v1")["status"], "completed");
    assert_eq!(
        data("goal.deleted.v1"),
        json!({"user_id": 1, "goal_id": goal, "title": "Learn Rust"})
    );
    assert_eq!(
        data("checkin.added.v1"),
        json!({"user_id": 1, "goal_id": goal, "date": "2026-03-10", "minutes": 25})
    );
    assert_eq!(
        data("streak.extended.v1"),
        json!({"user_id": 1, "goal_id": goal, "streak": 1, "longest_streak": 1, "unit": "day"})
    );
    let badge = data("badge.revoked.v1");
    assert_eq!(badge["badge_code"], "profile-complete");
    assert!(
        ["bronze", "silver", "gold"].contains(&badge["tier"].as_str().unwrap()),
        "{badge}"
    );
    assert_eq!(data("profile.updated.v1"), json!({"user_id": 1}));
}

async fn on_rabbitmq_each_change_is_one_cloudevent_with_the_documented_attributes_and_data(
    backend: Backend,
) {
    each_change_is_one_cloudevent_with_the_documented_attributes_and_data(backend, Bus::RabbitMq)
        .await
}

async fn on_nats_each_change_is_one_cloudevent_with_the_documented_attributes_and_data(
    backend: Backend,
) {
    each_change_is_one_cloudevent_with_the_documented_attributes_and_data(backend, Bus::Nats).await
}

/// The streak events among `received`, each with its `streak`.
fn streak_announcements(received: &[Received]) -> Vec<(String, u64)> {
    received
        .iter()
        .filter(|r| r.kind().starts_with("streak."))
        .map(|r| (r.kind().to_owned(), r.data()["streak"].as_u64().unwrap()))
        .collect()
}

/// Seven consecutive days: the seventh check-in is a milestone.
async fn a_seventh_day_in_a_row_is_announced_as_a_streak_milestone(backend: Backend) {
    let Some(mut subscriber) = Subscriber::start(Bus::Nats).await else {
        return;
    };
    let app = app_publishing_to(backend, &subscriber).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Daily reading").await["id"].clone();
    for day in 0..7 {
        if day > 0 {
            app.clock.advance(TimeDelta::days(1));
        }
        let response = app
            .post(
                &format!("/users/1/goals/{goal}/checkins"),
                Some(&ada),
                &json!({}),
            )
            .await;
        assert_eq!(response.status(), 201);
    }
    // The goal and its first badge; each day's check-in and streak; the milestone, and the
    // badges of 3 and 7 days.
    let everything = subscriber.take(2 + 7 * 2 + 3).await;
    let streaks = streak_announcements(&everything);
    let mut expected: Vec<_> = (1..=7)
        .map(|n| ("streak.extended.v1".to_owned(), n))
        .collect();
    expected.push(("streak.milestone.v1".to_owned(), 7));
    assert_eq!(streaks, expected);
    let milestone = everything
        .iter()
        .find(|r| r.kind() == "streak.milestone.v1")
        .unwrap();
    assert_eq!(milestone.data()["milestone"], 7);
}

/// The report: on a 6-day streak, today checked in, taken back and checked in again, three
/// times. The run announces 7 days and its milestone once; the day taken back and added
/// again is not news (neither a milestone nor an extension to a length already announced),
/// and the eighth day is.
async fn a_day_taken_back_and_checked_in_again_announces_its_milestone_once(backend: Backend) {
    let Some(mut subscriber) = Subscriber::start(Bus::Nats).await else {
        return;
    };
    let app = app_publishing_to(backend, &subscriber).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Daily reading").await["id"].clone();
    let checkins = format!("/users/1/goals/{goal}/checkins");
    let check_in = || async {
        let answer = json_body(app.post(&checkins, Some(&ada), &json!({})).await, 201).await;
        answer["streak"]["streak_count"].clone()
    };
    for day in 0..7 {
        if day > 0 {
            app.clock.advance(TimeDelta::days(1));
        }
        check_in().await;
    }
    // The seventh day, six after the clock's 10 March.
    let today = "2026-03-16";
    for _ in 0..3 {
        let removed = app.delete(&format!("{checkins}/{today}"), Some(&ada)).await;
        assert_eq!(removed.status(), 204);
        assert_eq!(check_in().await, 7);
    }
    app.clock.advance(TimeDelta::days(1));
    assert_eq!(check_in().await, 8);

    // The goal and its first badge; seven days with their streaks, the milestone and the
    // badges of 3 and 7 days; three times the day taken back and added; the eighth day.
    let everything = subscriber.take(2 + 7 * 2 + 3 + 3 * 2 + 2).await;
    subscriber.assert_no_more(SETTLE).await;
    let streaks = streak_announcements(&everything);
    let mut expected: Vec<_> = (1..=7)
        .map(|n| ("streak.extended.v1".to_owned(), n))
        .collect();
    expected.push(("streak.milestone.v1".to_owned(), 7));
    expected.push(("streak.extended.v1".to_owned(), 8));
    assert_eq!(streaks, expected);
    let retakes: Vec<_> = everything[19..25].iter().map(Received::kind).collect();
    assert_eq!(
        retakes,
        ["checkin.removed.v1", "checkin.added.v1"].repeat(3)
    );
}

/// Four users writing at once, each one change after another: every user's events arrive
/// in the order their changes were made.
async fn each_users_events_arrive_in_the_order_of_their_changes(backend: Backend) {
    let Some(mut subscriber) = Subscriber::start(Bus::RabbitMq).await else {
        return;
    };
    let app = app_publishing_to(backend, &subscriber).await;
    const USERS: i64 = 4;
    const GOALS: usize = 8;
    let mut writers = Vec::new();
    for user in 1..=USERS {
        let ada = app.user(user).await;
        let url = app.url(&format!("/users/{user}/goals"));
        writers.push(tokio::spawn(async move {
            let client = http_client();
            for n in 0..GOALS {
                let response = client
                    .post(&url)
                    .bearer_auth(&ada)
                    .json(&json!({"title": format!("goal {n}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 201);
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    // Each user's first goal also earns a badge.
    let received = subscriber
        .take(usize::try_from(USERS).unwrap() * (GOALS + 1))
        .await;
    for user in 1..=USERS {
        let titles: Vec<_> = received
            .iter()
            .filter(|r| r.kind() == "goal.created.v1" && r.data()["user_id"] == user)
            .map(|r| r.data()["title"].as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<_> = (0..GOALS).map(|n| format!("goal {n}")).collect();
        assert_eq!(titles, expected, "user {user}");
    }
}

/// Writes while the broker is out of reach succeed, and their events all go out, in order,
/// once it is back; the broker being away at start changes nothing either.
async fn a_broker_outage_during_writes_loses_nothing(backend: Backend) {
    let Some(mut subscriber) = Subscriber::start(Bus::RabbitMq).await else {
        return;
    };
    let proxy = Proxy::start().await;
    proxy.cut();
    let app = TestApp::builder(backend)
        .config(|c| subscriber.configure_through(&proxy, &mut c.events))
        .spawn()
        .await;
    let ada = app.user(1).await;
    let first = app
        .create_goal(1, &ada, "written while away at start")
        .await;
    proxy.restore().await;
    let arrived = subscriber.take(2).await;
    assert_eq!(kinds(&arrived), ["goal.created.v1", "badge.awarded.v1"]);
    assert_eq!(arrived[0].data()["goal_id"], first["id"]);
    all_marked_published(&app).await;

    proxy.cut();
    let mut written = Vec::new();
    for n in 0..5 {
        let goal = app.create_goal(1, &ada, &format!("away {n}")).await;
        written.push(goal["id"].clone());
    }
    subscriber.assert_no_more(SETTLE).await;
    proxy.restore().await;
    let arrived = subscriber.take(written.len()).await;
    let ids: Vec<_> = arrived
        .iter()
        .map(|r| r.data()["goal_id"].clone())
        .collect();
    assert_eq!(ids, written);
}

/// The NATS stream deleted while the service runs: the next event creates it again and
/// arrives, as it would on a RabbitMQ exchange declared again, with no restart.
async fn a_nats_stream_deleted_while_the_service_runs_is_created_again(backend: Backend) {
    let Some(mut subscriber) = Subscriber::start(Bus::Nats).await else {
        return;
    };
    let app = app_publishing_to(backend, &subscriber).await;
    let ada = app.user(1).await;
    app.create_goal(1, &ada, "before").await;
    assert_eq!(
        kinds(&subscriber.take(2).await),
        ["goal.created.v1", "badge.awarded.v1"]
    );
    all_marked_published(&app).await;

    subscriber.delete_stream().await;
    let goal = app
        .create_goal(1, &ada, "after the stream was deleted")
        .await;

    let arrived = subscriber.take(1).await;
    assert_eq!(kinds(&arrived), ["goal.created.v1"]);
    assert_eq!(arrived[0].data()["goal_id"], goal["id"]);
    all_marked_published(&app).await;
}

/// With `EVENTS_URL` unset nothing is written to the outbox.
async fn without_events_url_no_outbox_rows_are_written(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    make_every_kind_of_change(&app).await;
    assert!(app.db.scalar("SELECT COUNT(*) FROM activity_events").await > 0);
    assert_eq!(app.db.scalar("SELECT COUNT(*) FROM event_outbox").await, 0);
}

/// Published events are deleted once past their retention (here: none).
async fn published_events_are_deleted_by_the_cleanup(backend: Backend) {
    let Some(mut subscriber) = Subscriber::start(Bus::RabbitMq).await else {
        return;
    };
    let app = TestApp::builder(backend)
        .config(|c| {
            subscriber.configure(&mut c.events);
            c.events.events_retention_hours = 0;
        })
        .spawn()
        .await;
    let ada = app.user(1).await;
    app.create_goal(1, &ada, "soon gone from the outbox").await;
    subscriber.take(2).await;
    crate::helpers::eventually("the outbox emptied", || async {
        (app.db.scalar("SELECT COUNT(*) FROM event_outbox").await == 0).then_some(())
    })
    .await;
}

crate::backend_tests!(
    on_rabbitmq_each_change_is_one_cloudevent_with_the_documented_attributes_and_data,
    on_nats_each_change_is_one_cloudevent_with_the_documented_attributes_and_data,
    a_seventh_day_in_a_row_is_announced_as_a_streak_milestone,
    a_day_taken_back_and_checked_in_again_announces_its_milestone_once,
    each_users_events_arrive_in_the_order_of_their_changes,
    a_broker_outage_during_writes_loses_nothing,
    a_nats_stream_deleted_while_the_service_runs_is_created_again,
    without_events_url_no_outbox_rows_are_written,
    published_events_are_deleted_by_the_cleanup,
);

/// The binary on `database_url`, publishing to `subscriber`.
fn serve_publishing(
    dir: &std::path::Path,
    database_url: &str,
    subscriber: &Subscriber,
) -> std::process::Command {
    let mut command = command(dir);
    command
        .env("DATABASE_URL", database_url)
        .env("JWT_SECRET", SECRET)
        .envs(subscriber.env())
        .arg("serve");
    command
}

async fn create_goals(server: &ChildServer, user: i64, count: usize) {
    let client = http_client();
    for n in 0..count {
        let response = client
            .post(server.url(&format!("/users/{user}/goals")))
            .bearer_auth(token(user))
            .json(&json!({"title": format!("goal {n}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
}

/// The relay is killed (SIGKILL) after the broker confirmed a batch and before the batch was
/// marked published (the test makes every mark fail, as a crash right before it would
/// leave it): after a restart the same events go out again, with the same ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_between_publishing_and_marking_publishes_the_same_ids_again() {
    let Some(mut subscriber) = Subscriber::start(Bus::RabbitMq).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("events.db").display());
    let server = ChildServer::start(&mut serve_publishing(dir.path(), &url, &subscriber));
    let database = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    let unpublished = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM event_outbox WHERE published_at IS NULL")
            .fetch_one(&database)
            .await
            .unwrap()
    };
    sqlx::query("INSERT INTO users (id, username) VALUES (1, 'ada')")
        .execute(&database)
        .await
        .unwrap();
    // The first events go out and are marked: the relay is running.
    create_goals(&server, 1, 1).await;
    subscriber.take(2).await;
    crate::helpers::eventually("the first events marked", || async {
        (unpublished().await == 0).then_some(())
    })
    .await;

    sqlx::query(
        "CREATE TRIGGER hold_marks BEFORE UPDATE ON event_outbox \
         BEGIN SELECT RAISE(ABORT, 'the test holds the marks'); END",
    )
    .execute(&database)
    .await
    .unwrap();
    create_goals(&server, 1, 3).await;
    let mut before = Vec::new();
    while before.len() < 3 {
        let id = subscriber.take(1).await[0].id().to_owned();
        if !before.contains(&id) {
            before.push(id);
        }
    }
    drop(server); // SIGKILL
    // Whatever the relay sent again before it died.
    while subscriber.next_within(SETTLE).await.is_some() {}
    assert_eq!(unpublished().await, 3, "killed before any mark");
    sqlx::query("DROP TRIGGER hold_marks")
        .execute(&database)
        .await
        .unwrap();

    let _restarted = ChildServer::start(&mut serve_publishing(dir.path(), &url, &subscriber));
    let again: Vec<String> = subscriber
        .take(3)
        .await
        .iter()
        .map(|r| r.id().to_owned())
        .collect();
    assert_eq!(again, before);
    crate::helpers::eventually("the events marked after the restart", || async {
        (unpublished().await == 0).then_some(())
    })
    .await;
    subscriber.assert_no_more(SETTLE).await;
}

/// Two replicas on one PostgreSQL publish each event once; when one is killed mid-stream,
/// the other publishes whatever it left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_publish_each_event_once_and_lose_none_when_one_is_killed() {
    if !Backend::Postgres.available().await {
        return;
    }
    let Some(mut subscriber) = Subscriber::start(Bus::RabbitMq).await else {
        return;
    };
    let app = TestApp::spawn(Backend::Postgres).await;
    let url = app.database_url();
    let (one_dir, two_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let one = ChildServer::start(&mut serve_publishing(one_dir.path(), &url, &subscriber));
    let two = ChildServer::start(&mut serve_publishing(two_dir.path(), &url, &subscriber));
    app.insert_user(1, "ada").await;
    app.insert_user(2, "bob").await;

    tokio::join!(create_goals(&one, 1, 20), create_goals(&two, 2, 20));
    let received = subscriber.take(40 + 2).await;
    subscriber.assert_no_more(SETTLE).await;
    let ids: HashSet<&str> = received.iter().map(Received::id).collect();
    assert_eq!(ids.len(), received.len(), "no event published twice");

    create_goals(&two, 2, 30).await;
    drop(one); // SIGKILL, whatever it was doing
    create_goals(&two, 2, 10).await;
    // Some may come twice (a batch the killed replica published but did not mark); none
    // may be missing.
    let mut goals = HashSet::new();
    while goals.len() < 40 {
        let event = subscriber.take(1).await.remove(0);
        assert_eq!(event.kind(), "goal.created.v1");
        goals.insert(event.data()["goal_id"].as_i64().unwrap());
    }
    all_marked_published(&app).await;
    drop(two);
}
