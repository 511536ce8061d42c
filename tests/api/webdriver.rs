//! A minimal WebDriver client for the browser test: starts chromedriver on a free port, opens
//! headless Chromium sessions and sends the few commands the test uses as JSON over reqwest.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::Method;
use serde_json::{Map, Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "chromedriver";
/// How long to wait for chromedriver and for pages.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(10);
pub const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver started for this test; on drop (also on panic) its browsers are closed and
/// it is stopped. Browser profiles live in its temporary directory.
pub struct ChromeDriver {
    child: Child,
    port: u16,
    http: reqwest::Client,
    dir: tempfile::TempDir,
    profiles: AtomicUsize,
    sessions: Mutex<Vec<String>>,
}

fn on_path(program: &str) -> bool {
    let paths = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&paths).any(|dir| dir.join(program).is_file())
}

impl ChromeDriver {
    pub fn start() -> Self {
        let mut missing = Vec::new();
        if !Path::new(CHROMIUM).exists() {
            missing.push(CHROMIUM);
        }
        if !on_path(CHROMEDRIVER) {
            missing.push("chromedriver (on PATH)");
        }
        if !missing.is_empty() {
            let missing = missing.join(" and ");
            if std::env::var_os("CI").is_some() {
                panic!(
                    "CI: the browser test needs {missing}, which this runner lacks. Install chromium and chromium-driver in the CI image."
                );
            }
            panic!(
                "the browser test needs {missing}. Install Chromium and its driver with: apt-get install -y chromium chromium-driver"
            );
        }
        let dir = tempfile::tempdir().expect("temp dir for chromedriver");
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", dir.path().join("chromedriver.log").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e}"));
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("WebDriver HTTP client");
        let mut driver =
            Self { child, port, http, dir, profiles: AtomicUsize::new(0), sessions: Mutex::new(Vec::new()) };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("chromedriver exited at start ({status}); see {}", driver.log_path().display());
            }
            assert!(
                started.elapsed() < PAGE_TIMEOUT,
                "chromedriver did not listen on port {port} within {PAGE_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("chromedriver.log")
    }

    /// A new browser with its own, fresh profile (so no cookies shared with any other).
    pub async fn new_session(&self, width: u32, height: u32) -> Browser<'_> {
        let n = self.profiles.fetch_add(1, Ordering::SeqCst);
        let profile = self.dir.path().join(format!("profile-{n}"));
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ]
        .map(String::from)
        .to_vec();
        args.push(format!("--window-size={width},{height}"));
        args.push(format!("--user-data-dir={}", profile.display()));
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
                "goog:loggingPrefs": { "browser": "ALL" },
            }}
        });
        let url = format!("http://127.0.0.1:{}/session", self.port);
        let value = self.send(Method::POST, &url, Some(capabilities)).await.unwrap_or_else(|e| {
            panic!("starting Chromium through chromedriver: {e}\n(log: {})", self.log_path().display())
        });
        let id = value["sessionId"].as_str().expect("a session id").to_string();
        self.sessions.lock().unwrap().push(id.clone());
        Browser { driver: self, id }
    }

    pub async fn send(&self, method: Method, url: &str, body: Option<Value>) -> Result<Value, String> {
        let mut request = self.http.request(method.clone(), url);
        if let Some(body) = body {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.to_string());
        }
        let response = request.send().await.map_err(|e| format!("{method} {url}: {e}"))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| format!("{method} {url}: {e}"))?;
        let json: Value =
            serde_json::from_slice(&bytes).map_err(|e| format!("{method} {url}: {status}, not JSON ({e})"))?;
        let value = json.get("value").cloned().unwrap_or(Value::Null);
        if !status.is_success() || value.get("error").is_some() {
            return Err(format!("{method} {url}: {status} {} ({})", value["error"], value["message"]));
        }
        Ok(value)
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // Close the browsers that are still open (a panic skipped their `close`), then stop.
        let open = std::mem::take(&mut *self.sessions.lock().unwrap_or_else(|e| e.into_inner()));
        for id in open {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let request = format!(
                    "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    self.port
                );
                if stream.write_all(request.as_bytes()).is_ok() {
                    let _ = stream.read_to_end(&mut Vec::new());
                }
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            eprintln!("--- last lines of the chromedriver log ---");
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().unwrap().port()
}

/// One browser window (a WebDriver session).
pub struct Browser<'d> {
    driver: &'d ChromeDriver,
    id: String,
}

/// A reference to an element on the current page.
pub struct Element(pub String);

impl Element {
    pub fn as_arg(&self) -> Value {
        let mut map = Map::new();
        map.insert(ELEMENT_KEY.into(), Value::String(self.0.clone()));
        Value::Object(map)
    }
}

impl Browser<'_> {
    pub async fn command(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("http://127.0.0.1:{}/session/{}{path}", self.driver.port, self.id);
        self.driver.send(method, &url, body).await
    }

    pub async fn goto(&self, url: &str) {
        self.command(Method::POST, "/url", Some(json!({ "url": url })))
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    pub async fn current_url(&self) -> Result<String, String> {
        Ok(self.command(Method::GET, "/url", None).await?.as_str().unwrap_or_default().to_string())
    }

    pub async fn find(&self, xpath: &str) -> Result<Element, String> {
        let value = self.command(Method::POST, "/element", Some(json!({ "using": "xpath", "value": xpath }))).await?;
        value[ELEMENT_KEY]
            .as_str()
            .map(|id| Element(id.to_string()))
            .ok_or_else(|| format!("no element reference in {value}"))
    }

    pub async fn element(
        &self,
        element: &Element,
        method: Method,
        what: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        self.command(method, &format!("/element/{}/{what}", element.0), body).await
    }

    pub async fn click(&self, element: &Element) -> Result<(), String> {
        self.element(element, Method::POST, "click", Some(json!({}))).await.map(drop)
    }

    pub async fn clear(&self, element: &Element) -> Result<(), String> {
        self.element(element, Method::POST, "clear", Some(json!({}))).await.map(drop)
    }

    pub async fn send_keys(&self, element: &Element, text: &str) -> Result<(), String> {
        self.element(element, Method::POST, "value", Some(json!({ "text": text }))).await.map(drop)
    }

    /// The rendered text (empty for hidden elements, as a person would see it).
    pub async fn text(&self, element: &Element) -> Result<String, String> {
        Ok(self.element(element, Method::GET, "text", None).await?.as_str().unwrap_or_default().to_string())
    }

    pub async fn attribute(&self, element: &Element, name: &str) -> Result<Option<String>, String> {
        Ok(self.element(element, Method::GET, &format!("attribute/{name}"), None).await?.as_str().map(str::to_string))
    }

    pub async fn displayed(&self, element: &Element) -> Result<bool, String> {
        Ok(self.element(element, Method::GET, "displayed", None).await? == json!(true))
    }

    pub async fn selected(&self, element: &Element) -> Result<bool, String> {
        Ok(self.element(element, Method::GET, "selected", None).await? == json!(true))
    }

    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        self.command(Method::POST, "/execute/sync", Some(json!({ "script": script, "args": args }))).await
    }

    /// A Chrome DevTools Protocol command, through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Result<Value, String> {
        self.command(Method::POST, "/goog/cdp/execute", Some(json!({ "cmd": cmd, "params": params }))).await
    }

    /// Adds a WebAuthn virtual authenticator (W3C WebAuthn §11.3), e.g.
    /// `{"protocol": "ctap2", "transport": "usb", "hasResidentKey": true, "hasUserVerification": true,
    /// "isUserVerified": true}`; returns its id.
    pub async fn add_virtual_authenticator(&self, options: Value) -> Result<String, String> {
        let value = self.command(Method::POST, "/webauthn/authenticator", Some(options)).await?;
        value.as_str().map(str::to_string).ok_or_else(|| format!("no authenticator id in {value}"))
    }

    /// The credentials a virtual authenticator holds (id, rpId, signCount …).
    pub async fn virtual_credentials(&self, authenticator: &str) -> Result<Value, String> {
        self.command(Method::GET, &format!("/webauthn/authenticator/{authenticator}/credentials"), None).await
    }

    pub async fn remove_virtual_authenticator(&self, authenticator: &str) -> Result<(), String> {
        self.command(Method::DELETE, &format!("/webauthn/authenticator/{authenticator}"), None).await.map(drop)
    }

    /// A PNG of the whole page, below the fold too.
    pub async fn full_page_png(&self) -> Vec<u8> {
        // The window's width (the page is laid out again without a scrollbar for the capture).
        let size = self
            .execute("return [window.innerWidth, document.documentElement.scrollHeight]", vec![])
            .await
            .expect("page size");
        let clip = json!({ "x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1 });
        let shot = self
            .cdp("Page.captureScreenshot", json!({ "format": "png", "captureBeyondViewport": true, "clip": clip }))
            .await
            .expect("screenshot");
        base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().expect("PNG data")).expect("base64 PNG")
    }

    pub async fn close(self) {
        self.command(Method::DELETE, "", None).await.unwrap_or_else(|e| panic!("closing the browser: {e}"));
        self.driver.sessions.lock().unwrap().retain(|id| *id != self.id);
    }
}
