//! Other users' data (OWASP API1 broken object level authorization, API3 excessive data
//! exposure): every mutating operation is tried with every kind of caller, and the database
//! is read afterwards to prove that a refused request changed nothing for anyone and that the
//! owner's request changed only the owner's rows. Reads never carry the auth-service's
//! columns.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, claims, json_body, problem, sign, token};

/// The owner of the data every operation addresses.
const ALICE: i64 = 1;
/// Another user with a row of their own, and data of their own.
const BOB: i64 = 2;
/// A user the auth-service knows (its token is valid) who has no row here.
const GHOST: i64 = 3;
/// A trusted service's token carries the award scope; its `sub` names no row.
const AWARDER: i64 = 900;

const AWARD_SCOPE: &str = "badges:award";
/// The app's clock says 2026-03-10: check-ins may be today or yesterday.
const YESTERDAY: &str = "2026-03-09";

/// Every table this service writes, with the column naming the user a row belongs to
/// (`None`: shared by everyone, like the badge catalog).
const TABLES: &[(&str, Option<&str>)] = &[
    ("users", Some("id")),
    ("learning_goals", Some("user_id")),
    ("goal_checkins", Some("user_id")),
    ("user_badges", Some("user_id")),
    ("activity_events", Some("user_id")),
    ("idempotency_keys", Some("user_id")),
    ("follows", Some("follower_id")),
    ("follow_counts", Some("user_id")),
    ("blocks", Some("blocker_id")),
    ("mutes", Some("muter_id")),
    ("daily_writes", Some("user_id")),
    ("badges", None),
];

/// Which rows a snapshot reads.
#[derive(Clone, Copy)]
enum Rows {
    Everyone,
    OnlyOf(i64),
    AllBut(i64),
}

/// Every row of `table` that `rows` selects, each as text, in a stable order.
async fn table_rows(app: &TestApp, table: &str, owner: Option<&str>, rows: Rows) -> String {
    let filter = match (owner, rows) {
        (_, Rows::Everyone) => "1 = 1".to_owned(),
        (None, Rows::OnlyOf(_)) => "1 = 0".to_owned(),
        (None, Rows::AllBut(_)) => "1 = 1".to_owned(),
        (Some(column), Rows::OnlyOf(user)) => format!("{column} = {user}"),
        (Some(column), Rows::AllBut(user)) => format!("{column} <> {user}"),
    };
    let sql = match app.backend {
        Backend::Postgres => format!(
            "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') \
             FROM {table} t WHERE {filter}"
        ),
        Backend::Sqlite => {
            // Every column, whatever the schema: quote() keeps NULL apart from 'NULL'.
            let columns = app
                .db
                .text(&format!(
                    "SELECT group_concat('quote(' || name || ')', ' || ''|'' || ') \
                     FROM pragma_table_info('{table}')"
                ))
                .await
                .unwrap_or_else(|| panic!("table {table} has no columns"));
            format!(
                "SELECT coalesce(group_concat(r, char(10)), '') FROM \
                 (SELECT {columns} AS r FROM {table} WHERE {filter} ORDER BY r)"
            )
        }
    };
    app.db.text(&sql).await.unwrap_or_default()
}

/// The rows `rows` selects in every table this service writes.
async fn snapshot(app: &TestApp, rows: Rows) -> Vec<(&'static str, String)> {
    let mut tables = Vec::new();
    for (table, owner) in TABLES {
        tables.push((*table, table_rows(app, table, *owner, rows).await));
    }
    tables
}

/// Names the tables whose rows differ between two snapshots.
fn changed_tables(
    before: &[(&'static str, String)],
    after: &[(&'static str, String)],
) -> Vec<&'static str> {
    before
        .iter()
        .zip(after)
        .filter(|(b, a)| b.1 != a.1)
        .map(|(b, _)| b.0)
        .collect()
}

/// Claims for `user` with `changes` merged in.
fn claims_with(user: i64, changes: Value) -> Value {
    let mut claims = claims(user);
    for (name, value) in changes.as_object().unwrap() {
        claims[name] = value.clone();
    }
    claims
}

fn token_with_scope(user: i64) -> String {
    sign(&claims_with(user, json!({ "scope": AWARD_SCOPE })))
}

/// One mutating operation of the API.
struct Operation {
    name: &'static str,
    method: Method,
    /// The path for a user and a goal id.
    path: fn(i64, i64) -> String,
    /// A body the owner's request succeeds with (refused requests send it too).
    body: Option<Value>,
    /// What the owner (or, for badge writes, a token with the scope) gets.
    success: u16,
    /// Whether it addresses a goal, so that naming another user's goal makes sense.
    goal_scoped: bool,
    /// Badge writes need the `badges:award` scope instead of ownership.
    needs_scope: bool,
    /// Tables where the owner's success also changes the other party's rows by design (a
    /// follow moves Bob's count and earns him a badge; an approval begins Bob's follow).
    others_change: &'static [&'static str],
}

fn operations() -> Vec<Operation> {
    vec![
        Operation {
            name: "PUT /users/{id}",
            method: Method::PUT,
            path: |user, _| format!("/users/{user}"),
            body: Some(json!({"bio": "changed", "skills": ["Rust"]})),
            success: 200,
            goal_scoped: false,
            needs_scope: false,
            others_change: &[],
        },
        Operation {
            name: "POST /users/{id}/goals",
            method: Method::POST,
            path: |user, _| format!("/users/{user}/goals"),
            body: Some(json!({"title": "A goal nobody else may set"})),
            success: 201,
            goal_scoped: false,
            needs_scope: false,
            others_change: &[],
        },
        Operation {
            name: "PUT /users/{id}/goals/{goal_id}",
            method: Method::PUT,
            path: |user, goal| format!("/users/{user}/goals/{goal}"),
            body: Some(json!({"title": "Renamed", "status": "completed"})),
            success: 200,
            goal_scoped: true,
            needs_scope: false,
            others_change: &[],
        },
        Operation {
            name: "DELETE /users/{id}/goals/{goal_id}",
            method: Method::DELETE,
            path: |user, goal| format!("/users/{user}/goals/{goal}"),
            body: None,
            success: 204,
            goal_scoped: true,
            needs_scope: false,
            others_change: &[],
        },
        Operation {
            name: "POST /users/{id}/goals/{goal_id}/checkins",
            method: Method::POST,
            path: |user, goal| format!("/users/{user}/goals/{goal}/checkins"),
            body: Some(json!({"minutes": 30, "note": "today"})),
            success: 201,
            goal_scoped: true,
            needs_scope: false,
            others_change: &[],
        },
        Operation {
            name: "DELETE /users/{id}/goals/{goal_id}/checkins/{date}",
            method: Method::DELETE,
            path: |user, goal| format!("/users/{user}/goals/{goal}/checkins/{YESTERDAY}"),
            body: None,
            success: 204,
            goal_scoped: true,
            needs_scope: false,
            others_change: &[],
        },
        Operation {
            name: "POST /users/{id}/badges",
            method: Method::POST,
            path: |user, _| format!("/users/{user}/badges"),
            body: Some(json!({"code": "streak-100"})),
            success: 201,
            goal_scoped: false,
            needs_scope: true,
            others_change: &[],
        },
        Operation {
            name: "DELETE /users/{id}/badges/{code}",
            method: Method::DELETE,
            path: |user, _| format!("/users/{user}/badges/first-goal"),
            body: None,
            success: 204,
            goal_scoped: false,
            needs_scope: true,
            others_change: &[],
        },
        Operation {
            name: "PUT /users/{id}/following/{target_id}",
            method: Method::PUT,
            path: |user, _| format!("/users/{user}/following/{BOB}"),
            body: None,
            success: 204,
            goal_scoped: false,
            needs_scope: false,
            others_change: &["follow_counts", "user_badges", "activity_events"],
        },
        Operation {
            name: "DELETE /users/{id}/following/{target_id}",
            method: Method::DELETE,
            path: |user, _| format!("/users/{user}/following/{BOB}"),
            body: None,
            success: 204,
            goal_scoped: false,
            needs_scope: false,
            others_change: &[],
        },
        Operation {
            name: "PUT /users/{id}/followers/{follower_id}",
            method: Method::PUT,
            path: |user, _| format!("/users/{user}/followers/{BOB}"),
            body: None,
            success: 204,
            goal_scoped: false,
            needs_scope: false,
            others_change: &["follows", "follow_counts"],
        },
        Operation {
            name: "DELETE /users/{id}/followers/{follower_id}",
            method: Method::DELETE,
            path: |user, _| format!("/users/{user}/followers/{BOB}"),
            body: None,
            success: 204,
            goal_scoped: false,
            needs_scope: false,
            others_change: &["follows"],
        },
        Operation {
            name: "PUT /users/{id}/blocks/{target_id}",
            method: Method::PUT,
            path: |user, _| format!("/users/{user}/blocks/{BOB}"),
            body: None,
            success: 204,
            goal_scoped: false,
            needs_scope: false,
            others_change: &["follows"],
        },
        Operation {
            name: "DELETE /users/{id}/blocks/{target_id}",
            method: Method::DELETE,
            path: |user, _| format!("/users/{user}/blocks/{BOB}"),
            body: None,
            success: 204,
            goal_scoped: false,
            needs_scope: false,
            others_change: &[],
        },
        Operation {
            name: "PUT /users/{id}/mutes/{target_id}",
            method: Method::PUT,
            path: |user, _| format!("/users/{user}/mutes/{BOB}"),
            body: None,
            success: 204,
            goal_scoped: false,
            needs_scope: false,
            others_change: &[],
        },
        Operation {
            name: "DELETE /users/{id}/mutes/{target_id}",
            method: Method::DELETE,
            path: |user, _| format!("/users/{user}/mutes/{BOB}"),
            body: None,
            success: 204,
            goal_scoped: false,
            needs_scope: false,
            others_change: &[],
        },
    ]
}

/// What a refused request must get.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    /// 401 with a bare `Bearer` challenge: no credentials.
    NoCredentials,
    /// 401 with `Bearer error="invalid_token"`.
    InvalidToken,
    Forbidden,
    NotFound,
}

/// One caller trying one operation on one user's path.
struct Case {
    who: String,
    token: Option<String>,
    /// Whose path (and, for goal paths, whose goal) is addressed.
    path_user: i64,
    goal: i64,
    expected: Refusal,
}

/// Alice and Bob each with a goal checked in yesterday (which awards `first-goal`), and
/// Bob's request to follow Alice, who approves follows; Ghost only exists in the
/// auth-service. Returns (Alice's goal, Bob's goal).
async fn two_users_with_data(app: &TestApp) -> (i64, i64) {
    let mut goals = Vec::new();
    for user in [ALICE, BOB] {
        let token = app.user(user).await;
        let goal = app.create_goal(user, &token, "Learn Rust").await["id"]
            .as_i64()
            .unwrap();
        json_body(
            app.post(
                &format!("/users/{user}/goals/{goal}/checkins"),
                Some(&token),
                &json!({"date": YESTERDAY, "minutes": 20}),
            )
            .await,
            201,
        )
        .await;
        goals.push(goal);
    }
    json_body(
        app.put(
            &format!("/users/{ALICE}"),
            Some(&token(ALICE)),
            &json!({"follow_policy": "approval"}),
        )
        .await,
        200,
    )
    .await;
    let asked = app
        .request(
            Method::PUT,
            &format!("/users/{BOB}/following/{ALICE}"),
            Some(&token(BOB)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 202, "Bob asks to follow Alice");
    assert_eq!(
        app.db
            .scalar("SELECT count(*) FROM user_badges WHERE badge_code = 'first-goal'")
            .await,
        2,
        "each user holds the badge the revocation targets"
    );
    assert_eq!(
        app.db
            .scalar(&format!("SELECT count(*) FROM users WHERE id = {GHOST}"))
            .await,
        0
    );
    (goals[0], goals[1])
}

/// Every refused case for `op`, given Alice's and Bob's goals.
fn refused_cases(op: &Operation, alice_goal: i64, bob_goal: i64) -> Vec<Case> {
    let case = |who: &str, token: Option<String>, path_user, goal, expected| Case {
        who: who.to_owned(),
        token,
        path_user,
        goal,
        expected,
    };
    let mut cases = vec![
        case("no token", None, ALICE, alice_goal, Refusal::NoCredentials),
        case(
            "Bob's token",
            Some(token(BOB)),
            ALICE,
            alice_goal,
            Refusal::Forbidden,
        ),
        case(
            "the token of a user with no row",
            Some(token(GHOST)),
            ALICE,
            alice_goal,
            Refusal::Forbidden,
        ),
    ];
    // Each with the award scope, so that for badge writes only the user claim is wrong.
    for (what, sub) in [
        ("0", json!(0)),
        ("\"0\"", json!("0")),
        ("-1", json!(-1)),
        ("\"-1\"", json!("-1")),
        ("not a number", json!("alice")),
        ("a float", json!(1.0)),
        ("2^63, past i64", json!(9_223_372_036_854_775_808u64)),
        ("\"2^64\", past 64 bits", json!("18446744073709551616")),
    ] {
        let bad = sign(&claims_with(
            ALICE,
            json!({ "sub": sub, "scope": AWARD_SCOPE }),
        ));
        cases.push(case(
            &format!("a token whose user claim is {what}"),
            Some(bad),
            ALICE,
            alice_goal,
            Refusal::InvalidToken,
        ));
    }
    if op.needs_scope {
        cases.push(case(
            "the owner's token without the award scope",
            Some(token(ALICE)),
            ALICE,
            alice_goal,
            Refusal::Forbidden,
        ));
        cases.push(case(
            "a user with no row, on their own path, without the scope",
            Some(token(GHOST)),
            GHOST,
            alice_goal,
            Refusal::Forbidden,
        ));
        cases.push(case(
            "a token with the award scope, on the path of a user with no row",
            Some(token_with_scope(AWARDER)),
            GHOST,
            alice_goal,
            Refusal::NotFound,
        ));
    } else {
        cases.push(case(
            "a user with no row, on their own path",
            Some(token(GHOST)),
            GHOST,
            alice_goal,
            Refusal::NotFound,
        ));
        cases.push(case(
            "Bob's token with the award scope",
            Some(token_with_scope(BOB)),
            ALICE,
            alice_goal,
            Refusal::Forbidden,
        ));
    }
    if op.goal_scoped {
        cases.push(case(
            "the owner's token naming Bob's goal under the owner's path",
            Some(token(ALICE)),
            ALICE,
            bob_goal,
            Refusal::NotFound,
        ));
        cases.push(case(
            "Bob's token naming Bob's goal under the owner's path",
            Some(token(BOB)),
            ALICE,
            bob_goal,
            Refusal::Forbidden,
        ));
    }
    cases
}

async fn send(app: &TestApp, op: &Operation, path: &str, token: Option<&str>) -> Response {
    let mut request = app.request(op.method.clone(), path, token);
    if let Some(body) = &op.body {
        request = request.json(body);
    }
    request.send().await.expect("the request is answered")
}

fn challenge(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

async fn assert_refused(response: Response, expected: Refusal, what: &str) {
    let status = response.status().as_u16();
    let (code, challenges): (u16, &[&str]) = match expected {
        Refusal::NoCredentials => (401, &["Bearer"]),
        Refusal::InvalidToken => (401, &[r#"Bearer error="invalid_token""#]),
        Refusal::Forbidden => (403, &[]),
        Refusal::NotFound => (404, &[]),
    };
    assert_eq!(status, code, "{what}");
    assert_eq!(challenge(&response), challenges, "challenge of {what}");
    problem(response, code).await;
}

async fn every_mutating_operation_refuses_everyone_but_its_owner_and_changes_nothing_else(
    backend: Backend,
) {
    for op in operations() {
        // A fresh database per operation: the owner's success (a deletion, say) must not
        // change what the next operation's cases find.
        let app = TestApp::spawn(backend).await;
        let (alice_goal, bob_goal) = two_users_with_data(&app).await;

        for case in refused_cases(&op, alice_goal, bob_goal) {
            let what = format!(
                "{} on user {}'s path by {}",
                op.name, case.path_user, case.who
            );
            let before = snapshot(&app, Rows::Everyone).await;
            let path = (op.path)(case.path_user, case.goal);
            let response = send(&app, &op, &path, case.token.as_deref()).await;
            assert_refused(response, case.expected, &what).await;
            let after = snapshot(&app, Rows::Everyone).await;
            assert!(
                changed_tables(&before, &after).is_empty(),
                "{what} changed {:?}:\nbefore {before:#?}\nafter {after:#?}",
                changed_tables(&before, &after)
            );
        }

        let (who, owner_token) = if op.needs_scope {
            (
                "a trusted service's token with the award scope",
                token_with_scope(AWARDER),
            )
        } else {
            ("the owner", token(ALICE))
        };
        let what = format!("{} on Alice's path by {who}", op.name);
        let others_before = snapshot(&app, Rows::AllBut(ALICE)).await;
        let alice_before = snapshot(&app, Rows::OnlyOf(ALICE)).await;
        let response = send(&app, &op, &(op.path)(ALICE, alice_goal), Some(&owner_token)).await;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_eq!(status, op.success, "{what}: {body}");
        let others_after = snapshot(&app, Rows::AllBut(ALICE)).await;
        let mut others_changed = changed_tables(&others_before, &others_after);
        others_changed.retain(|table| !op.others_change.contains(table));
        assert!(
            others_changed.is_empty(),
            "{what} changed other users' rows in {others_changed:?}"
        );
        assert_ne!(
            alice_before,
            snapshot(&app, Rows::OnlyOf(ALICE)).await,
            "{what} changed none of Alice's rows"
        );
    }
}

// ---- reads never carry the auth-service's columns ----

const ALICE_EMAIL: &str = "alice.private@example.org";
const BOB_EMAIL: &str = "bob.private@example.org";
const HASH_MARK: &str = "argon2id-hash-nobody-may-read";
const NOTE_MARK: &str = "note-only-the-auth-service-keeps";
const HIDDEN_KEYS: &[&str] = &["email", "hashed_password", "secret_note"];

/// Every object key anywhere in a JSON value.
fn all_keys(value: &Value, keys: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                keys.push(key.clone());
                all_keys(member, keys);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| all_keys(item, keys)),
        _ => {}
    }
}

async fn reads_never_carry_auth_service_columns_and_the_email_only_to_its_owner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (id, name, email) in [(ALICE, "alice", ALICE_EMAIL), (BOB, "bob", BOB_EMAIL)] {
        app.db
            .execute(&format!(
                "INSERT INTO users (id, username, email, hashed_password) \
                 VALUES ({id}, '{name}', '{email}', '{HASH_MARK}-{id}')"
            ))
            .await;
    }
    // A column the auth-service added that this service has never heard of.
    app.db
        .execute("ALTER TABLE users ADD COLUMN secret_note TEXT")
        .await;
    app.db
        .execute(&format!(
            "UPDATE users SET secret_note = '{NOTE_MARK}-' || CAST(id AS TEXT)"
        ))
        .await;
    let alice = token(ALICE);
    let goal = app.create_goal(ALICE, &alice, "Learn Rust").await["id"]
        .as_i64()
        .unwrap();
    json_body(
        app.post(
            &format!("/users/{ALICE}/goals/{goal}/checkins"),
            Some(&alice),
            &json!({"minutes": 25, "note": "chapter 3"}),
        )
        .await,
        201,
    )
    .await;
    json_body(
        app.put(
            &format!("/users/{ALICE}"),
            Some(&alice),
            &json!({"bio": "Learning in public", "display_name": "Alice"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        app.db
            .text(&format!("SELECT secret_note FROM users WHERE id = {ALICE}"))
            .await
            .as_deref(),
        Some(format!("{NOTE_MARK}-{ALICE}").as_str()),
        "the unknown column survives the service's writes"
    );

    let reads = [
        format!("/users/{ALICE}"),
        format!("/users/{ALICE}/goals"),
        format!("/users/{ALICE}/goals/{goal}"),
        format!("/users/{ALICE}/goals/{goal}/checkins"),
        format!("/users/{ALICE}/badges"),
        format!("/users/{ALICE}/activity"),
        format!("/users/{ALICE}/stats"),
        format!("/users/{ALICE}/heatmap"),
        "/users/badges".to_owned(),
        "/users/me".to_owned(),
    ];
    let bob = token(BOB);
    let viewers = [
        ("anonymous", None),
        ("Bob", Some(bob.as_str())),
        ("Alice", Some(alice.as_str())),
    ];
    let mut read = 0;
    for (viewer, token) in viewers {
        for path in &reads {
            if path == "/users/me" && token.is_none() {
                continue;
            }
            let what = format!("GET {path} as {viewer}");
            let response = app.request(Method::GET, path, token).send().await.unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            assert_eq!(status, 200, "{what}: {body}");
            read += 1;

            for secret in [HASH_MARK, NOTE_MARK] {
                assert!(!body.contains(secret), "{what} shows {secret}: {body}");
            }
            let json: Value = serde_json::from_str(&body).unwrap();
            let mut keys = Vec::new();
            all_keys(&json, &mut keys);
            // The email belongs in the caller's own profile, and nowhere else.
            let own_profile =
                path == "/users/me" || (viewer == "Alice" && *path == format!("/users/{ALICE}"));
            for hidden in HIDDEN_KEYS {
                if own_profile && *hidden == "email" {
                    continue;
                }
                assert!(
                    !keys.iter().any(|k| k == hidden),
                    "{what} has a member {hidden}: {body}"
                );
            }
            let own_email = match viewer {
                "Alice" if own_profile => Some(ALICE_EMAIL),
                "Bob" if own_profile => Some(BOB_EMAIL),
                _ => None,
            };
            for email in [ALICE_EMAIL, BOB_EMAIL] {
                if Some(email) == own_email {
                    assert_eq!(json["email"], email, "{what} is the caller's own profile");
                } else {
                    assert!(!body.contains(email), "{what} shows {email}: {body}");
                }
            }
        }
    }
    assert_eq!(read, 3 * reads.len() - 1);
}

/// A write route added to the API without a line in [`operations`] would skip every check
/// above: the list is the document's.
#[tokio::test]
async fn the_ownership_matrix_lists_every_mutating_operation_of_the_document() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = json_body(app.get("/openapi.json").await, 200).await;
    let mut documented: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|method| *method != "get")
                .map(move |method| {
                    format!(
                        "{} {}",
                        method.to_uppercase(),
                        path.replace("{user_id}", "{id}")
                    )
                })
        })
        .collect();
    // Kudos are any signed-in user's write on another's event, by design: their refusals
    // (no token, an event the caller cannot see, their own event) are tested in feed.rs.
    documented.retain(|op| !op.ends_with("/activity/{event_id}/kudos"));
    // Partnerships are written by either of two partners, each on their own path; their
    // refusals (no token, another user's token, a user who is not a partner) and what
    // they leave unchanged are tested in partners.rs.
    documented.retain(|op| !op.contains("/partner"));
    let mut tested: Vec<String> = operations().iter().map(|o| o.name.to_owned()).collect();
    documented.sort();
    tested.sort();
    assert_eq!(tested, documented);
}

crate::backend_tests!(
    every_mutating_operation_refuses_everyone_but_its_owner_and_changes_nothing_else,
    reads_never_carry_auth_service_columns_and_the_email_only_to_its_owner,
);
