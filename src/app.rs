//! Building the application from settings: open the database, unlock its data key, bind the
//! listener, wire middleware and routes. Nothing global; tests build as many as they like.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity, TtlExtensionPolicy};
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use url::Url;

use crate::channels::mail::Mailer;
use crate::clock::now;
use crate::config::Settings;
use crate::data_key;
use crate::metrics::Metrics;
use crate::secrets::{Keys, MasterKey};
use crate::shutdown::{STOP_TIMEOUT, Shutdown};
use crate::signin::{Channels, SignIn};
use crate::store::{self, Backend, Db, EventSink};
use crate::web::middleware::{request_span, same_origin_only, security_headers};
use crate::web::session::DbSessionStore;
use crate::web::state::AppState;
use crate::web::{routes, setup};

/// Opens the database named by the settings, applies migrations and unlocks its data key with the
/// master key (or `previous_master_key`). Used by `serve` and by every CLI command, so they all
/// read the same configuration.
pub async fn open(settings: &Settings) -> anyhow::Result<(Db, Keys)> {
    let (master, previous) = master_keys(settings)?;
    let db = connect(settings).await?;
    // Refuses to start with a key that does not open the data key, instead of reading garbage.
    let (data, _) = data_key::unlock(&db, &master, previous.as_ref()).await?;
    let keys = Keys::new(&data);
    let sealed =
        crate::store::phone_numbers::seal_stored_once(&db, &keys).await.context("sealing stored phone numbers")?;
    if sealed > 0 {
        tracing::info!(rows = sealed, "phone numbers stored in clear by an older version are now sealed");
    }
    Ok((db, keys))
}

/// The configured master key (created in `data_dir` when none is set) and the previous one, if set.
pub fn master_keys(settings: &Settings) -> anyhow::Result<(MasterKey, Option<MasterKey>)> {
    if settings.database_url().starts_with("sqlite:") && settings.database_url.is_none() {
        private_dir(&settings.data_dir)?;
    }
    let master = match &settings.master_key {
        Some(text) => MasterKey::from_base64(text).context("TWOFOLD_MASTER_KEY / master_key")?,
        None => MasterKey::load_or_create(&settings.data_dir)?,
    };
    let previous = settings
        .previous_master_key
        .as_deref()
        .map(MasterKey::from_base64)
        .transpose()
        .context("TWOFOLD_PREVIOUS_MASTER_KEY / previous_master_key")?;
    Ok((master, previous))
}

/// The data directory, readable by its owner only: created 0700, and an existing one with wider
/// permissions is narrowed (it holds the database and perhaps the master key).
fn private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).with_context(|| format!("creating data directory {}", dir.display()))?;
    owner_only(dir, 0o700)
}

/// Narrows `path` to `mode` when group or others may read it (logged, since it changes a file).
fn owner_only(path: &std::path::Path, mode: u32) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let current = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
        if current.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("making {} private", path.display()))?;
            tracing::info!(path = %path.display(), "made private to the service's user");
        }
    }
    let _ = mode;
    Ok(())
}

/// The SQLite file, created 0600 before SQLite opens it: SQLite gives its `-wal` and `-shm` files
/// the database file's permissions, so all three are private to the service's user.
fn private_sqlite_file(url: &str) -> anyhow::Result<()> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        return Ok(());
    }
    let path = std::path::Path::new(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).with_context(|| format!("creating the database file {}", path.display()))?;
    owner_only(path, 0o600)
}

/// Connects to the database named by the settings and applies pending migrations.
pub async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    let url = settings.database_url();
    if url.starts_with("sqlite:") {
        private_sqlite_file(&url)?;
    }
    let db = Db::connect(&url).await.with_context(|| format!("connecting to the {} database", backend_name(&url)))?;
    db.migrate().await.context("applying database migrations")?;
    Ok(db)
}

fn backend_name(url: &str) -> &'static str {
    if url.starts_with("sqlite:") { "SQLite" } else { "PostgreSQL" }
}

pub struct Application {
    port: u16,
    metrics_port: Option<u16>,
    radius_port: Option<u16>,
    server: Server,
    metrics_server: Option<Server>,
    state: web::Data<AppState>,
    setup_link: Option<String>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        // A directory whose CA file does not read stops the start, not a sign-in.
        crate::directory::Directory::new(&settings.directory)?;
        let (db, keys) = open(&settings).await?;
        let listener =
            TcpListener::bind(settings.bind_addr()?).with_context(|| format!("binding {}", settings.bind))?;
        let address = listener.local_addr()?;
        let public_url = match settings.public_url()? {
            Some(url) => url,
            None => Url::parse(&format!("http://{address}"))?,
        };
        let logo = settings.institution.logo_file.as_deref().map(crate::config::Logo::load).transpose()?;
        let metrics = Arc::new(Metrics::new());
        let counted = metrics.clone();
        let db = db.with_event_sink(EventSink::new(move |event, outcome| counted.observe_event(event, outcome)));
        let mailer = Arc::new(Mailer::new(&settings.mail)?.count_failures_in(metrics.mail_failures.clone()));
        let shutdown = Arc::new(Shutdown::default());
        mailer.clone().spawn_sender(db.clone(), keys.clone(), shutdown.clone());
        let metrics_listener = match settings.metrics.bind_addr().map_err(anyhow::Error::msg)? {
            Some(addr) if settings.metrics.enabled => {
                Some(TcpListener::bind(addr).with_context(|| format!("binding metrics.bind {addr}"))?)
            }
            _ => None,
        };
        let metrics_port = metrics_listener.as_ref().map(|l| l.local_addr()).transpose()?.map(|a| a.port());
        let oidc = Arc::new(crate::oidc::Providers::new(&settings.oidc, &public_url)?);
        oidc.warm_up();
        let phones = Arc::new(crate::channels::telephony::Phones::new(
            &settings.telephony,
            &settings.institution.name,
            db.clone(),
            keys.clone(),
            public_url.clone(),
        )?);
        if phones.is_simulator() {
            tracing::warn!("telephony simulator: texts and calls are shown on /simulator/phone and reach no phone");
        }
        let channels = Channels { mailer, phones, shutdown };
        let signin = SignIn::new(db, keys, Arc::new(settings), public_url, channels);
        let radius = Arc::new(crate::radius::Clients::new(signin.clone()));
        let radius_socket = bind_radius(&signin.settings)?;
        let radius_addr = radius_socket.as_ref().map(|s| s.local_addr()).transpose()?;
        let entra_keys = Default::default();
        let state = web::Data::new(AppState { signin, logo, metrics, oidc, radius, radius_addr, entra_keys });
        if let Some(socket) = radius_socket {
            start_radius(&state, socket)?;
        }
        let radius_port = radius_addr.map(|a| a.port());
        let setup_link =
            if store::users::admin_exists(&state.db).await? { None } else { Some(setup::issue_link(&state).await?) };
        let server = server(state.clone(), listener)?;
        let metrics_server = metrics_listener.map(|l| metrics_server(state.clone(), l)).transpose()?;
        spawn_housekeeping(state.db.clone(), &state.shutdown);
        if let Some(directory) = state.directory.clone() {
            let countries = state.settings.telephony.allowed_countries.clone();
            directory.spawn_schedule(state.db.clone(), state.keys.clone(), countries, &state.shutdown);
        }
        Ok(Self { port: address.port(), metrics_port, radius_port, server, metrics_server, state, setup_link })
    }

    /// The port of the separate metrics listener (`metrics.bind`), when there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The RADIUS server's UDP port, when `radius.bind` is set.
    pub fn radius_port(&self) -> Option<u16> {
        self.radius_port
    }

    pub fn public_url(&self) -> &Url {
        &self.state.public_url
    }

    /// The one-time link to create the first administrator, when none exists yet.
    pub fn setup_link(&self) -> Option<&str> {
        self.setup_link.as_deref()
    }

    /// True when mail goes to the simulator's Outbox instead of an SMTP server.
    pub fn mail_simulator(&self) -> bool {
        self.state.mailer.is_simulator()
    }

    /// True when texts and calls go to the phone simulator instead of a carrier.
    pub fn phone_simulator(&self) -> bool {
        self.state.phones.is_simulator()
    }

    pub fn backend(&self) -> Backend {
        self.state.db.backend()
    }

    /// Serves until SIGTERM/SIGINT, then stops gracefully (see `crate::shutdown`): no new
    /// connections, long-polls answered at once, in-flight requests and background tasks given up
    /// to `STOP_TIMEOUT`. Returns Ok (exit status 0) after a graceful stop.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let mut served = tokio::spawn(self.server);
        let metrics = self.metrics_server.map(|m| (m.handle(), tokio::spawn(m)));
        let result = tokio::select! {
            r = &mut served => Some(r),
            _ = crate::shutdown::signal() => None,
        };
        let result = match result {
            Some(r) => r.map_err(std::io::Error::other).and_then(|r| r),
            None => {
                tracing::info!(timeout_seconds = STOP_TIMEOUT.as_secs(), "stopping: finishing in-flight requests");
                let began = tokio::time::Instant::now();
                // Stop accepting first, then wake the long-polls so their clients go elsewhere.
                let stopped = handle.stop(true);
                self.state.shutdown.raise();
                stopped.await;
                if !self.state.shutdown.tasks_done(began + STOP_TIMEOUT).await {
                    tracing::warn!("stopping: background tasks still running at the timeout");
                }
                served.await.map_err(std::io::Error::other).and_then(|r| r)
            }
        };
        self.state.shutdown.raise();
        if let Some((handle, task)) = metrics {
            // The metrics listener lives as long as the main one.
            handle.stop(true).await;
            let _ = task.await;
        }
        tracing::info!("stopped");
        result
    }
}

/// The RADIUS server's socket when `radius.bind` is set (bound before the state is built, so the
/// console can show the real address).
fn bind_radius(settings: &Settings) -> anyhow::Result<Option<std::net::UdpSocket>> {
    let Some(addr) = settings.radius.bind_addr()? else { return Ok(None) };
    let socket = std::net::UdpSocket::bind(addr).with_context(|| format!("binding radius.bind {addr}"))?;
    socket.set_nonblocking(true)?;
    Ok(Some(socket))
}

/// Starts the RADIUS server on its socket.
fn start_radius(state: &web::Data<AppState>, socket: std::net::UdpSocket) -> anyhow::Result<()> {
    let addr = socket.local_addr()?;
    let socket = tokio::net::UdpSocket::from_std(socket)?;
    let server = crate::radius::Server::new(socket, state.signin.clone(), state.radius.clone(), state.metrics.clone());
    tokio::spawn(server.run());
    tracing::info!(%addr, "RADIUS server listening");
    Ok(())
}

fn server(state: web::Data<AppState>, listener: TcpListener) -> anyhow::Result<Server> {
    let secure = state.secure_cookies();
    let cookie_key = Key::from(state.keys.cookie_key());
    let idle = actix_web::cookie::time::Duration::minutes(i64::from(state.settings.session.idle_timeout_minutes));
    let workers = state.settings.workers;
    let mut http = HttpServer::new(move || {
        let sessions = SessionMiddleware::builder(DbSessionStore { state: state.clone() }, cookie_key.clone())
            .cookie_name(if secure { "__Host-twofold".into() } else { "twofold_session".into() })
            .cookie_secure(secure)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_path("/".into())
            .cookie_content_security(CookieContentSecurity::Signed)
            .session_lifecycle(
                BrowserSession::default()
                    .state_ttl(idle)
                    .state_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
            )
            .build();
        App::new()
            .app_data(state.clone())
            .app_data(web::FormConfig::default().limit(16 * 1024))
            .app_data(web::PayloadConfig::default().limit(64 * 1024))
            .wrap(sessions)
            // Outside the sessions: the session (and the user) are read once the body is in.
            .wrap(from_fn(crate::web::body::read_first))
            .wrap(from_fn(same_origin_only))
            .wrap(security_headers(secure))
            .wrap(from_fn(request_span))
            .configure(routes)
    })
    .shutdown_timeout(STOP_TIMEOUT.as_secs())
    // A long-poll's answer is written after its head (see `prompt::push`): with Nagle's algorithm
    // on, that small second write waited for the client's delayed ACK (~20 ms a push round trip).
    .tcp_nodelay(true)
    // `run_until_stopped` handles the signals: it raises the shutdown flag as well.
    .disable_signals();
    if let Some(n) = workers {
        http = http.workers(n);
    }
    Ok(http.listen(listener)?.run())
}

/// The separate metrics listener: `/metrics`, `/healthz` and `/readyz`, nothing else.
fn metrics_server(state: web::Data<AppState>, listener: TcpListener) -> anyhow::Result<Server> {
    let http = HttpServer::new(move || App::new().app_data(state.clone()).configure(crate::web::ops::metrics_routes))
        .workers(1)
        .shutdown_timeout(5)
        .disable_signals();
    Ok(http.listen(listener)?.run())
}

/// Deletes expired sessions and old password failures now and then (expired sessions are
/// already refused on load).
/// Each purge is one statement; the task stops between them.
fn spawn_housekeeping(db: Db, shutdown: &Arc<Shutdown>) {
    let stop = shutdown.clone();
    shutdown.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.raised() => return,
            }
            if let Err(e) = store::sessions::purge_expired(&db, now()).await {
                tracing::warn!(error = %e, "could not purge expired sessions");
            }
            // Removed devices can be put back for a week ("This wasn't me"), then they are gone.
            if let Err(e) = store::devices::purge_removed_before(&db, now() - 8 * 86_400).await {
                tracing::warn!(error = %e, "could not purge removed devices");
            }
            // Telephony budgets look back one hour.
            if let Err(e) = store::phone_sends::purge_before(&db, now() - 86_400).await {
                tracing::warn!(error = %e, "could not purge old telephony sends");
            }
            // Password failures older than a day no longer matter to any throttle window.
            if let Err(e) = store::login_attempts::purge_before(&db, now() - 86_400).await {
                tracing::warn!(error = %e, "could not purge old password failures");
            }
            // Auth API transactions are read by `auth_status` until they expire (5 minutes).
            if let Err(e) = store::applications::purge_expired_requests(&db, now()).await {
                tracing::warn!(error = %e, "could not purge expired Auth API requests");
            }
            // A used client assertion is remembered only until it would have expired anyway.
            if let Err(e) = store::used_assertions::purge_expired(&db, now()).await {
                tracing::warn!(error = %e, "could not purge used client assertions");
            }
            // Universal Prompt codes live 60 seconds; keep a day for inspection, then drop them.
            if let Err(e) = store::universal_codes::delete_old(&db, now()).await {
                tracing::warn!(error = %e, "could not purge old Universal Prompt codes");
            }
        }
    });
}
