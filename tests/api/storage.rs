//! The storage boundary, checked on the database in use: secrets sealed at rest, session ids and
//! tokens hashed, single use under concurrency.

use crate::helpers::{PASSWORD, location, now, spawn_app};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use twofold::domain::AuditEvent;
use twofold::store::attempts::{self, Check, Consume, Guard, Refusal, Settled};
use twofold::store::audit::{Entry, Event, Outcome};

#[tokio::test]
async fn totp_seeds_are_sealed_and_never_stored_in_plain_text() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    let seed = app.enroll_phone().await;
    let base32 = seed.base32_grouped().replace(' ', "");
    let hex: String = seed.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let devices = app.table_text("devices", &["totp_secret"]).await;
    let enrollments = app.table_text("enrollments", &["totp_secret"]).await;
    for text in [&devices, &enrollments] {
        assert!(!text.contains(&base32) && !text.to_lowercase().contains(&hex));
        assert!(!text.contains(&base32[..16]));
    }
    assert!(!devices.trim().is_empty());
}

#[tokio::test]
async fn session_ids_are_stored_only_as_hashes() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    let cookie = app.cookie_header();
    let value = cookie.split("twofold_session=").nth(1).unwrap().split(';').next().unwrap();
    let stored = app.table_text("sessions", &["id_hash", "state"]).await;
    // The cookie is "<signature><id>"; neither it nor its tail appears in the table.
    assert!(!stored.contains(value));
    assert!(!stored.contains(&value[value.len() - 40..]));
}

#[tokio::test]
async fn setup_tokens_and_trust_cookies_are_stored_as_keyed_hashes() {
    let app = spawn_app().await;
    let link = app.setup_link.clone().unwrap();
    let token = link.rsplit('/').next().unwrap();
    assert!(!app.table_text("setup_tokens", &["token_hash"]).await.contains(token));
}

/// A guard for `attempts::settle`: a guess against a budget of `max`, locks never lifted.
fn guard(user_id: &str, max: i64) -> Guard {
    Guard {
        user_id: user_id.into(),
        guess: true,
        max_failures: max,
        unlock_before: None,
        session: None,
        sign_in: true,
        application: String::new(),
    }
}

fn no_audit<T>(_: &Settled<T>) -> Vec<Entry> {
    Vec::new()
}

#[tokio::test]
async fn a_step_is_consumed_exactly_once_under_concurrency() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    app.enroll_phone().await;
    let user = twofold::store::users::by_username(&app.db, &twofold::domain::Username::parse("ada").unwrap())
        .await
        .unwrap()
        .unwrap();
    let device = twofold::store::devices::list_for_user(&app.db, &user.id).await.unwrap().remove(0);
    let step = device.totp_last_step.unwrap() + 1;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (db, user_id, device_id) = (app.db.clone(), user.id.clone(), device.id.clone());
        tasks.push(tokio::spawn(async move {
            let check =
                move || Check { candidates: vec![(Consume::TotpStep { device_id, step }, ())], ..Check::default() };
            attempts::settle(&db, guard(&user_id, 100), now(), check, no_audit).await.unwrap()
        }));
    }
    let (mut wins, mut replays) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Settled::Accepted(()) => wins += 1,
            Settled::Failed { replayed: true, .. } => replays += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((wins, replays), (1, 19));
}

#[tokio::test]
async fn a_burst_of_guesses_never_checks_more_than_the_budget() {
    let app = spawn_app().await;
    let user = app.add_user("ada").await;
    let checked = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..80 {
        let (db, user_id, checked) = (app.db.clone(), user.id.clone(), checked.clone());
        tasks.push(tokio::spawn(async move {
            let check = move || {
                checked.fetch_add(1, Ordering::SeqCst);
                Check::<()>::default()
            };
            attempts::settle(&db, guard(&user_id, 10), now(), check, no_audit).await.unwrap()
        }));
    }
    let (mut failed, mut locked_now, mut refused) = (0, 0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Settled::Failed { locked_now: l, .. } => {
                failed += 1;
                locked_now += usize::from(l);
            }
            Settled::Refused(Refusal::Locked) => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(checked.load(Ordering::SeqCst), 10, "only reserved guesses are checked");
    assert_eq!((failed, refused, locked_now), (10, 70, 1));
    let row = twofold::store::users::by_id(&app.db, &user.id).await.unwrap().unwrap();
    assert!(row.locked_at.is_some());
    assert_eq!(row.failed_attempts, 10);
}

#[tokio::test]
async fn a_guess_made_after_the_lock_or_the_log_out_is_not_checked() {
    let app = spawn_app().await;
    let user = app.add_user("ada").await;
    twofold::store::users::lock(&app.db, &user.id, now()).await.unwrap();
    let never = || -> Check<()> { panic!("a guess against a locked account was checked") };
    let settled = attempts::settle(&app.db, guard(&user.id, 10), now(), never, no_audit).await.unwrap();
    assert!(matches!(settled, Settled::Refused(Refusal::Locked)), "{settled:?}");
    // An approval (no guess) needs an unlocked account too.
    let approval = Guard { guess: false, ..guard(&user.id, 10) };
    let settled = attempts::settle(&app.db, approval, now(), never, no_audit).await.unwrap();
    assert!(matches!(settled, Settled::Refused(Refusal::Locked)), "{settled:?}");
    // A lock older than the automatic unlock is lifted by the attempt itself.
    let lifted = Guard { unlock_before: Some(now() + 1), ..guard(&user.id, 10) };
    let settled = attempts::settle(&app.db, lifted, now(), Check::<()>::default, no_audit).await.unwrap();
    assert!(matches!(settled, Settled::Failed { attempts: 1, .. }), "{settled:?}");

    let other = app.add_user("grace").await;
    let ended = Guard { session: Some("no-such-session".into()), ..guard(&other.id, 10) };
    let settled = attempts::settle(&app.db, ended, now(), never, no_audit).await.unwrap();
    assert!(matches!(settled, Settled::Refused(Refusal::SessionEnded)), "{settled:?}");
    let row = twofold::store::users::by_id(&app.db, &other.id).await.unwrap().unwrap();
    assert_eq!(row.failed_attempts, 0, "nothing was counted");
}

#[tokio::test]
async fn concurrent_failures_are_all_counted() {
    let app = spawn_app().await;
    let user = app.add_user("ada").await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let db = app.db.clone();
        let id = user.id.clone();
        tasks.push(tokio::spawn(async move {
            let audit_id = id.clone();
            twofold::store::users::record_failure(&db, &id, 10, now(), move |attempts, locked| {
                // The failure's audit entries are stored in the same write, with its own count.
                let detail = format!("attempt {attempts}");
                let e = |name| Event::new(name, Outcome::Failure).user(&audit_id, "ada").detail(&detail).into();
                if locked {
                    vec![e(AuditEvent::MfaPasscode), e(AuditEvent::AccountLocked)]
                } else {
                    vec![e(AuditEvent::MfaPasscode)]
                }
            })
            .await
            .unwrap()
        }));
    }
    let mut locked_now = 0;
    let mut counts = Vec::new();
    for t in tasks {
        let (attempts, locked) = t.await.unwrap();
        counts.push(attempts);
        if locked {
            locked_now += 1;
        }
    }
    counts.sort();
    assert_eq!(counts, (1..=20).collect::<Vec<i64>>(), "each failure sees its own count");
    let row = twofold::store::users::by_id(&app.db, &user.id).await.unwrap().unwrap();
    assert_eq!(row.failed_attempts, 20);
    assert!(row.locked_at.is_some());
    assert_eq!(locked_now, 1, "exactly one failure is the one that locks");
    let entries = twofold::store::audit::search(&app.db, Some(&user.id), None, 100, 0).await.unwrap();
    let mut details: Vec<String> =
        entries.iter().filter(|e| e.event == "mfa.passcode").map(|e| e.detail.clone()).collect();
    details.sort_by_key(|d| d[8..].parse::<i64>().unwrap());
    assert_eq!(details, (1..=20).map(|n| format!("attempt {n}")).collect::<Vec<_>>());
    let locked: Vec<_> = entries.iter().filter(|e| e.event == "account.locked").collect();
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0].detail, "attempt 10", "the entry of the failure that locked");
}

#[tokio::test]
async fn sql_meta_characters_are_just_data() {
    let app = spawn_app().await;
    let response = app.login("ada'; DROP TABLE users; --", "x' OR '1'='1").await;
    assert_eq!(response.status(), 401);
    app.add_user("ada").await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");
}

#[tokio::test]
async fn rows_are_read_as_types_and_an_unknown_stored_value_is_an_error_not_a_guess() {
    let app = spawn_app().await;
    app.add_user("ada").await;
    app.login("ada", PASSWORD).await;
    app.enroll_phone().await;
    let id = crate::helpers::user_id(&app, "ada").await;
    let devices = twofold::store::devices::list_for_user(&app.db, &id).await.unwrap();
    assert_eq!(devices[0].kind, twofold::domain::DeviceKind::MobilePhone);
    assert_eq!(devices[0].login_action, twofold::domain::LoginAction::Ask);
    app.sql("UPDATE devices SET kind = 'toaster'").await;
    assert!(twofold::store::devices::list_for_user(&app.db, &id).await.is_err());
    let t = now();
    twofold::store::enrollments::start(&app.db, &id, t, t + 600).await.unwrap();
    app.sql("UPDATE enrollments SET step = 'somewhere'").await;
    assert!(twofold::store::enrollments::current(&app.db, &id, t).await.is_err());
}

#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_database_and_its_journal_files_are_private_to_the_service() {
    use std::os::unix::fs::PermissionsExt;
    // SQLite in a data directory someone made readable by all (0755), whatever TEST_DB says.
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let data_dir = dir.clone();
    let app = crate::helpers::spawn_app_with(move |s| {
        s.database_url = None;
        s.data_dir = data_dir;
    })
    .await;
    app.add_user("ada").await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");
    for name in ["twofold.db", "twofold.db-wal", "twofold.db-shm"] {
        let mode = std::fs::metadata(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")).permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{name} is {:o}", mode & 0o777);
    }
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "the data directory is {:o}", mode & 0o777);
}
