//! In a real browser, with Duo's official `duo_universal` Python client: a small web application
//! started by the test sends Ada to Twofold's Universal Prompt, Ada enters a passcode in headless
//! Chromium, and the application exchanges the code and shows her name.
//!
//! Needs python3 with `duo_universal` (`python3 -m pip install duo_universal`; scripts/test installs it).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use crate::browser_steps::{Screenshots, click_button, csp_violations, expect_heading, fill, main_text};
use crate::helpers::{PASSWORD, location, now, spawn_app};
use crate::universal::add_web_app;
use crate::webdriver::ChromeDriver;

/// The relying application: `/login?user=…` (the password is checked there) starts the prompt,
/// `/callback` exchanges the code with Duo's client and greets the user. Twofold runs on plain
/// HTTP on loopback here, so the client's https:// URL templates are pointed at http://.
const RELYING_APP: &str = r#"
import html, http.server, sys, urllib.parse
import duo_universal.client as duo

for name in ("API_HOST_URI_FORMAT", "OAUTH_V1_HEALTH_CHECK_ENDPOINT", "OAUTH_V1_AUTHORIZE_ENDPOINT", "OAUTH_V1_TOKEN_ENDPOINT"):
    setattr(duo, name, getattr(duo, name).replace("https://", "http://", 1))

client_id, client_secret, host = sys.argv[1:4]
server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
port = server.server_address[1]
client = duo.Client(client_id, client_secret, host, "http://127.0.0.1:%d/callback" % port)
client.health_check()
pending = {}

class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def page(self, status, text):
        body = ("<!doctype html><title>Wiki</title><main><h1>%s</h1></main>" % html.escape(text)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/login":
            state, nonce = client.generate_state(), client.generate_state()
            pending[state] = (q["user"], nonce)
            self.send_response(302)
            self.send_header("Location", client.create_auth_url(q["user"], state, nonce))
            self.end_headers()
        elif url.path == "/callback":
            if q.get("state") not in pending:
                return self.page(400, "Unknown state")
            user, nonce = pending.pop(q["state"])
            try:
                token = client.exchange_authorization_code_for_2fa_result(q["duo_code"], user, nonce)
            except duo.DuoException as e:
                return self.page(403, "Refused: %s" % e)
            self.page(200, "Welcome, %s" % token["preferred_username"])
        else:
            self.page(404, "Not found")

server.RequestHandlerClass = Handler
print(port, flush=True)
server.serve_forever()
"#;

/// Ends the relying application when the test ends, passed or failed.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_application_using_duos_universal_client_signs_ada_in_through_twofold() {
    let driver = ChromeDriver::start();
    let app = spawn_app().await;
    let web = add_web_app(&app, "Wiki", &[]).await;
    app.add_user("ada").await;
    assert_eq!(location(&app.login("ada", PASSWORD).await), "/prompt");
    let seed = app.enroll_phone().await;

    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("wiki.py");
    std::fs::write(&script, RELYING_APP).unwrap();
    let mut child = Command::new("python3")
        .arg(&script)
        .args([&web.ikey, &web.skey, &format!("127.0.0.1:{}", app.port)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let running = Running(child);
    // Off the test's runtime: the relying app's health check calls the server running on it.
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    let Ok(port) = line.trim().parse::<u16>() else {
        let mut err = String::new();
        stderr.read_to_string(&mut err).ok();
        panic!("the relying app did not start (python3 -m pip install duo_universal):\n{err}");
    };
    let application = twofold::store::applications::by_integration_key(&app.db, &web.ikey).await.unwrap().unwrap();
    let callback = format!("http://127.0.0.1:{port}/callback");
    twofold::store::applications::set_redirect_uris(&app.db, &application.id, std::slice::from_ref(&callback))
        .await
        .unwrap();

    let shots = Screenshots::from_env();
    let browser = driver.new_session(1280, 1000).await;
    let b = &browser;
    b.goto(&format!("http://127.0.0.1:{port}/login?user=ada")).await;
    expect_heading(b, "Choose an authentication method").await;
    assert!(main_text(b).await.contains("Verify it's you to continue to Wiki."));
    shots.take(b, "40-universal-prompt").await;
    fill(b, "Passcode", &seed.code_at(now() as u64 + 30)).await;
    click_button(b, "Verify").await;
    expect_heading(b, "Welcome, ada").await;
    assert!(b.current_url().await.unwrap().starts_with(&callback));
    assert_eq!(csp_violations(b).await, Vec::<String>::new());

    // The prompt's session ended with it: this browser is not signed in to the portal.
    b.goto(&app.url("/settings")).await;
    expect_heading(b, "Log in").await;
    browser.close().await;
    drop(running);
}
