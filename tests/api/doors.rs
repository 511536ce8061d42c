//! One rule, one answer, at every door: the same table of cases goes through the browser prompt
//! and through the Auth API (signed like `duo_client`), and each door must reach the same
//! verdict. Plus the attacks on attempts: a burst of parallel guesses checks no more than the
//! lockout allows, and a request held open while the account locks is not checked.

use twofold::factors::codes;
use twofold::factors::totp::TotpSeed;
use twofold::store::{self, one_time_codes::NewCode};

use crate::duo::{Client, Sig, add_application};
use crate::helpers::{PASSWORD, TestApp, count_to, csrf_in, location, now, spawn_app};

/// What a door decided, in its own words brought back to one vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Wrong,
    Replayed,
    Refused,
    Locked,
    Disabled,
}

#[derive(Debug, Clone, Copy)]
enum Case {
    RightAppCode,
    WrongCode,
    ReplayedAppCode,
    /// A backup code while the user's group may not use backup codes: refused, and not used up.
    ForbiddenBackupCode,
    HelpDeskPasscode,
    UsedHelpDeskPasscode,
    LockedAccount,
    DisabledAccount,
}

const CASES: [(Case, Outcome); 8] = [
    (Case::RightAppCode, Outcome::Allowed),
    (Case::WrongCode, Outcome::Wrong),
    (Case::ReplayedAppCode, Outcome::Replayed),
    (Case::ForbiddenBackupCode, Outcome::Refused),
    (Case::HelpDeskPasscode, Outcome::Allowed),
    // A used-up code is no longer among the user's codes: wrong, like any other number.
    (Case::UsedHelpDeskPasscode, Outcome::Wrong),
    (Case::LockedAccount, Outcome::Locked),
    (Case::DisabledAccount, Outcome::Disabled),
];

const BACKUP_CODE: &str = "1234567890";
const HELP_DESK_CODE: &str = "987654321";

/// A user for `case` with a TOTP device (seeded directly), and the code to submit.
async fn arrange(app: &TestApp, case: Case, n: usize) -> (String, String) {
    let name = format!("user{n}");
    let user = app.add_user(&name).await;
    let seed = TotpSeed::generate();
    let sealed = app.keys.seal(&twofold::signin::passcode::seed_context(&user.id), seed.as_bytes()).unwrap();
    let t = now();
    app.sql(&format!(
        "INSERT INTO devices (id, user_id, kind, platform, name, login_action, totp_secret, created_at, is_default) \
         VALUES ('dev{n}', '{}', 'mobile', 'iphone', 'Phone', 'ask', '{sealed}', {t}, 1)",
        user.id
    ))
    .await;
    app.sql(&format!("UPDATE users SET enrolled_at = {t} WHERE id = '{}'", user.id)).await;
    let code = seed.code_at(t as u64);
    let code = match case {
        Case::RightAppCode => code,
        Case::WrongCode => if code == "000000" { "111111" } else { "000000" }.to_string(),
        Case::ReplayedAppCode => {
            app.sql(&format!("UPDATE devices SET totp_last_step = {} WHERE id = 'dev{n}'", t / 30 + 1)).await;
            code
        }
        Case::ForbiddenBackupCode => {
            let salt = codes::new_salt();
            let hash = codes::hash(&app.keys, &salt, BACKUP_CODE);
            store::backup_codes::replace_set(&app.db, &user.id, None, &[(salt, hash)], t).await.unwrap();
            app.sql(&format!("INSERT INTO user_groups (user_id, group_name) VALUES ('{}', 'kiosk')", user.id)).await;
            BACKUP_CODE.into()
        }
        Case::HelpDeskPasscode => {
            help_desk_code(app, &user.id, 1).await;
            HELP_DESK_CODE.into()
        }
        Case::UsedHelpDeskPasscode => {
            help_desk_code(app, &user.id, 0).await;
            HELP_DESK_CODE.into()
        }
        Case::LockedAccount => {
            app.sql(&format!("UPDATE users SET locked_at = {t}, failed_attempts = 10 WHERE id = '{}'", user.id)).await;
            code
        }
        Case::DisabledAccount => code,
    };
    (name, code)
}

/// A temporary passcode from the help desk with `uses` uses left.
async fn help_desk_code(app: &TestApp, user_id: &str, uses: i64) {
    let (salt, t) = (codes::new_salt(), now());
    let hash = codes::hash(&app.keys, &salt, HELP_DESK_CODE);
    let new = NewCode {
        user_id,
        kind: "temporary",
        salt: &salt,
        code_hash: &hash,
        uses,
        expires_at: t + 3600,
        issued_by: None,
        reason: "test",
        not_before: None,
    };
    store::one_time_codes::insert(&app.db, new, t).await.unwrap();
}

/// Everything in the database before the first request (each instance caches the policy).
async fn arrange_all(app: &TestApp) -> Vec<(String, String)> {
    let rules = [("allowed_methods:group:kiosk", "totp,push".to_string())];
    store::policies::save(&app.db, &rules, "test", now()).await.unwrap();
    let mut users = Vec::new();
    for (n, (case, _)) in CASES.iter().enumerate() {
        users.push(arrange(app, *case, n).await);
    }
    users
}

/// The prompt: sign in with the password in a fresh browser, then "Enter a Passcode".
async fn through_prompt(app: &TestApp, username: &str, code: &str, case: Case) -> Outcome {
    let b = app.other_browser();
    if matches!(case, Case::DisabledAccount) {
        // Disabled after the password, while the prompt is open.
        assert_eq!(location(&b.login(username, PASSWORD).await), "/prompt");
        let token = csrf_in(&b.get_html("/prompt").await);
        app.sql(&format!("UPDATE users SET status = 'disabled' WHERE username = '{username}'")).await;
        let r = b.post_raw("/prompt/passcode", &[("csrf_token", &token), ("passcode", code)]).await;
        return if location(&r) == "/login" { Outcome::Disabled } else { panic!("{}", r.status()) };
    }
    assert_eq!(location(&b.login(username, PASSWORD).await), "/prompt");
    let page = b.get_html("/prompt").await;
    // Posted even when the page shows no form (a request forged or held open would be).
    let r = b.post_raw("/prompt/passcode", &[("csrf_token", &csrf_in(&page)), ("passcode", code)]).await;
    match r.status().as_u16() {
        303 if location(&r) == "/prompt" => {
            assert!(b.get_html("/prompt").await.contains("Your account is locked"));
            Outcome::Locked
        }
        303 => {
            let to = location(&r);
            assert!(["/prompt/trust", "/enroll/device-type"].contains(&to.as_str()), "{to}");
            Outcome::Allowed
        }
        422 => {
            let text = r.text().await.unwrap();
            // The prompt's words for a used code ("That code has already been used", "That
            // passcode was already used") and for a wrong one ("Incorrect passcode", or for the
            // single-use kinds "not right, or it was already used").
            if text.contains("has already been used") || text.contains("passcode was already used") {
                Outcome::Replayed
            } else {
                assert!(text.contains("Incorrect passcode") || text.contains("is not right, or it was"), "{text}");
                Outcome::Wrong
            }
        }
        403 => {
            assert!(r.text().await.unwrap().contains("cannot be used to sign in"));
            Outcome::Refused
        }
        other => panic!("unexpected status {other}"),
    }
}

/// The Auth API: `factor=passcode`, as `duo_client.Auth.auth` sends it.
async fn through_api(app: &TestApp, client: &Client, username: &str, code: &str, case: Case) -> Outcome {
    if matches!(case, Case::DisabledAccount) {
        app.sql(&format!("UPDATE users SET status = 'disabled' WHERE username = '{username}'")).await;
    }
    let params = [("username", username), ("factor", "passcode"), ("passcode", code)];
    let (status, r) = client.call(app, "POST", "/auth/v2/auth", &params, Sig::V5, 0).await;
    assert_eq!(status, 200, "{r}");
    let (result, status, msg) = (&r["response"]["result"], &r["response"]["status"], &r["response"]["status_msg"]);
    let msg = msg.as_str().unwrap();
    match (result.as_str().unwrap(), status.as_str().unwrap()) {
        ("allow", "allow") => Outcome::Allowed,
        ("deny", "locked_out") => Outcome::Locked,
        ("deny", "deny") if msg.contains("disabled") => Outcome::Disabled,
        ("deny", "deny") if msg.contains("cannot be used to sign in") => Outcome::Refused,
        ("deny", "deny") if msg.contains("already") => Outcome::Replayed,
        ("deny", "deny") => Outcome::Wrong,
        other => panic!("unexpected {other:?}: {r}"),
    }
}

#[tokio::test]
async fn every_case_gets_the_same_verdict_at_the_prompt_and_through_the_auth_api() {
    let (prompt_app, api_app) = (spawn_app().await, spawn_app().await);
    let prompt_users = arrange_all(&prompt_app).await;
    let api_users = arrange_all(&api_app).await;
    let client = add_application(&api_app, "VPN").await;
    for (i, (case, expected)) in CASES.iter().enumerate() {
        let (name, code) = &prompt_users[i];
        let at_prompt = through_prompt(&prompt_app, name, code, *case).await;
        let (name, code) = &api_users[i];
        let through_api = through_api(&api_app, &client, name, code, *case).await;
        // The Auth API says "Incorrect passcode" for a used code as for a wrong one (Duo's words);
        // what it decided is the same: deny, counted.
        let api_expected = if *expected == Outcome::Replayed { Outcome::Wrong } else { *expected };
        assert_eq!((at_prompt, through_api), (*expected, api_expected), "{case:?}");
    }
    // Refused before anything was checked: the forbidden backup code is still unused, at both doors.
    for app in [&prompt_app, &api_app] {
        let id = crate::helpers::user_id(app, "user3").await;
        assert_eq!(store::backup_codes::count_unused(&app.db, &id).await.unwrap(), 1);
        let row = store::users::by_id(&app.db, &id).await.unwrap().unwrap();
        assert_eq!(row.failed_attempts, 0, "a refusal by policy is not a guess");
    }
}

#[tokio::test]
async fn eighty_wrong_codes_at_once_are_checked_no_more_than_the_lockout_allows() {
    let app = spawn_app().await;
    let client = add_application(&app, "VPN").await;
    let users = arrange_all(&app).await;
    let (name, right) = users[0].clone();
    let wrong = if right == "000000" { "111111" } else { "000000" };
    let calls = (0..80).map(|_| {
        let (app, client, name) = (&app, &client, name.clone());
        async move {
            let params = [("username", name.as_str()), ("factor", "passcode"), ("passcode", wrong)];
            client.call(app, "POST", "/auth/v2/auth", &params, Sig::V5, 0).await.1
        }
    });
    let answers = futures_util::future::join_all(calls).await;
    let locked_out = answers.iter().filter(|r| r["response"]["status"] == "locked_out").count();
    let denied = answers.iter().filter(|r| r["response"]["status"] == "deny").count();
    assert_eq!((denied, locked_out), (10, 70), "only ten guesses were checked");
    let id = crate::helpers::user_id(&app, &name).await;
    let checked = store::audit::for_user(&app.db, &id, 200)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event == "mfa.passcode" && e.detail.contains("wrong passcode"))
        .count();
    assert_eq!(checked, 10);
    // The right code is refused now: the account is locked.
    let params = [("username", name.as_str()), ("factor", "passcode"), ("passcode", right.as_str())];
    let (_, r) = client.call(&app, "POST", "/auth/v2/auth", &params, Sig::V5, 0).await;
    assert_eq!(r["response"]["status"], "locked_out", "{r}");
}

#[tokio::test]
async fn at_the_prompt_a_burst_of_wrong_codes_locks_once_and_the_right_code_then_fails() {
    let app = spawn_app().await;
    let users = arrange_all(&app).await;
    let (name, right) = users[0].clone();
    let wrong = if right == "000000" { "111111" } else { "000000" };
    let results = app.concurrent_passcodes(&name, wrong, 30).await;
    // Ten are checked and fail (the tenth locks: back to the prompt); twenty find the account
    // locked and go back to the prompt unchecked.
    let wrong_pages = results.iter().filter(|(status, _)| *status == 422).count();
    assert_eq!(wrong_pages + count_to(&results, "/prompt"), 30, "{results:?}");
    assert!(wrong_pages <= 9, "{results:?}");
    let results = app.concurrent_passcodes(&name, &right, 1).await;
    assert_eq!(count_to(&results, "/prompt"), 1, "the right code cannot sign in to a locked account");
}
