//! Test harness: `spawn_app()` starts Twofold on a random port with a fresh database — SQLite in
//! a temporary directory, or a new PostgreSQL database when TEST_DB=postgres — and gives
//! typed helpers for the pages a user visits.

use std::sync::OnceLock;

use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::redirect::Policy;
use reqwest::{Client, Response};
use twofold::app::Application;
use twofold::config::Settings;
use twofold::domain::{DisplayName, Email, Password, Role, Username};
use twofold::factors::totp::TotpSeed;
use twofold::secrets::{Keys, MasterKey};
use twofold::store::{self, Db, users::NewUser};

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// The RADIUS server's UDP port, when the test turned it on (`radius.bind`).
    pub radius_port: Option<u16>,
    pub client: Client,
    pub jar: Arc<Jar>,
    pub db: Db,
    pub setup_link: Option<String>,
    pub settings: Settings,
    pub database_url: String,
    /// The keys the app derives from its database's data key (for reading sealed rows).
    pub keys: Keys,
    _dir: tempfile::TempDir,
}

/// Which database the suite runs on: `TEST_DB=sqlite` (default) or `postgres`.
pub fn backend() -> &'static str {
    static BACKEND: OnceLock<String> = OnceLock::new();
    BACKEND.get_or_init(|| std::env::var("TEST_DB").unwrap_or_else(|_| "sqlite".into()))
}

/// The PostgreSQL server for tests (the machine's, with trust auth).
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh, empty database URL for one test: a new PostgreSQL database, or None for SQLite.
pub async fn fresh_database_url() -> Option<String> {
    if backend() != "postgres" {
        return None;
    }
    Some(fresh_postgres_url().await)
}

/// A new, empty PostgreSQL database, whatever TEST_DB says (for tests of PostgreSQL-only set-ups).
pub async fn fresh_postgres_url() -> String {
    use sqlx::Connection;
    let admin = postgres_admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("TEST_DB=postgres but PostgreSQL at {admin} is unreachable: {e}"));
    // scripts/test sets a prefix per run, so its clean-up drops only its own databases.
    let prefix = std::env::var("TEST_DB_PREFIX").unwrap_or_else(|_| "twofold_test_".into());
    let name = format!("{prefix}{}", twofold::secrets::new_id());
    sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await.expect("create test database");
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).expect("URL has a database");
    format!("{base}/{name}")
}

pub fn test_settings(dir: &std::path::Path, database_url: Option<String>) -> Settings {
    let mut settings = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        database_url,
        master_key: Some(MasterKey::generate().to_base64()),
        workers: Some(1),
        ..Settings::default()
    };
    settings.institution.name = "Example University".into();
    // Tests run with the telephony simulator, also when they set an https public_url.
    settings.telephony.allow_simulator = true;
    // Every test phone shares the fictional +1 204 555 01xx range; budget tests set their own limits.
    settings.telephony.budgets.per_prefix_per_hour = 10_000;
    settings.telephony.budgets.global_per_hour = 10_000;
    settings
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// With TEST_LOG set (e.g. TEST_LOG=debug), the servers' logs go to the test output.
fn init_test_logging() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
    });
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    init_test_logging();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(dir.path(), fresh_database_url().await);
    configure(&mut settings);
    let database_url = settings.database_url();
    let app = Application::build(settings.clone()).await.expect("application builds");
    let port = app.port();
    let radius_port = app.radius_port();
    let setup_link = app.setup_link().map(str::to_string);
    tokio::spawn(app.run_until_stopped());
    let (db, keys) = twofold::app::open(&settings).await.expect("open test database");
    let (client, jar) = new_client();
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        radius_port,
        client,
        jar,
        db,
        setup_link,
        settings,
        database_url,
        keys,
        _dir: dir,
    }
}

/// A browser-like client: keeps cookies, does not follow redirects (tests check where they go).
pub fn new_client() -> (Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let client = Client::builder().redirect(Policy::none()).cookie_provider(jar.clone()).build().expect("client");
    (client, jar)
}

/// A client that sends exactly the given Cookie header and keeps no cookies.
pub fn client_with_cookie_header() -> Client {
    Client::builder().redirect(Policy::none()).build().expect("client")
}

pub fn location(response: &Response) -> String {
    response.headers().get("location").expect("a Location header").to_str().unwrap().to_string()
}

/// The value of the first `name="csrf_token"` field on a page.
pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).unwrap_or_else(|| panic!("no CSRF token on the page:\n{html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// The text of the element with `id="…"` (used for the setup key).
pub fn element_text(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no #{id} on the page")) + marker.len();
    let rest = &html[start..];
    let open_end = rest.find('>').unwrap() + 1;
    rest[open_end..].split('<').next().unwrap().trim().to_string()
}

pub struct TestUser {
    pub id: String,
}

impl TestApp {
    /// A Twofold the test did not start itself (e.g. a `twofold serve` process) at `address`,
    /// with its settings, so the helpers can reach its database.
    pub async fn attach(address: String, settings: Settings) -> TestApp {
        let (db, keys) = twofold::app::open(&settings).await.expect("open the instance's database");
        let (client, jar) = new_client();
        let port = address.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or_default();
        TestApp {
            address,
            port,
            radius_port: None,
            client,
            jar,
            db,
            setup_link: None,
            database_url: settings.database_url(),
            settings,
            keys,
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    /// This browser talking to another instance at `address` (cookies are shared by every port
    /// of a host, as behind one load balancer).
    pub fn at(&self, address: &str) -> TestApp {
        TestApp {
            address: address.to_string(),
            port: address.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or_default(),
            radius_port: None,
            client: self.client.clone(),
            jar: self.jar.clone(),
            db: self.db.clone(),
            setup_link: None,
            settings: self.settings.clone(),
            database_url: self.database_url.clone(),
            keys: self.keys.clone(),
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The same app seen from another browser (a fresh cookie jar).
    pub fn other_browser(&self) -> TestApp {
        let (client, jar) = new_client();
        TestApp {
            address: self.address.clone(),
            port: self.port,
            radius_port: self.radius_port,
            client,
            jar,
            db: self.db.clone(),
            setup_link: self.setup_link.clone(),
            settings: self.settings.clone(),
            database_url: self.database_url.clone(),
            keys: self.keys.clone(),
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The Cookie header this browser would send.
    pub fn cookie_header(&self) -> String {
        let url: reqwest::Url = self.address.parse().unwrap();
        self.jar.cookies(&url).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_html(&self, path: &str) -> String {
        self.get(path).await.text().await.unwrap()
    }

    /// Posts a form as a browser would, with the session's CSRF token taken from `token_page`.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf_token().await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly the given fields (no CSRF token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client.post(self.url(path)).form(fields).send().await.expect("POST")
    }

    /// The session's CSRF token, read from a page that carries it.
    pub async fn csrf_token(&self) -> String {
        for path in ["/login", "/prompt", "/settings"] {
            let response = self.get(path).await;
            if response.status() == 200 {
                return csrf_in(&response.text().await.unwrap());
            }
        }
        panic!("no page with a CSRF token is reachable");
    }

    pub async fn add_user(&self, username: &str) -> TestUser {
        let name = Username::parse(username).unwrap();
        let email = Email::parse(&format!("{username}@example.edu")).unwrap();
        let display = DisplayName::parse(&format!("{username} Tester")).unwrap();
        let hash = twofold::passwords::hash(&Password::parse(PASSWORD).unwrap()).unwrap();
        let new = NewUser {
            username: &name,
            email: &email,
            display_name: &display,
            password_hash: Some(hash),
            role: Role::User,
            source: store::users::Source::Local,
        };
        let user = store::users::insert(&self.db, new, now()).await.expect("insert user");
        TestUser { id: user.id }
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        let token = csrf_in(&self.get_html("/login").await);
        self.post_raw("/login", &[("csrf_token", &token), ("username", username), ("password", password)]).await
    }

    /// Runs the wizard for a mobile phone (iPhone) and returns the seed read from "Can't scan the QR code?".
    pub async fn enroll_phone(&self) -> TotpSeed {
        assert_eq!(location(&self.post_form("/enroll/start", &[]).await), "/enroll/device-type");
        assert_eq!(location(&self.post_form("/enroll/device-type", &[("kind", "mobile")]).await), "/enroll/phone");
        self.verify_mobile_number().await;
        assert_eq!(location(&self.post_form("/enroll/platform", &[("platform", "iphone")]).await), "/enroll/install");
        assert_eq!(location(&self.post_form("/enroll/install", &[]).await), "/enroll/activate");
        let page = self.get_html("/enroll/activate").await;
        let seed = TotpSeed::from_base32(&element_text(&page, "setup-key")).expect("the page shows a base32 key");
        let code = seed.code_at(now() as u64);
        let response = self.post_form("/enroll/activate", &[("passcode", &code)]).await;
        assert_eq!(location(&response), "/enroll/options");
        let response = self.post_form("/enroll/options", &[("name", "My iPhone"), ("login_action", "ask")]).await;
        assert_eq!(location(&response), "/enroll/done");
        seed
    }

    /// Enters a passcode for the next time step (accepted by the ±1 drift rule, and newer than
    /// the step used during enrolment).
    pub async fn pass_second_factor(&self, seed: &TotpSeed) -> Response {
        let code = seed.code_at(now() as u64 + 30);
        self.post_form("/prompt/passcode", &[("passcode", &code)]).await
    }

    /// A user who has enrolled a phone and is fully signed in.
    pub async fn signed_in_user(&self, username: &str) -> (TestUser, TotpSeed) {
        let user = self.add_user(username).await;
        assert_eq!(location(&self.login(username, PASSWORD).await), "/prompt");
        let seed = self.enroll_phone().await;
        let response = self.pass_second_factor(&seed).await;
        assert_eq!(location(&response), "/prompt/trust");
        (user, seed)
    }

    pub async fn audit_events(&self, user_id: &str) -> Vec<(String, String)> {
        store::audit::for_user(&self.db, user_id, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.event, r.outcome))
            .collect()
    }
}

pub fn now() -> i64 {
    twofold::clock::now()
}

impl TestApp {
    /// Runs SQL directly against the app's database (for arranging time-dependent state).
    pub async fn sql(&self, query: &str) {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&self.database_url).await.expect("connect for SQL");
        sqlx::query(query).execute(&pool).await.expect("SQL runs");
        pool.close().await;
    }

    /// Every text value in a table, concatenated (to search the raw database for secrets).
    pub async fn table_text(&self, table: &str, columns: &[&str]) -> String {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&self.database_url).await.expect("connect for SQL");
        let select = columns.iter().map(|c| format!("COALESCE({c}, '')")).collect::<Vec<_>>().join(" || ' ' || ");
        let rows: Vec<(String,)> =
            sqlx::query_as(&format!("SELECT {select} FROM {table}")).fetch_all(&pool).await.expect("select");
        pool.close().await;
        rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join("\n")
    }

    /// The value of a cookie set by `response`, if any.
    pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }
}

impl TestApp {
    /// Changes every stored session's state map (values are JSON text, as actix-session keeps them).
    pub async fn edit_sessions(&self, edit: impl Fn(&mut std::collections::HashMap<String, String>)) {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&self.database_url).await.expect("connect for SQL");
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT id_hash, state FROM sessions").fetch_all(&pool).await.unwrap();
        for (id, state) in rows {
            let mut map: std::collections::HashMap<String, String> = serde_json::from_str(&state).unwrap();
            edit(&mut map);
            sqlx::query("UPDATE sessions SET state = $1 WHERE id_hash = $2")
                .bind(serde_json::to_string(&map).unwrap())
                .bind(id)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    }
}

pub async fn user_id(app: &TestApp, username: &str) -> String {
    store::users::by_username(&app.db, &Username::parse(username).unwrap()).await.unwrap().unwrap().id
}

impl TestApp {
    /// Signs `username` in with the password in `n` fresh browsers, then submits `code` at the
    /// prompt from all of them at the same moment. Returns each response's status and Location.
    pub async fn concurrent_passcodes(&self, username: &str, code: &str, n: usize) -> Vec<(u16, Option<String>)> {
        let mut requests = Vec::with_capacity(n);
        for _ in 0..n {
            let b = self.other_browser();
            assert_eq!(location(&b.login(username, PASSWORD).await), "/prompt");
            let token = csrf_in(&b.get_html("/prompt").await);
            requests.push(
                b.client.post(b.url("/prompt/passcode")).form(&[("csrf_token", token), ("passcode", code.to_string())]),
            );
        }
        let tasks: Vec<_> = requests
            .into_iter()
            .map(|r| {
                tokio::spawn(async move {
                    let response = r.send().await.unwrap();
                    let to = response.headers().get("location").map(|v| v.to_str().unwrap().to_string());
                    (response.status().as_u16(), to)
                })
            })
            .collect();
        let mut out = Vec::with_capacity(n);
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }
}

/// How many of `results` went on to `path`.
pub fn count_to(results: &[(u16, Option<String>)], path: &str) -> usize {
    results.iter().filter(|(_, to)| to.as_deref() == Some(path)).count()
}

/// A fresh fictional mobile number (+1 204 555 0100 to 0199), a different one for each call.
pub fn next_mobile_number() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 100;
    format!("+1204555{:04}", 100 + n)
}

impl TestApp {
    /// Every passcode texted to `e164` by the telephony simulator (read from its sealed store).
    pub async fn texted_codes(&self, e164: &str) -> Vec<String> {
        let keys = &self.keys;
        let mut codes = Vec::new();
        for text in store::phone_texts::recent(&self.db, &self.keys, 1000).await.unwrap() {
            if text.to_number != e164 {
                continue;
            }
            let body = twofold::channels::telephony::simulator::Simulator::open_body(keys, &text.id, &text.body)
                .expect("a simulated text opens");
            let digits: String = body.chars().map(|c| if c.is_ascii_digit() { c } else { ' ' }).collect();
            codes.extend(digits.split_whitespace().filter(|d| d.len() == 7).map(str::to_string));
        }
        codes
    }

    /// From the wizard's phone step: enters a fresh mobile number, confirms it, verifies the
    /// texted code and chooses to set up the app too. Returns the number (E.164).
    pub async fn verify_mobile_number(&self) -> String {
        let number = next_mobile_number();
        let r = self.post_form("/enroll/phone", &[("country", "CA"), ("number", &number)]).await;
        assert_eq!(location(&r), "/enroll/phone/confirm");
        assert_eq!(location(&self.post_form("/enroll/phone/confirm", &[]).await), "/enroll/phone/verify");
        assert_eq!(
            location(&self.post_form("/enroll/phone/verify", &[("action", "text")]).await),
            "/enroll/phone/verify"
        );
        let code = self.texted_codes(&number).await.pop().expect("a code was texted");
        let r = self.post_form("/enroll/phone/verify", &[("action", "code"), ("passcode", &code)]).await;
        assert_eq!(location(&r), "/enroll/phone/app");
        assert_eq!(location(&self.post_form("/enroll/phone/app", &[("choice", "app")]).await), "/enroll/platform");
        number
    }
}
