//! Badges as verifiable credentials: what a credential says, who may read it, the status
//! lists, and the independent verifier (`.ci/credentials`, the Digital Credentials
//! Consortium's libraries from npm, installed by `.ci/run`), which checks our credentials
//! offline and reads our status lists from the test's service.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::{
    cli::{command, run},
    helpers::{
        Backend, TestApp, award_token, catalog_entry, ci_node_tool, fixture, json_body, problem,
    },
};

/// The platform's address in the tests' credentials: nothing answers there, so the verifier
/// can only read a status list through the mapping to the test's service.
const PLATFORM_URL: &str = "https://learn.example.com";
const STATUS_LISTS: &str = "/users/credentials/status/";

async fn platform_app(backend: Backend) -> TestApp {
    TestApp::builder(backend)
        .config(|config| {
            config.credentials.platform_name = "Example Learning".into();
            config.credentials.platform_url = PLATFORM_URL.parse().unwrap();
        })
        .spawn()
        .await
}

/// User 1 with the `first-goal` badge, earned by setting a goal: their token.
async fn holder(app: &TestApp) -> String {
    let ada = app.user(1).await;
    app.create_goal(1, &ada, "Learn Rust").await;
    ada
}

async fn credential(app: &TestApp, path: &str) -> Value {
    json_body(app.get(path).await, 200).await
}

const FIRST_GOAL: &str = "/users/1/badges/first-goal/credential";

/// Takes user 1's `first-goal` back through the API, and erases user 2 with the operator's
/// command.
async fn revoke_first_goal_of_1_and_erase_2(app: &TestApp) {
    let revocation = app
        .delete("/users/1/badges/first-goal", Some(&award_token()))
        .await;
    assert_eq!(revocation.status(), StatusCode::NO_CONTENT);
    let dir = tempfile::tempdir().unwrap();
    run(command(dir.path())
        .env("DATABASE_URL", app.database_url())
        .args(["users", "erase", "--id", "2"]));
}

async fn a_badge_credential_is_an_open_badge_of_the_platform_naming_the_profile_not_the_email(
    backend: Backend,
) {
    let app = platform_app(backend).await;
    holder(&app).await;
    let entry = catalog_entry(&app, "first-goal").await;

    let vc = credential(&app, FIRST_GOAL).await;

    assert_eq!(
        vc["@context"],
        json!([
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
        ])
    );
    assert_eq!(
        vc["type"],
        json!(["VerifiableCredential", "OpenBadgeCredential"])
    );
    let issuer = vc["issuer"]["id"].as_str().unwrap();
    assert!(issuer.starts_with("did:key:z6Mk"), "{vc}");
    assert_eq!(vc["issuer"]["type"], json!(["Profile"]));
    assert_eq!(vc["issuer"]["name"], "Example Learning");
    assert_eq!(vc["issuer"]["url"], PLATFORM_URL);
    assert_eq!(vc["validFrom"], "2026-03-10T12:00:00Z", "the award's time");
    let subject = &vc["credentialSubject"];
    assert_eq!(subject["type"], json!(["AchievementSubject"]));
    assert_eq!(subject["id"], format!("{PLATFORM_URL}/users/1"));
    let achievement = &subject["achievement"];
    assert_eq!(achievement["type"], json!(["Achievement"]));
    assert_eq!(achievement["name"], entry["name"]);
    assert_eq!(achievement["description"], entry["description"]);
    assert_eq!(achievement["criteria"]["narrative"], entry["criteria"]);
    assert_eq!(
        achievement["image"],
        json!({"id": format!("{PLATFORM_URL}/users/badges/first-goal.svg"), "type": "Image"})
    );
    let status = &vc["credentialStatus"];
    assert_eq!(status["type"], "BitstringStatusListEntry");
    assert_eq!(status["statusPurpose"], "revocation");
    assert_eq!(
        status["statusListCredential"],
        format!("{PLATFORM_URL}{STATUS_LISTS}1")
    );
    assert_eq!(vc["proof"]["type"], "DataIntegrityProof");
    assert_eq!(vc["proof"]["cryptosuite"], "eddsa-rdfc-2022");
    assert_eq!(vc["proof"]["proofPurpose"], "assertionMethod");
    let method = vc["proof"]["verificationMethod"].as_str().unwrap();
    assert_eq!(
        method,
        format!("{issuer}#{}", issuer.strip_prefix("did:key:").unwrap())
    );
    let text = vc.to_string();
    assert!(!text.contains("user1@example.com"), "{text}");
    assert!(!text.contains("@example.com"), "{text}");

    // The same award reads the same, proof included: its entity tag holds.
    let again = app.get(FIRST_GOAL).await;
    let etag = again.headers()[header::ETAG].clone();
    assert_eq!(json_body(again, 200).await, vc);
    let not_modified = app
        .request(reqwest::Method::GET, FIRST_GOAL, None)
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
}

async fn a_credential_is_private_with_the_badges_section_and_only_for_a_held_badge(
    backend: Backend,
) {
    let app = platform_app(backend).await;
    let ada = holder(&app).await;
    let bob = app.user(2).await;
    json_body(
        app.put(
            "/users/1",
            Some(&ada),
            &json!({"visibility": {"badges": "private"}}),
        )
        .await,
        200,
    )
    .await;

    let list = problem(app.get("/users/1/badges").await, 404).await;
    let anonymous = problem(app.get(FIRST_GOAL).await, 404).await;
    assert_eq!(
        anonymous["detail"], list["detail"],
        "the badges list's answer"
    );
    problem(app.get_as(FIRST_GOAL, &bob).await, 404).await;
    json_body(app.get_as(FIRST_GOAL, &ada).await, 200).await;

    problem(
        app.get_as("/users/1/badges/streak-7/credential", &ada)
            .await,
        404,
    )
    .await;
    problem(
        app.get_as("/users/1/badges/no-such-badge/credential", &ada)
            .await,
        404,
    )
    .await;
    let bad = problem(
        app.get_as("/users/1/badges/Not_A_Code/credential", &ada)
            .await,
        400,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "code", "{bad}");
    problem(app.get("/users/3/badges/first-goal/credential").await, 404).await;
}

async fn the_status_list_is_signed_by_the_issuer_and_its_etag_changes_when_a_bit_flips_and_only_then(
    backend: Backend,
) {
    let app = platform_app(backend).await;
    holder(&app).await;
    let vc = credential(&app, FIRST_GOAL).await;
    let list_path = format!("{STATUS_LISTS}1");

    let first = app.get(&list_path).await;
    assert_eq!(first.headers()[header::CACHE_CONTROL], "public, no-cache");
    let etag = first.headers()[header::ETAG].clone();
    let list = json_body(first, 200).await;
    assert_eq!(
        list["type"],
        json!(["VerifiableCredential", "BitstringStatusListCredential"])
    );
    assert_eq!(list["issuer"], vc["issuer"]["id"]);
    assert_eq!(list["id"], format!("{PLATFORM_URL}{list_path}"));
    assert_eq!(list["credentialSubject"]["type"], "BitstringStatusList");
    assert_eq!(list["credentialSubject"]["statusPurpose"], "revocation");
    assert_eq!(list["proof"]["cryptosuite"], "eddsa-rdfc-2022");

    let conditional = |tag: header::HeaderValue| {
        app.request(reqwest::Method::GET, &list_path, None)
            .header(header::IF_NONE_MATCH, tag)
            .send()
    };
    assert_eq!(
        conditional(etag.clone()).await.unwrap().status(),
        StatusCode::NOT_MODIFIED
    );
    // Another award takes another index: no bit flips.
    json_body(
        app.post(
            "/users/1/badges",
            Some(&award_token()),
            &json!({"code": "streak-7"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        conditional(etag.clone()).await.unwrap().status(),
        StatusCode::NOT_MODIFIED
    );

    let revoked = app
        .delete("/users/1/badges/first-goal", Some(&award_token()))
        .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);

    let after = conditional(etag.clone()).await.unwrap();
    assert_eq!(after.status(), StatusCode::OK);
    assert_ne!(after.headers()[header::ETAG], etag);
    let flipped = json_body(after, 200).await;
    assert_ne!(
        flipped["credentialSubject"]["encodedList"],
        list["credentialSubject"]["encodedList"]
    );
}

async fn a_status_list_no_credential_is_on_is_not_found_and_a_bad_number_is_refused(
    backend: Backend,
) {
    let app = platform_app(backend).await;
    json_body(app.get(&format!("{STATUS_LISTS}1")).await, 200).await;
    problem(app.get(&format!("{STATUS_LISTS}2")).await, 404).await;
    problem(
        app.get(&format!("{STATUS_LISTS}18446744073709551615"))
            .await,
        404,
    )
    .await;
    for bad in ["0", "-1", "+1", "one", "1.0"] {
        let refused = problem(app.get(&format!("{STATUS_LISTS}{bad}")).await, 400).await;
        assert_eq!(refused["errors"][0]["field"], "list", "{bad}: {refused}");
    }
}

async fn a_badge_taken_away_by_any_road_flips_its_bit_and_nothing_left_names_the_user(
    backend: Backend,
) {
    let app = platform_app(backend).await;
    for id in [1, 2, 3] {
        let user = app.user(id).await;
        app.create_goal(id, &user, "Learn Rust").await;
    }
    let index = |vc: &Value| {
        vc["credentialStatus"]["statusListIndex"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
    };
    let mut indexes = Vec::new();
    for id in 1..=3 {
        let path = format!("/users/{id}/badges/first-goal/credential");
        indexes.push(index(&credential(&app, &path).await));
    }
    let revoked = || async {
        let mut revoked = Vec::new();
        for i in &indexes {
            let sql = format!(
                "SELECT COUNT(*) FROM credential_status WHERE status_index = {i} AND revoked"
            );
            revoked.push(app.db.scalar(&sql).await == 1);
        }
        revoked
    };
    assert_eq!(revoked().await, [false, false, false]);

    // A revocation, the operator's erasure, and the users row deleted under the service (as
    // the auth-service deletes its own row in a shared database: the cascade).
    revoke_first_goal_of_1_and_erase_2(&app).await;
    app.db.execute("DELETE FROM users WHERE id = 3").await;

    assert_eq!(revoked().await, [true, true, true]);
    let awards_left = app
        .db
        .scalar("SELECT COUNT(*) FROM user_badges WHERE user_id IN (1, 2, 3)")
        .await;
    assert_eq!(awards_left, 0);
    // The list keeps the bits: three revoked credentials, and no user named anywhere.
    let list = credential(&app, &format!("{STATUS_LISTS}1")).await;
    let text = list.to_string();
    for user in [
        "user1",
        "user2",
        "user3",
        "/users/1\"",
        "/users/2\"",
        "/users/3\"",
    ] {
        assert!(!text.contains(user), "{user} in {text}");
    }
}

async fn a_configured_signing_key_names_one_issuer_across_restarts_and_the_development_key_another(
    backend: Backend,
) {
    let configured = |backend| {
        TestApp::builder(backend)
            .config(|config| {
                config.credentials.credentials_signing_key = Some(fixture("ed_private.pem"));
            })
            .spawn()
    };
    let mut issuers = Vec::new();
    for app in [
        configured(backend).await,
        configured(backend).await,
        TestApp::spawn(backend).await,
    ] {
        holder(&app).await;
        issuers.push(credential(&app, FIRST_GOAL).await["issuer"]["id"].clone());
    }
    assert_eq!(issuers[0], issuers[1]);
    assert_ne!(issuers[0], issuers[2]);
}

#[tokio::test]
async fn a_fresh_start_generates_a_development_signing_key_in_the_data_folder_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let server = crate::helpers::ChildServer::start(command(&data).arg("serve"));

    let warning = server
        .log
        .iter()
        .find(|e| {
            e["level"] == "WARN"
                && e["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("CREDENTIALS_SIGNING_KEY"))
        })
        .expect("a warning about the development signing key");
    assert!(
        warning["message"].as_str().unwrap().contains("DEVELOPMENT"),
        "{warning}"
    );
    let key = std::fs::read_to_string(data.join("dev-credentials-key.pem")).unwrap();
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8 PEM");
    assert!(!warning.to_string().contains(key.lines().nth(1).unwrap()));
}

crate::backend_tests!(
    a_badge_credential_is_an_open_badge_of_the_platform_naming_the_profile_not_the_email,
    a_credential_is_private_with_the_badges_section_and_only_for_a_held_badge,
    the_status_list_is_signed_by_the_issuer_and_its_etag_changes_when_a_bit_flips_and_only_then,
    a_status_list_no_credential_is_on_is_not_found_and_a_bad_number_is_refused,
    a_badge_taken_away_by_any_road_flips_its_bit_and_nothing_left_names_the_user,
    a_configured_signing_key_names_one_issuer_across_restarts_and_the_development_key_another,
    the_independent_verifier_accepts_a_fresh_credential_and_refuses_one_with_a_changed_character,
    the_independent_verifier_reports_a_revoked_badge_and_an_erased_users_badge_as_revoked,
);

/// The verifier of `.ci/credentials`, or `None` (loudly) when its packages are not
/// installed; with `CI=true` that fails the test instead, as `.ci/run` installs them.
fn verifier() -> Option<PathBuf> {
    ci_node_tool(
        "credentials",
        "@digitalcredentials/vc",
        "the credential verifier",
    )
    .map(|dir| dir.join("verify.mjs"))
}

/// What the verifier says of `vc`: `{verified, revoked, errors}`. Status lists are read
/// from `app`, standing in for the platform.
fn verify(verifier: &Path, app: &TestApp, vc: &str) -> Value {
    let dir = tempfile::tempdir().expect("temporary folder");
    let file = dir.path().join("credential.json");
    std::fs::write(&file, vc).unwrap();
    let output = Command::new("node")
        .arg(verifier)
        .arg(&file)
        .arg("--status-lists")
        .arg(format!(
            "{PLATFORM_URL}{STATUS_LISTS}={}",
            app.url(STATUS_LISTS)
        ))
        .output()
        .expect("node runs");
    let printed = String::from_utf8_lossy(&output.stdout);
    let verdict: Value = serde_json::from_str(printed.trim()).unwrap_or_else(|_| {
        panic!(
            "the verifier printed no verdict:\n{printed}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(
        output.status.success(),
        verdict["verified"] == true,
        "{verdict}"
    );
    verdict
}

async fn credential_text(app: &TestApp, path: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

async fn the_independent_verifier_accepts_a_fresh_credential_and_refuses_one_with_a_changed_character(
    backend: Backend,
) {
    let Some(verifier) = verifier() else {
        return;
    };
    let app = platform_app(backend).await;
    holder(&app).await;
    let vc = credential_text(&app, FIRST_GOAL).await;

    let fresh = verify(&verifier, &app, &vc);
    assert_eq!(
        fresh,
        json!({"verified": true, "revoked": false, "errors": []})
    );

    let name = catalog_entry(&app, "first-goal").await["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut changed = name.clone();
    let last = changed.pop().unwrap();
    changed.push(if last == 'x' { 'y' } else { 'x' });
    let tampered = vc.replace(&format!("\"{name}\""), &format!("\"{changed}\""));
    assert_eq!(tampered.len(), vc.len());
    assert_ne!(tampered, vc);

    let refused = verify(&verifier, &app, &tampered);
    assert_eq!(refused["verified"], false, "{refused}");
    assert_eq!(refused["revoked"], false, "{refused}");
    assert!(
        refused["errors"]
            .as_array()
            .unwrap()
            .contains(&json!("Invalid signature.")),
        "{refused}"
    );
}

async fn the_independent_verifier_reports_a_revoked_badge_and_an_erased_users_badge_as_revoked(
    backend: Backend,
) {
    let Some(verifier) = verifier() else {
        return;
    };
    let app = platform_app(backend).await;
    holder(&app).await;
    let bob = app.user(2).await;
    app.create_goal(2, &bob, "Learn SQL").await;
    let ada_vc = credential_text(&app, FIRST_GOAL).await;
    let bob_vc = credential_text(&app, "/users/2/badges/first-goal/credential").await;
    assert_eq!(verify(&verifier, &app, &ada_vc)["verified"], true);

    revoke_first_goal_of_1_and_erase_2(&app).await;

    for vc in [&ada_vc, &bob_vc] {
        let revoked = verify(&verifier, &app, vc);
        assert_eq!(revoked["verified"], false, "{revoked}");
        assert_eq!(revoked["revoked"], true, "{revoked}");
    }
    // Awarded again, the badge is a new credential, valid, beside the revoked one.
    json_body(
        app.post(
            "/users/1/badges",
            Some(&award_token()),
            &json!({"code": "first-goal"}),
        )
        .await,
        201,
    )
    .await;
    let again = credential_text(&app, FIRST_GOAL).await;
    assert_ne!(again, ada_vc);
    assert_eq!(verify(&verifier, &app, &again)["verified"], true);
}
