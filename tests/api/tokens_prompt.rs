//! Hardware tokens for users: claiming one in the wizard ("Serial number" + "Passcode"), then
//! "Enter a Passcode" with HOTP, TOTP and Yubico OTP codes: windows, resynchronisation, replays,
//! monotonic counters, lost tokens, and 20 identical codes at once giving one success (T06).

use twofold::factors::hotp::HotpSeed;
use twofold::factors::yubico_otp;

use crate::helpers::{PASSWORD, TestApp, count_to, location, now, spawn_app};
use crate::tokens::{YUBI_KEY, YUBI_UID, good_file};

const RFC_SECRET: &[u8] = b"12345678901234567890";

/// Imports the three tokens of `good_file` straight through the library.
async fn inventory(app: &TestApp) {
    let (db, keys) = twofold::app::open(&app.settings).await.unwrap();
    let rows = twofold::domain::token::parse_csv(&good_file()).unwrap();
    assert_eq!(twofold::tokens::import(&db, &keys, &rows, "test", now()).await.unwrap(), 3);
}

/// A new user, signed in with the password, at the wizard's first step.
async fn at_the_wizard(app: &TestApp, username: &str) -> String {
    let user = app.add_user(username).await;
    assert_eq!(location(&app.login(username, PASSWORD).await), "/prompt");
    assert_eq!(location(&app.post_form("/enroll/start", &[]).await), "/enroll/device-type");
    let r = app.post_form("/enroll/device-type", &[("kind", "hardware_token")]).await;
    assert_eq!(location(&r), "/enroll/token");
    user.id
}

async fn claim(app: &TestApp, serial: &str, code: &str, next: &str) -> reqwest::Response {
    app.post_form("/enroll/token", &[("serial", serial), ("passcode", code), ("next_passcode", next)]).await
}

async fn finish(app: &TestApp) {
    let r = app.post_form("/enroll/options", &[("name", "My token"), ("login_action", "ask")]).await;
    assert_eq!(location(&r), "/enroll/done");
}

async fn counter(app: &TestApp, serial: &str) -> i64 {
    twofold::store::tokens::by_serial(&app.db, serial).await.unwrap().unwrap().counter
}

async fn passcode(app: &TestApp, code: &str) -> reqwest::Response {
    app.post_form("/prompt/passcode", &[("passcode", code)]).await
}

async fn fresh_login(app: &TestApp, username: &str) -> TestApp {
    let b = app.other_browser();
    assert_eq!(location(&b.login(username, PASSWORD).await), "/prompt");
    b
}

#[tokio::test]
async fn the_wizard_offers_hardware_tokens_and_shows_serial_and_passcode() {
    let app = spawn_app().await;
    at_the_wizard(&app, "ada").await;
    let page = app.get_html("/enroll/device-type").await;
    assert!(page.contains("Hardware token"), "{page}");
    let page = app.get_html("/enroll/token").await;
    assert!(page.contains("<label for=\"serial\">Serial number</label>"), "{page}");
    assert!(page.contains("<label for=\"passcode\">Passcode</label>"), "{page}");
}

#[tokio::test]
async fn an_hotp_token_is_claimed_with_two_consecutive_codes_and_then_counts_forward() {
    let app = spawn_app().await;
    inventory(&app).await;
    let user_id = at_the_wizard(&app, "ada").await;
    let seed = HotpSeed::new(RFC_SECRET, 6);
    // One code alone is not enough for an HOTP token; two codes far ahead (40, 41) resynchronise it.
    assert_eq!(claim(&app, "hotp-1", &seed.code_at(40), "").await.status(), 422);
    let r = claim(&app, "hotp-1", &seed.code_at(40), &seed.code_at(41)).await;
    assert_eq!(location(&r), "/enroll/options");
    finish(&app).await;
    assert_eq!(counter(&app, "HOTP-1").await, 42);
    let devices = twofold::store::devices::list_for_user(&app.db, &user_id).await.unwrap();
    assert_eq!((devices.len(), devices[0].kind.as_str()), (1, "hardware_token"));

    let b = fresh_login(&app, "ada").await;
    assert_eq!(passcode(&b, &seed.code_at(41)).await.status(), 422, "a used code is a replay");
    assert_eq!(passcode(&b, &seed.code_at(53)).await.status(), 422, "beyond the window of 10");
    assert_eq!(location(&passcode(&b, &seed.code_at(45)).await), "/prompt/trust", "inside the window");
    assert_eq!(counter(&app, "HOTP-1").await, 46);
    let b = fresh_login(&app, "ada").await;
    assert_eq!(passcode(&b, &seed.code_at(45)).await.status(), 422, "replay refused");
    assert_eq!(passcode(&b, &seed.code_at(44)).await.status(), 422, "skipped counters are gone too");
    assert_eq!(counter(&app, "HOTP-1").await, 46, "counters only move forward");
    let settings = b.get_html("/prompt").await;
    assert!(settings.contains("Token HOTP-1") || settings.contains("My token"), "{settings}");
}

#[tokio::test]
async fn a_totp_token_with_eight_digits_and_sixty_seconds_signs_in_once_per_step() {
    let app = spawn_app().await;
    inventory(&app).await;
    at_the_wizard(&app, "ada").await;
    let code_at = |t: i64| {
        totp_rs::Builder::new()
            .with_algorithm(totp_rs::Algorithm::SHA1)
            .with_digits(8)
            .with_step_duration(60)
            .with_secret(RFC_SECRET.to_vec())
            .build_noncompliant()
            .generate(t as u64)
            .to_string()
    };
    let t = now();
    let r = claim(&app, "TOTP-1", &code_at(t), "").await;
    assert_eq!(location(&r), "/enroll/options");
    finish(&app).await;
    let b = fresh_login(&app, "ada").await;
    assert_eq!(passcode(&b, &code_at(t)).await.status(), 422, "the step used to claim it is spent");
    assert_eq!(location(&passcode(&b, &code_at(t + 60)).await), "/prompt/trust");
}

#[tokio::test]
async fn a_claimed_token_cannot_be_claimed_again_and_every_failure_looks_the_same() {
    let app = spawn_app().await;
    inventory(&app).await;
    let seed = HotpSeed::new(RFC_SECRET, 6);
    at_the_wizard(&app, "ada").await;
    assert_eq!(location(&claim(&app, "HOTP-1", &seed.code_at(0), &seed.code_at(1)).await), "/enroll/options");

    let bob = app.other_browser();
    let bob_id = at_the_wizard(&bob, "bob").await;
    let taken = claim(&bob, "HOTP-1", &seed.code_at(2), &seed.code_at(3)).await;
    assert_eq!(taken.status(), 422);
    let taken = taken.text().await.unwrap();
    let unknown = claim(&bob, "NO-SUCH-1", &seed.code_at(2), &seed.code_at(3)).await.text().await.unwrap();
    let wrong = claim(&bob, "TOTP-1", "12345678", "").await.text().await.unwrap();
    let message = "That serial number and passcode do not match a token you can add.";
    for page in [&taken, &unknown, &wrong] {
        assert!(page.contains(message), "{page}");
    }
    let row = twofold::store::users::by_id(&app.db, &bob_id).await.unwrap().unwrap();
    assert_eq!(row.failed_attempts, 3, "claim failures are counted towards the lockout");
    assert_eq!(counter(&app, "HOTP-1").await, 2, "bob's codes moved nothing");
}

#[tokio::test]
async fn concurrent_claims_of_one_token_have_exactly_one_winner() {
    let app = spawn_app().await;
    inventory(&app).await;
    let seed = HotpSeed::new(RFC_SECRET, 6);
    let mut browsers = Vec::new();
    for i in 0..5 {
        let b = app.other_browser();
        at_the_wizard(&b, &format!("user{i}")).await;
        browsers.push(b);
    }
    let tasks: Vec<_> = browsers
        .into_iter()
        .map(|b| {
            let (c0, c1) = (seed.code_at(0), seed.code_at(1));
            tokio::spawn(async move {
                let r = claim(&b, "HOTP-1", &c0, &c1).await;
                r.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
            })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        if t.await.unwrap() == "/enroll/options" {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn twenty_identical_token_codes_at_once_give_exactly_one_success() {
    let app = spawn_app().await;
    inventory(&app).await;
    let seed = HotpSeed::new(RFC_SECRET, 6);
    at_the_wizard(&app, "ada").await;
    claim(&app, "HOTP-1", &seed.code_at(0), &seed.code_at(1)).await;
    finish(&app).await;
    let results = app.concurrent_passcodes("ada", &seed.code_at(2), 20).await;
    assert_eq!(count_to(&results, "/prompt/trust"), 1, "{results:?}");
    assert_eq!(counter(&app, "HOTP-1").await, 3);
}

#[tokio::test]
async fn yubico_otps_sign_in_once_and_a_wrong_key_fails() {
    let app = spawn_app().await;
    inventory(&app).await;
    let key = hex::decode(YUBI_KEY).unwrap();
    let uid = hex::decode(YUBI_UID).unwrap();
    let otp = |use_counter: u16, session: u8| yubico_otp::generate("cccjgjgkhcbb", &key, &uid, use_counter, session);
    at_the_wizard(&app, "ada").await;
    assert_eq!(location(&claim(&app, "5123456", &otp(3, 0), "").await), "/enroll/options");
    finish(&app).await;

    let b = fresh_login(&app, "ada").await;
    let first = otp(3, 1);
    assert_eq!(location(&passcode(&b, &first).await), "/prompt/trust");
    let b = fresh_login(&app, "ada").await;
    assert_eq!(passcode(&b, &first).await.status(), 422, "replayed OTP");
    assert_eq!(passcode(&b, &otp(2, 9)).await.status(), 422, "an older power-up's OTP");
    let forged = yubico_otp::generate("cccjgjgkhcbb", &[7u8; 16], &uid, 9, 0);
    assert_eq!(passcode(&b, &forged).await.status(), 422, "wrong AES key");
    assert_eq!(location(&passcode(&b, &otp(4, 0)).await), "/prompt/trust");
    assert_eq!(counter(&app, "5123456").await, 4 << 8);
}

#[tokio::test]
async fn guessing_serial_numbers_locks_the_account_and_then_even_a_right_claim_is_refused() {
    let app = crate::helpers::spawn_app_with(|s| s.lockout.max_failures = 3).await;
    inventory(&app).await;
    let seed = HotpSeed::new(RFC_SECRET, 6);
    at_the_wizard(&app, "ada").await;
    for serial in ["GUESS-1", "GUESS-2", "GUESS-3"] {
        assert_eq!(claim(&app, serial, &seed.code_at(0), &seed.code_at(1)).await.status(), 422);
    }
    let r = claim(&app, "HOTP-1", &seed.code_at(0), &seed.code_at(1)).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Too many incorrect attempts."));
    assert_eq!(counter(&app, "HOTP-1").await, 0, "nothing was claimed");
}

#[tokio::test]
async fn thirty_wrong_claims_at_once_are_checked_no_more_than_the_lockout_allows() {
    let app = spawn_app().await;
    inventory(&app).await;
    let id = at_the_wizard(&app, "ada").await;
    let token = crate::helpers::csrf_in(&app.get_html("/enroll/token").await);
    let guesses = (0..30).map(|i| {
        let (app, token) = (&app, token.clone());
        async move {
            let code = format!("{:06}", 100_000 + i);
            let fields =
                [("csrf_token", token.as_str()), ("serial", "HOTP-1"), ("passcode", &code), ("next_passcode", &code)];
            app.post_raw("/enroll/token", &fields).await.status().as_u16()
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    assert!(statuses.iter().all(|s| *s == 422), "{statuses:?}");
    let row = twofold::store::users::by_id(&app.db, &id).await.unwrap().unwrap();
    assert_eq!(row.failed_attempts, 10, "reserved guesses only: the rest found the budget spent");
    assert!(row.locked_at.is_some());
    let checked = twofold::store::audit::for_user(&app.db, &id, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event == "enroll.token_claim" && e.detail.contains("failed attempt"))
        .count();
    assert_eq!(checked, 10);
}
