//! The export: the archive's files and what they hold, their JSON Schemas, one snapshot,
//! the owner alone, one export an hour, the operator's command, and erasure.

use std::{collections::BTreeMap, io::Read};

use chrono::TimeDelta;
use reqwest::{Response, StatusCode, header};
use serde_json::{Value, json};

use crate::{
    cli::{command, run},
    helpers::{Backend, TestApp, TestDb, json_body, problem, token},
};

/// An archive's files by name.
type Files = BTreeMap<String, Vec<u8>>;

fn unzip(bytes: &[u8]) -> Files {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP archive");
    (0..zip.len())
        .map(|i| {
            let mut file = zip.by_index(i).unwrap();
            let mut contents = Vec::new();
            file.read_to_end(&mut contents).unwrap();
            (file.name().expect("a UTF-8 name").into_owned(), contents)
        })
        .collect()
}

fn parsed(files: &Files, name: &str) -> Value {
    let bytes = files
        .get(name)
        .unwrap_or_else(|| panic!("{name} is in the archive"));
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{name} is JSON: {e}"))
}

async fn export(app: &TestApp, user: i64, token: &str) -> Response {
    app.get_as(&format!("/users/{user}/export"), token).await
}

async fn archive(response: Response) -> Files {
    assert_eq!(response.status(), StatusCode::OK);
    unzip(&response.bytes().await.expect("the whole archive"))
}

/// Ada (user 1): a profile, a private goals section, two goals (one checked in twice),
/// the badge the first goal earns.
async fn ada(app: &TestApp) -> String {
    app.insert_user(1, "ada").await;
    let ada = token(1);
    let profile = json!({
        "display_name": "Ada",
        "bio": "Counting things",
        "skills": ["Rust", "SQL"],
        "timezone": "Europe/London",
        "week_start": "sunday",
        "visibility": {"goals": "private"},
    });
    json_body(app.put("/users/1", Some(&ada), &profile).await, 200).await;
    let rust = app.create_goal(1, &ada, "Finish the Rust book").await;
    app.create_goal(1, &ada, "Learn SQL").await;
    for body in [
        json!({"date": "2026-03-09", "minutes": 25}),
        json!({"note": "chapter 3"}),
    ] {
        let path = format!("/users/1/goals/{}/checkins", rust["id"]);
        json_body(app.post(&path, Some(&ada), &body).await, 201).await;
    }
    ada
}

fn by<'a>(list: &'a Value, key: &str) -> BTreeMap<String, &'a Value> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| (item[key].to_string(), item))
        .collect()
}

async fn the_archive_holds_every_file_as_the_api_shows_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = ada(&app).await;
    app.user(2).await;

    let response = export(&app, 1, &ada).await;
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/zip");
    assert_eq!(
        response.headers()[header::CONTENT_DISPOSITION],
        "attachment; filename=\"user-service-export-ada-2026-03-10.zip\""
    );
    assert_eq!(
        response.headers()[header::CACHE_CONTROL],
        "private, no-store"
    );
    let files = archive(response).await;
    assert_eq!(
        files.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "README.txt",
            "activity.json",
            "badges.json",
            "blocks.json",
            "checkins.json",
            "credentials/first-goal.json",
            "follow-requests.json",
            "followers.json",
            "following.json",
            "goals.json",
            "kudos-given.json",
            "kudos-received.json",
            "mutes.json",
            "partnerships.json",
            "profile.json",
        ]
    );

    let me = json_body(app.get_as("/users/me", &ada).await, 200).await;
    assert_eq!(parsed(&files, "profile.json"), me);
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["visibility"]["goals"], "private");

    let mut goals = json_body(app.get_as("/users/1/goals", &ada).await, 200).await;
    goals.as_array_mut().unwrap().reverse();
    assert_eq!(parsed(&files, "goals.json"), goals, "oldest first");

    let checkins = parsed(&files, "checkins.json");
    let rust = &goals[0]["id"];
    let mut listed = json_body(
        app.get_as(&format!("/users/1/goals/{rust}/checkins"), &ada)
            .await,
        200,
    )
    .await;
    listed.as_array_mut().unwrap().reverse();
    assert_eq!(checkins, listed, "day by day");
    assert_eq!(checkins[0]["date"], "2026-03-09");
    assert_eq!(checkins[0]["minutes"], 25);
    assert_eq!(checkins[1]["note"], "chapter 3");

    let badges = parsed(&files, "badges.json");
    assert_eq!(
        by(&badges, "code"),
        by(
            &json_body(app.get_as("/users/1/badges", &ada).await, 200).await,
            "code"
        )
    );
    assert_eq!(badges[0]["code"], "first-goal");

    let mut activity = json_body(app.get_as("/users/1/activity", &ada).await, 200).await;
    activity.as_array_mut().unwrap().reverse();
    assert_eq!(parsed(&files, "activity.json"), activity, "oldest first");

    let credential = json_body(
        app.get_as("/users/1/badges/first-goal/credential", &ada)
            .await,
        200,
    )
    .await;
    assert_eq!(parsed(&files, "credentials/first-goal.json"), credential);

    let readme = String::from_utf8(files["README.txt"].clone()).expect("UTF-8");
    for name in [
        "profile.json",
        "goals.json",
        "checkins.json",
        "badges.json",
        "activity.json",
        "credentials/",
        "/export-schemas/goals.json",
    ] {
        assert!(readme.contains(name), "README.txt names {name}:\n{readme}");
    }
    assert!(readme.contains("User 1 (ada)"), "{readme}");

    // A username that is not plain names no file: the id does.
    app.insert_user(4, "Zoë Q").await;
    let response = export(&app, 4, &token(4)).await;
    assert_eq!(
        response.headers()[header::CONTENT_DISPOSITION],
        "attachment; filename=\"user-service-export-4-2026-03-10.zip\""
    );
    archive(response).await;

    // Another user's archive holds their own data only.
    let other = archive(export(&app, 2, &token(2)).await).await;
    assert_eq!(parsed(&other, "goals.json"), json!([]));
    assert_eq!(parsed(&other, "checkins.json"), json!([]));
    assert_eq!(parsed(&other, "activity.json"), json!([]));
    assert!(!other.keys().any(|name| name.starts_with("credentials/")));
}

/// A request answered with success (any 2xx).
async fn succeeds(app: &TestApp, method: reqwest::Method, path: &str, token: &str) {
    let response = app.request(method, path, Some(token)).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
}

async fn the_archive_holds_the_social_graph_as_its_lists_show_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = ada(&app).await;
    let others: Vec<String> = {
        let mut tokens = Vec::new();
        for id in 2..=5 {
            tokens.push(app.user(id).await);
        }
        tokens
    };
    let put = reqwest::Method::PUT;
    succeeds(&app, put.clone(), "/users/2/following/1", &others[0]).await;
    succeeds(&app, put.clone(), "/users/1/following/2", &ada).await;
    succeeds(&app, put.clone(), "/users/1/following/3", &ada).await;
    json_body(
        app.put(
            "/users/1",
            Some(&ada),
            &json!({"follow_policy": "approval"}),
        )
        .await,
        200,
    )
    .await;
    succeeds(&app, put.clone(), "/users/4/following/1", &others[2]).await;
    succeeds(&app, put.clone(), "/users/1/blocks/5", &ada).await;
    succeeds(&app, put.clone(), "/users/1/mutes/3", &ada).await;
    // Bob gives kudos to one of Ada's events, and Ada to one of Bob's.
    let ada_event =
        json_body(app.get("/users/1/activity?limit=1").await, 200).await[0]["id"].clone();
    let path = format!("/users/1/activity/{ada_event}/kudos");
    succeeds(&app, put.clone(), &path, &others[0]).await;
    app.create_goal(2, &others[0], "Bob's goal").await;
    let bob_event =
        json_body(app.get("/users/2/activity?limit=1").await, 200).await[0]["id"].clone();
    succeeds(
        &app,
        put.clone(),
        &format!("/users/2/activity/{bob_event}/kudos"),
        &ada,
    )
    .await;

    let files = archive(export(&app, 1, &ada).await).await;
    for (file, list, len) in [
        ("followers.json", "followers", 1),
        ("following.json", "following", 2),
        ("follow-requests.json", "follow-requests", 1),
        ("blocks.json", "blocks", 1),
        ("mutes.json", "mutes", 1),
    ] {
        let listed = json_body(app.get_as(&format!("/users/1/{list}"), &ada).await, 200).await;
        assert_eq!(parsed(&files, file), listed, "{file}");
        assert_eq!(listed.as_array().unwrap().len(), len, "{file}: {listed}");
    }
    let received = parsed(&files, "kudos-received.json");
    assert_eq!(received.as_array().unwrap().len(), 1, "{received}");
    assert_eq!(received[0]["event_id"], ada_event);
    assert_eq!(received[0]["from"]["id"], 2);
    assert_eq!(received[0]["from"]["username"], "user2");
    let given = parsed(&files, "kudos-given.json");
    assert_eq!(given.as_array().unwrap().len(), 1, "{given}");
    assert_eq!(given[0]["event_id"], bob_event);
    assert_eq!(given[0]["to"]["id"], 2);
    let activity = parsed(&files, "activity.json");
    let kudosed = activity
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["id"] == ada_event)
        .expect("the event is in activity.json");
    assert_eq!(kudosed["kudos_count"], 1);
    let readme = String::from_utf8(files["README.txt"].clone()).unwrap();
    for name in ["followers.json", "kudos-given.json"] {
        assert!(readme.contains(name), "{readme}");
    }
}

async fn every_json_file_follows_its_published_schema(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = ada(&app).await;
    let files = archive(export(&app, 1, &ada).await).await;
    let mut checked = 0;
    for (name, bytes) in &files {
        let Some(stem) = name.strip_suffix(".json") else {
            assert_eq!(name, "README.txt");
            continue;
        };
        let schema_name = match stem.split_once('/') {
            Some((folder, _)) => format!("{folder}.json"),
            None => name.clone(),
        };
        let schema = json_body(
            app.get(&format!("/export-schemas/{schema_name}")).await,
            200,
        )
        .await;
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        let validator = jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("{schema_name} is a JSON Schema: {e}"));
        let instance: Value = serde_json::from_slice(bytes).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        // And the schema is not vacuous: a file of another shape fails it.
        assert!(
            !validator.is_valid(&json!({"not": "this"})) || !validator.is_valid(&json!([1])),
            "{schema_name} refuses other shapes"
        );
        checked += 1;
    }
    assert_eq!(checked, 14, "{:?}", files.keys());
    problem(app.get("/export-schemas/kudos.json").await, 404).await;
}

/// Ada partners with Ben twice (one partnership ended): the archive holds both, as the API
/// shows them to her, and they follow their published schema.
async fn the_archive_holds_the_partnerships_as_the_api_shows_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = ada(&app).await;
    let ben = app.user(2).await;
    succeeds(&app, reqwest::Method::PUT, "/users/1/following/2", &ada).await;
    succeeds(&app, reqwest::Method::PUT, "/users/2/following/1", &ben).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mine = app.create_goal(1, &ada, "Read").await["id"].clone();
        let theirs = app.create_goal(2, &ben, "Write").await["id"].clone();
        let invited = json_body(
            app.post(
                &format!("/users/1/goals/{mine}/partners"),
                Some(&ada),
                &json!({"user_id": 2}),
            )
            .await,
            201,
        )
        .await;
        let id = invited["id"].as_i64().unwrap();
        json_body(
            app.put(
                &format!("/users/2/partnerships/{id}"),
                Some(&ben),
                &json!({"goal_id": theirs}),
            )
            .await,
            200,
        )
        .await;
        ids.push(id);
    }
    succeeds(
        &app,
        reqwest::Method::DELETE,
        &format!("/users/2/partnerships/{}", ids[0]),
        &ben,
    )
    .await;
    let mut expected = Vec::new();
    for id in &ids {
        expected.push(
            json_body(
                app.get_as(&format!("/users/1/partnerships/{id}"), &ada)
                    .await,
                200,
            )
            .await,
        );
    }
    let files = archive(export(&app, 1, &ada).await).await;
    let exported = parsed(&files, "partnerships.json");
    assert_eq!(exported, Value::Array(expected));
    let schema = json_body(app.get("/export-schemas/partnerships.json").await, 200).await;
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&exported), "{exported}");
    assert!(!validator.is_valid(&json!([{"id": "one"}])));
}

async fn only_the_owner_exports(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    ada(&app).await;
    app.user(2).await;
    problem(app.get("/users/1/export").await, 401).await;
    problem(export(&app, 1, &token(2)).await, 403).await;
    problem(export(&app, 3, &token(3)).await, 404).await;
    app.db
        .execute("UPDATE users SET is_active = FALSE WHERE id = 2")
        .await;
    problem(export(&app, 2, &token(2)).await, 404).await;
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM export_runs").await,
        0,
        "a refused export is not counted"
    );
}

async fn one_export_an_hour_then_429_with_the_seconds_left(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = ada(&app).await;
    archive(export(&app, 1, &ada).await).await;

    let refused = export(&app, 1, &ada).await;
    assert_eq!(refused.headers()[header::RETRY_AFTER], "3600");
    problem(refused, 429).await;

    app.clock.advance(TimeDelta::minutes(59));
    let refused = export(&app, 1, &ada).await;
    assert_eq!(refused.headers()[header::RETRY_AFTER], "60");
    let body = problem(refused, 429).await;
    assert_eq!(body["type"], "/problems/too-many-requests");

    app.clock.advance(TimeDelta::minutes(1));
    archive(export(&app, 1, &ada).await).await;
    // Another user has an hour of their own.
    let bob = app.user(2).await;
    archive(export(&app, 2, &bob).await).await;
    let refused = export(&app, 1, &ada).await;
    assert_eq!(refused.headers()[header::RETRY_AFTER], "3600");
}

/// Goals with descriptions that do not compress: their file alone is far more than the
/// transfer's buffers hold, so the export is paused in it until the client reads on.
async fn many_large_goals(db: &TestDb, user: i64, goals: i64) {
    let text = match db {
        TestDb::Sqlite(_) => "hex(randomblob(1000))",
        TestDb::Postgres(_) => {
            "(SELECT string_agg(md5(random()::text || g::text || i::text), '') \
             FROM generate_series(1, 62) AS i)"
        }
    };
    let series = match db {
        TestDb::Sqlite(_) => format!(
            "WITH RECURSIVE series(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM series WHERE g < {goals}) \
             SELECT g FROM series"
        ),
        TestDb::Postgres(_) => format!("SELECT g FROM generate_series(1, {goals}) AS g"),
    };
    db.execute(&format!(
        "INSERT INTO learning_goals (user_id, title, description, status, created_at, updated_at) \
         SELECT {user}, 'Bulk goal ' || g, {text}, 'in-progress', \
           '2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z' \
         FROM ({series}) AS s"
    ))
    .await;
}

async fn a_write_committed_during_an_export_is_not_in_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = ada(&app).await;
    many_large_goals(&app.db, 1, 3000).await;
    let goals_before = app
        .db
        .scalar("SELECT count(*) FROM learning_goals WHERE user_id = 1")
        .await;
    let checkins_before = app
        .db
        .scalar("SELECT count(*) FROM goal_checkins WHERE user_id = 1")
        .await;
    let events_before = app
        .db
        .scalar("SELECT count(*) FROM activity_events WHERE user_id = 1")
        .await;

    // The headers have come: the snapshot is taken, and the archive is being written.
    let mut response = export(&app, 1, &ada).await;
    assert_eq!(response.status(), StatusCode::OK);
    let first = response.chunk().await.unwrap().expect("a first chunk");

    // A write of three tables (a goal, its check-in, their events) commits meanwhile.
    let goal = app.create_goal(1, &ada, "Written during the export").await;
    let path = format!("/users/1/goals/{}/checkins", goal["id"]);
    json_body(
        app.post(&path, Some(&ada), &json!({"minutes": 5})).await,
        201,
    )
    .await;

    let mut bytes = first.to_vec();
    while let Some(chunk) = response.chunk().await.unwrap() {
        bytes.extend_from_slice(&chunk);
    }
    let files = unzip(&bytes);
    let goals = parsed(&files, "goals.json");
    let checkins = parsed(&files, "checkins.json");
    let activity = parsed(&files, "activity.json");
    assert_eq!(goals.as_array().unwrap().len() as i64, goals_before);
    assert_eq!(checkins.as_array().unwrap().len() as i64, checkins_before);
    assert_eq!(activity.as_array().unwrap().len() as i64, events_before);
    assert!(
        !checkins
            .to_string()
            .contains(&format!("\"goal_id\":{}", goal["id"]))
    );

    // The next export has all of it.
    app.clock.advance(TimeDelta::hours(1));
    let files = archive(export(&app, 1, &ada).await).await;
    assert_eq!(
        parsed(&files, "goals.json").as_array().unwrap().len() as i64,
        goals_before + 1
    );
    assert_eq!(
        parsed(&files, "checkins.json").as_array().unwrap().len() as i64,
        checkins_before + 1
    );
    assert!(parsed(&files, "activity.json").as_array().unwrap().len() as i64 > events_before);
}

async fn the_export_command_writes_the_same_archive(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = ada(&app).await;
    let served = archive(export(&app, 1, &ada).await).await;

    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("ada.zip");
    let output = run(command(dir.path())
        .env("DATABASE_URL", app.database_url())
        .args(["users", "export", "--id", "1", "--to"])
        .arg(&to));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("exported user 1"),
        "{output:?}"
    );
    let written = unzip(&std::fs::read(&to).unwrap());
    assert_eq!(
        written.keys().collect::<Vec<_>>(),
        served.keys().collect::<Vec<_>>()
    );
    for name in [
        "profile.json",
        "checkins.json",
        "badges.json",
        "activity.json",
    ] {
        assert_eq!(parsed(&written, name), parsed(&served, name), "{name}");
    }
    // The goals as of the command's day, the credential signed with its own key.
    let ids = |files: &Files| -> Vec<Value> {
        parsed(files, "goals.json")
            .as_array()
            .unwrap()
            .iter()
            .map(|g| json!([g["id"], g["title"]]))
            .collect()
    };
    assert_eq!(ids(&written), ids(&served));
    let subject =
        |files: &Files| parsed(files, "credentials/first-goal.json")["credentialSubject"].clone();
    assert_eq!(subject(&written), subject(&served));
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM export_runs").await,
        1,
        "the command keeps no hourly limit"
    );

    // An existing file is left alone; an unknown user is refused.
    let again = command(dir.path())
        .env("DATABASE_URL", app.database_url())
        .args(["users", "export", "--id", "1", "--to"])
        .arg(&to)
        .output()
        .unwrap();
    assert!(!again.status.success());
    let unknown = command(dir.path())
        .env("DATABASE_URL", app.database_url())
        .args(["users", "export", "--id", "9", "--to"])
        .arg(dir.path().join("nobody.zip"))
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(!dir.path().join("nobody.zip").exists());
}

async fn erasure_removes_the_users_export_run(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = ada(&app).await;
    let bob = app.user(2).await;
    archive(export(&app, 1, &ada).await).await;
    archive(export(&app, 2, &bob).await).await;
    assert_eq!(app.db.scalar("SELECT count(*) FROM export_runs").await, 2);

    let dir = tempfile::tempdir().unwrap();
    run(command(dir.path())
        .env("DATABASE_URL", app.database_url())
        .args(["users", "erase", "--id", "1"]));
    assert_eq!(
        app.db
            .scalar("SELECT count(*) FROM export_runs WHERE user_id = 1")
            .await,
        0
    );
    assert_eq!(
        app.db
            .scalar("SELECT count(*) FROM export_runs WHERE user_id = 2")
            .await,
        1
    );
}

crate::backend_tests!(
    the_archive_holds_every_file_as_the_api_shows_it,
    the_archive_holds_the_social_graph_as_its_lists_show_it,
    every_json_file_follows_its_published_schema,
    the_archive_holds_the_partnerships_as_the_api_shows_them,
    only_the_owner_exports,
    one_export_an_hour_then_429_with_the_seconds_left,
    a_write_committed_during_an_export_is_not_in_it,
    the_export_command_writes_the_same_archive,
    erasure_removes_the_users_export_run,
);
