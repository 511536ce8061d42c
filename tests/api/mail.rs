//! Mail: change notices with "This wasn't me", the simulator's Outbox page, and real delivery to
//! a real SMTP server (aiosmtpd, started by the test) with the outbox surviving a server that is down.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use twofold::channels::mail::Mailer;
use twofold::config::{MailMode, SmtpSecurity};
use twofold::secrets::Keys;

use crate::helpers::{PASSWORD, TestApp, location, now, spawn_app, spawn_app_with};

fn keys(app: &TestApp) -> Keys {
    app.keys.clone()
}

/// The opened bodies of the messages to `to`, oldest first.
async fn mail_to(app: &TestApp, to: &str) -> Vec<(String, String, String)> {
    let keys = keys(app);
    twofold::store::outbox::for_recipient(&app.db, to)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.subject, m.status, Mailer::open_body(&keys, &m.body).unwrap_or_default()))
        .collect()
}

fn link_in(body: &str) -> String {
    let start = body.find("/wasnt-me/").expect("a This wasn't me link");
    let token: String = body[start + "/wasnt-me/".len()..].chars().take_while(|c| !c.is_whitespace()).collect();
    format!("/wasnt-me/{token}")
}

async fn make_admin(app: &TestApp, username: &str) -> String {
    let user = app.add_user(username).await;
    app.sql(&format!("UPDATE users SET role = 'admin' WHERE id = '{}'", user.id)).await;
    user.id
}

#[tokio::test]
async fn adding_a_device_emails_the_user_with_a_this_wasnt_me_link() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    let mail = mail_to(&app, "ada@example.edu").await;
    assert_eq!(mail.len(), 1);
    let (subject, status, body) = &mail[0];
    assert_eq!(subject, "A device was added to your Example University account");
    assert_eq!(status, "simulated");
    assert!(body.contains("\"My iPhone\" was added to your account"));
    assert!(body.contains(&format!("{}/wasnt-me/", app.address)));
    let stored = app.table_text("outbox", &["body"]).await;
    assert!(!stored.contains("wasnt-me"), "bodies are sealed at rest");
}

#[tokio::test]
async fn this_wasnt_me_removes_an_added_device_ends_sessions_and_alerts_admins() {
    let app = spawn_app().await;
    make_admin(&app, "grace").await;
    let (user, _) = app.signed_in_user("ada").await;
    app.post_form("/prompt/trust", &[("choice", "trust")]).await;
    let link = link_in(&mail_to(&app, "ada@example.edu").await[0].2);

    // Opening the link changes nothing and signs nobody in.
    let reporter = app.other_browser();
    let page = reporter.get_html(&link).await;
    assert!(page.contains("Did you make this change?") && page.contains("This wasn't me"));
    assert_eq!(twofold::store::devices::count_for_user(&app.db, &user.id).await.unwrap(), 1);
    assert_eq!(location(&reporter.get("/settings").await), "/login");

    let response = reporter.post_form(&link, &[]).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("We removed the device"));
    assert_eq!(twofold::store::devices::count_for_user(&app.db, &user.id).await.unwrap(), 0);
    assert_eq!(location(&app.get("/settings").await), "/login", "every session ended");
    assert!(twofold::store::trusted_browsers::list_for_user(&app.db, &user.id, now()).await.unwrap().is_empty());
    assert!(app.audit_events(&user.id).await.iter().any(|(e, _)| e == "change.reported"));
    let alert = mail_to(&app, "grace@example.edu").await;
    assert_eq!(alert.len(), 1);
    assert!(alert[0].0.contains("ada did not make a device change"));

    // Single use.
    assert_eq!(reporter.post_form(&link, &[]).await.status(), 404);
    assert_eq!(reporter.get(&link).await.status(), 404);
}

#[tokio::test]
async fn this_wasnt_me_puts_a_removed_device_back() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in_user("ada").await;
    app.enroll_phone().await;
    let ids: Vec<String> =
        twofold::store::devices::list_for_user(&app.db, &user.id).await.unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(location(&app.post_form(&format!("/settings/devices/{}/remove", ids[0]), &[]).await), "/settings");
    assert_eq!(twofold::store::devices::count_for_user(&app.db, &user.id).await.unwrap(), 1);
    let removal = mail_to(&app, "ada@example.edu").await.into_iter().find(|m| m.0.contains("removed")).unwrap();
    let link = link_in(&removal.2);
    let reporter = app.other_browser();
    reporter.get(&link).await;
    assert!(reporter.post_form(&link, &[]).await.text().await.unwrap().contains("We put the device back"));
    let devices = twofold::store::devices::list_for_user(&app.db, &user.id).await.unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices.iter().filter(|d| d.is_default == 1).count(), 1);
}

#[tokio::test]
async fn an_unknown_or_expired_link_is_refused() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    assert_eq!(app.get("/wasnt-me/not-a-token").await.status(), 404);
    let link = link_in(&mail_to(&app, "ada@example.edu").await[0].2);
    app.sql(&format!("UPDATE change_reports SET expires_at = {}", now() - 1)).await;
    assert_eq!(app.get(&link).await.status(), 404);
}

#[tokio::test]
async fn backup_codes_are_announced_by_mail() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    app.post_form("/settings/backup-codes", &[]).await;
    let mail = mail_to(&app, "ada@example.edu").await;
    assert!(mail.iter().any(|m| m.0 == "New backup codes for your Example University account"));
}

#[tokio::test]
async fn the_outbox_page_is_for_administrators_and_says_it_is_a_simulator() {
    let app = spawn_app().await;
    app.signed_in_user("ada").await;
    assert_eq!(app.get("/admin/outbox").await.status(), 403);
    let admin = app.other_browser();
    make_admin(&admin, "grace").await;
    assert_eq!(location(&admin.login("grace", PASSWORD).await), "/prompt");
    let seed = admin.enroll_phone().await;
    admin.pass_second_factor(&seed).await;
    let page = admin.get_html("/admin/outbox").await;
    assert!(page.contains("Mail simulator."), "{page}");
    assert!(page.contains("A device was added to your Example University account"));
    assert!(page.contains("ada@example.edu"));
}

/// A real SMTP server (aiosmtpd) writing what it receives into a maildir.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpServer {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let maildir = tempfile::tempdir().unwrap();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut server = Self { child, port, maildir };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                let mut err = String::new();
                std::io::Read::read_to_string(server.child.stderr.as_mut().unwrap(), &mut err).ok();
                panic!("aiosmtpd exited ({status}): {err}\nInstall it with: python3 -m pip install aiosmtpd");
            }
            assert!(started.elapsed() < Duration::from_secs(10), "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn messages(&self) -> Vec<String> {
        let dir: PathBuf = self.maildir.path().join("mail").join("new");
        std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).collect())
            .unwrap_or_default()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_for<T>(mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "timed out");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn mail_is_delivered_to_a_real_smtp_server_and_then_wiped_from_the_outbox() {
    let smtp = SmtpServer::start();
    let port = smtp.port;
    let app = spawn_app_with(|s| {
        s.mail.mode = MailMode::Smtp;
        s.mail.smtp_host = "127.0.0.1".into();
        s.mail.smtp_port = port;
        s.mail.smtp_security = SmtpSecurity::None;
        s.mail.from = "Example MFA <mfa@example.edu>".into();
    })
    .await;
    app.signed_in_user("ada").await;
    let message = wait_for(async || smtp.messages().into_iter().next()).await;
    assert!(message.contains("To: ada@example.edu"), "{message}");
    assert!(
        message.contains("From: \"Example MFA\" <mfa@example.edu>")
            || message.contains("From: Example MFA <mfa@example.edu>"),
        "{message}"
    );
    assert!(message.contains("Subject: A device was added to your Example University account"), "{message}");
    assert!(message.contains("wasnt-me"), "{message}");
    let row = wait_for(async || {
        let rows = twofold::store::outbox::for_recipient(&app.db, "ada@example.edu").await.unwrap();
        rows.into_iter().find(|r| r.status == "sent")
    })
    .await;
    assert!(row.body.is_empty(), "the sealed body is wiped once delivered");
    assert!(row.sent_at.is_some());
}

#[tokio::test]
async fn mail_waits_in_the_outbox_while_the_smtp_server_is_down() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = spawn_app_with(|s| {
        s.mail.mode = MailMode::Smtp;
        s.mail.smtp_host = "127.0.0.1".into();
        s.mail.smtp_port = port;
        s.mail.smtp_security = SmtpSecurity::None;
    })
    .await;
    app.signed_in_user("ada").await;
    let row = wait_for(async || {
        let rows = twofold::store::outbox::for_recipient(&app.db, "ada@example.edu").await.unwrap();
        rows.into_iter().find(|r| r.attempts >= 1 && r.last_error.is_some())
    })
    .await;
    assert_eq!(row.status, "pending", "kept for a later attempt, not lost");
    assert!(!row.body.is_empty());
    // The user's action still succeeded.
    assert_eq!(app.get("/settings").await.status(), 200);
}

/// A "This wasn't me" report appears under "Fraud reports", where an administrator clears it or
/// locks the account.
#[tokio::test]
async fn a_report_becomes_a_fraud_report_that_administrators_handle() {
    let app = spawn_app().await;
    let (ada, _) = app.signed_in_user("ada").await;
    let link = link_in(&mail_to(&app, "ada@example.edu").await[0].2);
    let reporter = app.other_browser();
    reporter.get(&link).await;
    reporter.post_form(&link, &[]).await;

    let admin = app.other_browser();
    make_admin(&admin, "grace").await;
    admin.login("grace", PASSWORD).await;
    let seed = admin.enroll_phone().await;
    admin.pass_second_factor(&seed).await;
    assert!(admin.get_html("/admin/dashboard").await.contains(r#"id="stat-fraud">1<"#));
    let page = admin.get_html("/admin/fraud").await;
    assert!(
        page.contains("A device was added that the user did not add") && page.contains("mailto:ada@example.edu"),
        "{page}"
    );
    let id = page.split("action=\"/admin/fraud/").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert_eq!(location(&admin.post_form(&format!("/admin/fraud/{id}"), &[("action", "lock")]).await), "/admin/fraud");
    assert!(twofold::store::users::by_id(&app.db, &ada.id).await.unwrap().unwrap().locked_at.is_some());
    assert!(admin.get_html("/admin/dashboard").await.contains(r#"id="stat-fraud">0<"#));
    assert!(app.audit_events(&ada.id).await.iter().any(|(e, _)| e == "account.locked"));
    // Users cannot see or handle reports.
    let user = app.other_browser();
    user.signed_in_user("bob").await;
    assert_eq!(user.get("/admin/fraud").await.status(), 403);
    assert_eq!(user.post_form(&format!("/admin/fraud/{id}"), &[("action", "clear")]).await.status(), 403);
}

#[tokio::test]
async fn activation_emails_a_person_asks_for_have_a_budget_per_user_and_per_address() {
    let app = crate::helpers::spawn_app().await;
    app.add_user("ada").await;
    assert_eq!(crate::helpers::location(&app.login("ada", crate::helpers::PASSWORD).await), "/prompt");
    app.post_form("/enroll/start", &[]).await;
    app.post_form("/enroll/device-type", &[("kind", "tablet")]).await;
    app.post_form("/enroll/platform", &[("platform", "android")]).await;
    assert_eq!(
        crate::helpers::location(&app.post_form("/enroll/install", &[("app", "twofold")]).await),
        "/enroll/activate"
    );
    let token = crate::helpers::csrf_in(&app.get_html("/enroll/activate").await);
    // 25 requests at once for the same victim's address.
    let requests = (0..25).map(|_| {
        let (app, token) = (&app, token.clone());
        async move {
            let fields = [("csrf_token", token.as_str()), ("email", "victim@example.org")];
            app.post_raw("/enroll/activate/email", &fields).await.text().await.unwrap()
        }
    });
    let pages = futures_util::future::join_all(requests).await;
    let refused = pages.iter().filter(|p| p.contains("Too many activation emails")).count();
    assert_eq!(refused, 20, "five are sent, the rest refused");
    let queued = app.table_text("outbox", &["recipient"]).await;
    assert_eq!(queued.matches("victim@example.org").count(), 5, "{queued}");
}
