//! The LDAP/Active Directory directory (issue 18) against a real OpenLDAP over StartTLS: passwords
//! checked by the directory at the portal (and why one is refused), the sync creating, updating
//! and disabling accounts with nested groups, a dry run, the command line and the console.

use std::process::Command;

use twofold::directory::Directory;
use twofold::directory::schedule::Run;
use twofold::directory::sync::{Options, Summary};
use twofold::domain::Username;
use twofold::store;

use crate::helpers::{PASSWORD, TestApp, element_text, location, spawn_app_with};
use crate::slapd::{Slapd, group, group_dn, person, user_dn};

/// Five people: Ada (in physics, which is in students; a mobile number), Old (password expired),
/// Gone (disabled: ppolicy's permanent lock), Reset (must change the password), Lockt (locked a
/// minute ago for an hour), and Bob (in no group).
fn people() -> String {
    let locked = chrono::Utc::now() - chrono::Duration::seconds(60);
    let locked = format!("pwdAccountLockedTime: {}\n", locked.format("%Y%m%d%H%M%SZ"));
    [
        person("ada", "Ada Lovelace", "ada-pw", "mobile: +1 204 474 8600\n"),
        person("old", "Old Timer", "old-pw", "pwdChangedTime: 20000101000000Z\n"),
        person("gone", "Gone Away", "gone-pw", "pwdAccountLockedTime: 000001010000Z\n"),
        person("reset", "Reset Me", "reset-pw", "pwdReset: TRUE\n"),
        person("lockt", "Locked Out", "lockt-pw", &locked),
        person("bob", "Bob Builder", "bob-pw", ""),
        group("physics", &[user_dn("ada")]),
        group("students", &[group_dn("physics"), user_dn("old"), user_dn("gone"), user_dn("reset"), user_dn("lockt")]),
    ]
    .concat()
}

async fn directory_app() -> (Slapd, TestApp) {
    let slapd = Slapd::start(&people()).await;
    let app = spawn_app_with(|s| slapd.configure(s)).await;
    (slapd, app)
}

fn directory(app: &TestApp) -> Directory {
    Directory::new(&app.settings.directory).expect("directory settings").expect("a directory")
}

async fn sync_with(app: &TestApp, directory: &Directory, options: Options) -> Summary {
    let countries = &app.settings.telephony.allowed_countries;
    let quiet = |_: usize, _: usize| {};
    match directory.sync_leased(&app.db, &app.keys, countries, &options, "test", &quiet).await.expect("sync") {
        Run::Done(summary) => summary,
        Run::Busy => panic!("the lease was held"),
    }
}

async fn sync(app: &TestApp) -> Summary {
    sync_with(app, &directory(app), Options::default()).await
}

async fn account(app: &TestApp, name: &str) -> store::users::UserRow {
    store::users::by_username(&app.db, &Username::parse(name).unwrap()).await.unwrap().expect("account exists")
}

async fn refused(app: &TestApp, name: &str, password: &str) -> (u16, String) {
    let response = app.login(name, password).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn the_portal_checks_directory_passwords_and_says_why_one_is_refused() {
    let (_slapd, app) = directory_app().await;
    // Not synced yet: the right password creates the account from the directory at once.
    assert_eq!(location(&app.login("ada", "ada-pw").await), "/prompt");
    let ada = account(&app, "ada").await;
    assert_eq!((ada.source.as_str(), ada.display_name.as_str()), ("directory", "Ada Lovelace"));
    assert_eq!(store::import::groups_of(&app.db, &ada.id).await.unwrap(), ["physics", "students"]);

    // The directory's mobile number is filled in at the wizard's phone step (verified as any other).
    assert_eq!(location(&app.post_form("/enroll/start", &[]).await), "/enroll/device-type");
    assert_eq!(location(&app.post_form("/enroll/device-type", &[("kind", "mobile")]).await), "/enroll/phone");
    let page = app.get_html("/enroll/phone").await;
    assert!(page.contains("value=\"+1 204-474-8600\""), "{page}");

    let fresh = app.other_browser();
    let (status, page) = refused(&fresh, "ada", "not-her-password").await;
    assert_eq!(status, 401);
    assert!(page.contains("Incorrect username or password"), "{page}");
    let (status, _) = refused(&fresh, "nobody", "whatever").await;
    assert_eq!(status, 401);

    sync(&app).await;
    for (name, words) in [
        ("old", "Your password has expired"),
        ("reset", "You must change your password"),
        ("gone", "Your account is disabled in the directory"),
        ("lockt", "Your account is locked in the directory"),
    ] {
        let (status, page) = refused(&app.other_browser(), name, &format!("{name}-pw")).await;
        assert_eq!(status, 403, "{name}");
        assert!(page.contains(words), "{name}: {page}");
    }
    let events = app.audit_events(&account(&app, "old").await.id).await;
    assert!(events.contains(&("login.password".into(), "failure".into())), "{events:?}");

    // Local accounts keep their local passwords.
    app.add_user("carol").await;
    assert_eq!(location(&app.other_browser().login("carol", PASSWORD).await), "/prompt");
}

#[tokio::test]
async fn a_sync_creates_updates_and_disables_accounts_and_a_dry_run_changes_nothing() {
    let (slapd, app) = directory_app().await;
    let dir = directory(&app);
    let planned = sync_with(&app, &dir, Options { user: None, dry_run: true }).await;
    assert_eq!((planned.seen, planned.created, planned.dry_run), (6, 6, true), "{}", planned.line());
    assert!(store::users::list(&app.db).await.unwrap().is_empty());

    let first = sync(&app).await;
    assert_eq!((first.created, first.updated, first.disabled), (6, 0, 0), "{}", first.line());
    let ada = account(&app, "ada").await;
    assert_eq!(ada.email, "ada@example.edu");
    assert!(ada.external_id.as_deref().is_some_and(|id| id.len() == 36), "entryUUID: {:?}", ada.external_id);
    assert_eq!(store::import::groups_of(&app.db, &ada.id).await.unwrap(), ["physics", "students"]);
    let sealed = store::directory::phone_suggestion(&app.db, &ada.id).await.unwrap().expect("a suggestion");
    assert!(!sealed.contains("474"), "the number is sealed at rest");
    assert_eq!(store::phone_numbers::open(&app.keys, Some(&ada.id), &sealed).unwrap(), "+12044748600");
    assert!(!account(&app, "gone").await.is_active(), "disabled in the directory");
    assert!(account(&app, "bob").await.is_active());

    // Nothing changed: nothing is written.
    let before = app.table_text("users", &["id", "username", "status", "source_fingerprint"]).await;
    let second = sync(&app).await;
    assert_eq!((second.unchanged, second.changed()), (6, false), "{}", second.line());
    assert_eq!(app.table_text("users", &["id", "username", "status", "source_fingerprint"]).await, before);

    // A new name in the directory; Bob leaves it; Ada's physics group leaves students.
    let people = "ou=people,dc=example,dc=edu";
    slapd.modify(&format!(
        "dn: uid=ada,{people}\nchangetype: modify\nreplace: displayName\ndisplayName: Ada King\n\n\
         dn: uid=bob,{people}\nchangetype: delete\n"
    ));
    let third = sync(&app).await;
    assert_eq!((third.updated, third.disabled), (1, 1), "{}", third.line());
    assert_eq!(account(&app, "ada").await.display_name, "Ada King");
    let bob = account(&app, "bob").await;
    assert!(!bob.is_active(), "disabled, never deleted");
    let events = app.audit_events(&bob.id).await;
    assert!(events.contains(&("user.disabled".into(), "info".into())), "{events:?}");

    // Only the members of students (nested groups followed) are synced.
    let mut settings = app.settings.directory.clone();
    settings.sync_group = Some(group_dn("students"));
    let scoped = Directory::new(&settings).unwrap().unwrap();
    let fourth = sync_with(&app, &scoped, Options::default()).await;
    assert_eq!((fourth.seen, fourth.changed()), (5, false), "{}", fourth.line());
    slapd.modify(&format!(
        "dn: cn=students,ou=groups,dc=example,dc=edu\nchangetype: modify\ndelete: member\nmember: {}\n",
        group_dn("physics")
    ));
    let fifth = sync_with(&app, &scoped, Options::default()).await;
    assert_eq!((fifth.disabled, fifth.updated), (1, 0), "{}", fifth.line());
    assert!(!account(&app, "ada").await.is_active(), "left the synced group");

    // One user: Bob, gone from the directory, stays disabled; a dry run of Ada changes nothing.
    let one = sync_with(&app, &dir, Options { user: Some("ada".into()), dry_run: true }).await;
    assert_eq!((one.seen, one.updated, one.dry_run), (1, 1, true), "{}", one.line());
    assert!(!account(&app, "ada").await.is_active());
    let one = sync_with(&app, &dir, Options { user: Some("ada".into()), dry_run: false }).await;
    assert_eq!(one.updated, 1, "{}", one.line());
    assert!(account(&app, "ada").await.is_active(), "back in scope without the group");
}

fn twofold(slapd: &Slapd, app: &TestApp, args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twofold"));
    cmd.args(args)
        .current_dir(dir.path())
        .env("TWOFOLD_DATA_DIR", &app.settings.data_dir)
        .env("TWOFOLD_MASTER_KEY", app.settings.master_key.as_deref().unwrap())
        .env("TWOFOLD_DATABASE_URL", &app.database_url)
        .env("TWOFOLD_LOG", "warn")
        .env("TWOFOLD_DIRECTORY__URL", format!("ldap://127.0.0.1:{}", slapd.port))
        .env("TWOFOLD_DIRECTORY__STARTTLS", "true")
        .env("TWOFOLD_DIRECTORY__CA_FILE", slapd.ca_file())
        .env("TWOFOLD_DIRECTORY__BIND_DN", crate::slapd::SERVICE_DN)
        .env("TWOFOLD_DIRECTORY__BASE_DN", crate::slapd::BASE);
    let secret = dir.path().join("bind-password");
    std::fs::write(&secret, format!("{}\n", crate::slapd::SERVICE_PASSWORD)).unwrap();
    cmd.env("TWOFOLD_DIRECTORY__BIND_PASSWORD_FILE", &secret);
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test]
async fn the_command_line_syncs_one_user_or_all_and_imports_leave_directory_accounts_alone() {
    let (slapd, app) = directory_app().await;
    let (ok, out) = twofold(&slapd, &app, &["directory", "sync", "--dry-run"]);
    assert!(ok && out.contains("dry run: 6 in the directory: 6 created"), "{out}");
    assert!(store::users::list(&app.db).await.unwrap().is_empty());
    let (ok, out) = twofold(&slapd, &app, &["directory", "sync", "--user", "ada"]);
    assert!(ok && out.contains("1 in the directory: 1 created"), "{out}");
    let (ok, out) = twofold(&slapd, &app, &["directory", "sync"]);
    assert!(ok && out.contains("5 created, 0 updated, 1 unchanged"), "{out}");
    assert!(out.contains("5/5"), "a progress bar: {out}");
    let (ok, out) = twofold(&slapd, &app, &["user", "show", "ada"]);
    assert!(ok && out.contains("Directory (LDAP/AD)"), "{out}");

    let csv = app.settings.data_dir.join("users.csv");
    std::fs::write(&csv, "username,display_name,email\nada,Someone Else,else@example.edu\n").unwrap();
    let (ok, out) = twofold(&slapd, &app, &["user", "import", csv.to_str().unwrap()]);
    assert!(!ok && out.contains("line 2: ada comes from the Directory (LDAP/AD)"), "{out}");
    assert_eq!(account(&app, "ada").await.display_name, "Ada Lovelace");
}

#[tokio::test]
async fn the_console_shows_each_source_and_syncs_now() {
    let (_slapd, app) = directory_app().await;
    let admin = app.other_browser();
    let (user, _) = admin.signed_in_user("root").await;
    app.sql(&format!("UPDATE users SET role = 'admin' WHERE id = '{}'", user.id)).await;

    let page = admin.get_html("/admin/users").await;
    assert!(page.contains("The directory has not been synced yet."), "{page}");
    let response = admin.post_form("/admin/directory/sync", &[]).await;
    assert_eq!(location(&response), "/admin/users?sync=started");
    let mut page = String::new();
    for _ in 0..100 {
        page = admin.get_html("/admin/users").await;
        if page.contains("Last directory sync") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(element_text(&page, "last-sync").contains("6 created"), "{page}");
    assert!(page.contains("<td>Directory (LDAP/AD)</td>") && page.contains("<td>Local</td>"), "{page}");

    let ada = account(&app, "ada").await;
    let page = admin.get_html(&format!("/admin/users/{}", ada.id)).await;
    assert_eq!(element_text(&page, "source"), "Directory (LDAP/AD)");
    assert!(page.contains("id=\"source-owned\""), "{page}");
    app.sql(&format!(
        "UPDATE users SET display_name = 'Edited Locally', source_fingerprint = 'x' WHERE id = '{}'",
        ada.id
    ))
    .await;
    let response = admin.post_form(&format!("/admin/users/{}/sync", ada.id), &[]).await;
    assert_eq!(location(&response), format!("/admin/users/{}", ada.id));
    assert_eq!(account(&app, "ada").await.display_name, "Ada Lovelace", "the directory's name is back");
    let own = admin.post_form(&format!("/admin/users/{}/sync", user.id), &[]).await;
    assert_eq!(own.status(), 409, "a local account has nothing to sync");
}

#[tokio::test]
async fn radius_asks_the_directory_for_the_password_and_says_why_one_is_refused() {
    use twofold::domain::radius::Mode;
    let slapd = Slapd::start(&people()).await;
    let app = crate::radius::radius_app_with(|c| c.mode = Mode::Challenge, |s| slapd.configure(s)).await;
    let wrong = crate::radius::ask(&app, "ada", "not-her-password", &[]).await;
    assert_eq!(crate::radius::code(&wrong), "Access-Reject", "{wrong}");
    assert_eq!(wrong["reply_message"], "Wrong username or password.");
    let right = crate::radius::ask(&app, "ada", "ada-pw", &[]).await;
    assert_ne!(right["reply_message"], "Wrong username or password.", "the directory's password passed: {right}");
    assert_eq!(account(&app, "ada").await.source, "directory", "synced at the first sign-in");
    let expired = crate::radius::ask(&app, "old", "old-pw", &[]).await;
    assert_eq!(crate::radius::code(&expired), "Access-Reject", "{expired}");
    assert!(
        expired["reply_message"].as_str().unwrap_or_default().starts_with("Your password has expired"),
        "{expired}"
    );
}

#[tokio::test]
async fn one_instance_at_a_time_holds_the_sync_lease() {
    let (_slapd, app) = directory_app().await;
    let db = &app.db;
    let t = crate::helpers::now();
    assert!(store::directory::take_lease(db, "directory-sync", "one", t + 3600, t).await.unwrap());
    assert!(!store::directory::take_lease(db, "directory-sync", "two", t + 3600, t).await.unwrap());
    // A sync asked for meanwhile (the console, the CLI, another instance's schedule) waits its turn.
    let countries = &app.settings.telephony.allowed_countries;
    let quiet = |_: usize, _: usize| {};
    let run = directory(&app).sync_leased(db, &app.keys, countries, &Options::default(), "test", &quiet).await;
    assert!(matches!(run, Ok(Run::Busy)), "{run:?}");
    store::directory::release_lease(db, "directory-sync", "one", "done", t).await.unwrap();
    assert_eq!(sync(&app).await.created, 6);
    // A lease a crashed instance left behind lapses.
    assert!(store::directory::take_lease(db, "directory-sync", "three", t + 10, t).await.unwrap());
    assert!(store::directory::take_lease(db, "directory-sync", "four", t + 3600, t + 11).await.unwrap());
}
