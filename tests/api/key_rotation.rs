//! Master-key rotation with the real `twofold key rotate`: users keep signing in, the old key stops
//! opening the database, instances switch over with `previous_master_key`, databases from before
//! envelope encryption keep working, and processes starting together agree on one data key.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use twofold::app::Application;
use twofold::config::Settings;
use twofold::secrets::{DataKey, Keys, MasterKey};

use crate::helpers::{PASSWORD, TestApp, fresh_database_url, location, now, spawn_app, test_settings};
use crate::settings::generate_codes;

/// `twofold ARGS` on the settings' database with `key` as the master key.
fn twofold(settings: &Settings, key: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twofold"));
    cmd.args(args)
        .current_dir(&settings.data_dir)
        .env("TWOFOLD_DATA_DIR", &settings.data_dir)
        .env("TWOFOLD_DATABASE_URL", settings.database_url())
        .env("TWOFOLD_MASTER_KEY", key)
        .env("TWOFOLD_LOG", "warn")
        .env_remove("TWOFOLD_PREVIOUS_MASTER_KEY")
        .stdin(Stdio::null());
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("twofold runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// A server on the existing database with `key` as its master key (and `previous`, if any).
async fn serve(settings: &Settings, key: &str, previous: Option<&str>) -> TestApp {
    let mut settings = settings.clone();
    settings.master_key = Some(key.to_string());
    settings.previous_master_key = previous.map(str::to_string);
    let app = Application::build(settings.clone()).await.expect("the server starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp::attach(address, settings).await
}

/// A user with a phone and backup codes, all sealed or keyed before the rotation.
async fn enrolled_user(app: &TestApp) -> (twofold::factors::totp::TotpSeed, Vec<String>) {
    let (_, seed) = app.signed_in_user("ada").await;
    (seed, generate_codes(app).await)
}

/// Signs in from a fresh browser with a code from the phone, then with a backup code.
async fn signs_in(app: &TestApp, seed: &twofold::factors::totp::TotpSeed, backup_code: &str) {
    // The phone's last step was used before; this is only about the keys, so let the next one in.
    app.sql("UPDATE devices SET totp_last_step = NULL").await;
    let phone = app.other_browser();
    assert_eq!(location(&phone.login("ada", PASSWORD).await), "/prompt");
    let code = seed.code_at(now() as u64);
    assert_eq!(location(&phone.post_form("/prompt/passcode", &[("passcode", &code)]).await), "/prompt/trust");
    let paper = app.other_browser();
    assert_eq!(location(&paper.login("ada", PASSWORD).await), "/prompt");
    assert_eq!(location(&paper.post_form("/prompt/passcode", &[("passcode", backup_code)]).await), "/prompt/trust");
}

#[tokio::test]
async fn a_user_enrolled_before_rotation_signs_in_after_it_with_a_totp_code_and_a_backup_code() {
    let before = spawn_app().await;
    let old_key = before.settings.master_key.clone().unwrap();
    let (seed, codes) = enrolled_user(&before).await;

    let new_file = before.settings.data_dir.join("new-master.key");
    let out =
        run(&mut twofold(&before.settings, &old_key, &["key", "rotate", "--generate", new_file.to_str().unwrap()]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Rotated"), "{}", stdout(&out));
    let new_key = std::fs::read_to_string(&new_file).unwrap();
    assert!(MasterKey::from_base64(&new_key).is_ok());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&new_file).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(!stdout(&out).contains(new_key.trim()) && !stderr(&out).contains(new_key.trim()), "never printed");
    let rotations = twofold::store::audit::times_of(&before.db, "master_key.rotated", 0).await.unwrap();
    assert_eq!(rotations.len(), 1, "the rotation is audit-logged");

    let after = serve(&before.settings, &new_key, None).await;
    signs_in(&after, &seed, &codes[0]).await;
    let again =
        run(&mut twofold(&before.settings, &old_key, &["key", "rotate", "--generate", new_file.to_str().unwrap()]));
    assert!(!again.status.success(), "an existing key file is never overwritten");
}

#[tokio::test]
async fn after_rotation_the_old_key_alone_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path(), fresh_database_url().await);
    let (old_key, new_key) = (MasterKey::generate().to_base64(), MasterKey::generate().to_base64());
    assert!(run(&mut twofold(&settings, &old_key, &["migrate"])).status.success());

    let mut rotate = twofold(&settings, &old_key, &["key", "rotate", "--new-key-stdin"]);
    let mut child = rotate.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(format!("{new_key}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let refused = run(&mut twofold(&settings, &old_key, &["migrate"]));
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("master key does not match this database"), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("twofold key rotate"), "says what to do: {}", stderr(&refused));
    assert!(run(&mut twofold(&settings, &new_key, &["migrate"])).status.success());

    let stranger = MasterKey::generate().to_base64();
    let both_wrong = run(twofold(&settings, &stranger, &["migrate"])
        .env("TWOFOLD_PREVIOUS_MASTER_KEY", MasterKey::generate().to_base64()));
    assert!(!both_wrong.status.success());
    assert!(stderr(&both_wrong).contains("neither does previous_master_key"), "{}", stderr(&both_wrong));
    let to_itself = run(&mut twofold(&settings, &new_key, &["key", "rotate", "--to-master-key"]));
    assert!(!to_itself.status.success() && stderr(&to_itself).contains("nothing to rotate"), "{}", stderr(&to_itself));
}

#[tokio::test]
async fn instances_switch_over_with_the_old_key_as_previous_and_then_rotate_to_their_master_key() {
    let before = spawn_app().await;
    let old_key = before.settings.master_key.clone().unwrap();
    let (seed, codes) = enrolled_user(&before).await;
    let new_key = MasterKey::generate().to_base64();

    // Step 1: every instance gets the new key, with the old one as previous_master_key.
    let switched = serve(&before.settings, &new_key, Some(&old_key)).await;
    signs_in(&switched, &seed, &codes[0]).await;
    let warned = run(twofold(&before.settings, &new_key, &["migrate"]).env("TWOFOLD_PREVIOUS_MASTER_KEY", &old_key));
    assert!(warned.status.success(), "{}", stderr(&warned));
    assert!(stderr(&warned).contains("opened with previous_master_key"), "{}", stderr(&warned));

    // Step 2: the data key is wrapped with the instances' master key.
    let out = run(twofold(&before.settings, &new_key, &["key", "rotate", "--to-master-key"])
        .env("TWOFOLD_PREVIOUS_MASTER_KEY", &old_key));
    assert!(out.status.success(), "{}", stderr(&out));

    // Step 3: previous_master_key is no longer needed (and says so), and the old key alone is refused.
    let leftover = run(twofold(&before.settings, &new_key, &["migrate"]).env("TWOFOLD_PREVIOUS_MASTER_KEY", &old_key));
    assert!(leftover.status.success());
    assert!(stderr(&leftover).contains("remove previous_master_key"), "{}", stderr(&leftover));
    let after = serve(&before.settings, &new_key, None).await;
    signs_in(&after, &seed, &codes[1]).await;
    let refused = run(&mut twofold(&before.settings, &old_key, &["migrate"]));
    assert!(stderr(&refused).contains("master key does not match"), "{}", stderr(&refused));
}

#[tokio::test]
async fn a_database_from_before_envelope_encryption_keeps_working_and_then_rotates() {
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path(), fresh_database_url().await);
    let old_key = settings.master_key.clone().unwrap();
    // What earlier releases wrote: a check value sealed with keys derived from the master key itself.
    let db = twofold::app::connect(&settings).await.unwrap();
    let legacy = Keys::new(&DataKey::from_master(&MasterKey::from_base64(&old_key).unwrap()));
    let check = legacy.seal("master_key_check", b"twofold master key check v1").unwrap();
    twofold::store::meta::insert_if_absent(&db, "master_key_check", &check).await.unwrap();

    let first = serve(&settings, &old_key, None).await;
    let (seed, codes) = enrolled_user(&first).await;
    // Back to the exact pre-upgrade state: data sealed with the old derivation, no wrapped data key.
    first.sql("DELETE FROM meta WHERE key = 'data_key'").await;
    let meta = first.table_text("meta", &["key"]).await;
    assert!(meta.contains("master_key_check") && !meta.contains("data_key"), "{meta}");

    let upgraded = serve(&settings, &old_key, None).await;
    signs_in(&upgraded, &seed, &codes[0]).await;
    assert!(twofold::store::meta::get(&db, "data_key").await.unwrap().is_some(), "adopted on first start");

    let new_file = dir.path().join("new.key");
    let out = run(&mut twofold(&settings, &old_key, &["key", "rotate", "--generate", new_file.to_str().unwrap()]));
    assert!(out.status.success(), "{}", stderr(&out));
    let new_key = std::fs::read_to_string(&new_file).unwrap();
    let rotated = serve(&settings, &new_key, None).await;
    signs_in(&rotated, &seed, &codes[1]).await;
}

#[tokio::test]
async fn processes_starting_together_on_a_new_database_agree_on_one_data_key() {
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path(), fresh_database_url().await);
    let key = settings.master_key.clone().unwrap();
    // The schema exists and no data key yet: the processes race only for the data key.
    let db = twofold::app::connect(&settings).await.unwrap();
    // On PostgreSQL, hold the processes at their first look at `meta` and let them go together.
    let gate = match crate::helpers::backend() {
        "postgres" => {
            let pool = sqlx::PgPool::connect(&settings.database_url()).await.unwrap();
            let mut tx = pool.begin().await.unwrap();
            sqlx::query("LOCK TABLE meta IN ACCESS EXCLUSIVE MODE").execute(&mut *tx).await.unwrap();
            Some(tx)
        }
        _ => None,
    };
    let children: Vec<_> = (0..8)
        .map(|i| {
            twofold(&settings, &key, &["app", "add", &format!("App {i}")])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    if let Some(tx) = gate {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        tx.rollback().await.unwrap();
    }
    // Every process has finished before the database is read again.
    let outputs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let (_, keys) = twofold::app::open(&settings).await.unwrap();
    for out in outputs {
        assert!(out.status.success(), "{}", stderr(&out));
        let printed = stdout(&out);
        let field = |name: &str| {
            printed.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string()).expect("printed")
        };
        let (ikey, skey) = (field("Integration key:"), field("Secret key:"));
        let app = twofold::store::applications::by_integration_key(&db, &ikey).await.unwrap().unwrap();
        let opened =
            keys.open(&format!("app-secret:{}", app.id), &app.secret_key).expect("sealed with the one data key");
        assert_eq!(opened.as_slice(), skey.as_bytes());
    }
}
