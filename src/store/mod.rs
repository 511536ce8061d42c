//! The storage boundary: every SQL statement lives under this module, in portable SQL that runs
//! unchanged on SQLite and PostgreSQL through sqlx's `Any` driver. One file per aggregate.

pub mod admin_logs;
pub mod admin_phones;
pub mod application_policies;
pub mod applications;
pub mod attempts;
pub mod audit;
pub mod backup_codes;
pub mod change_reports;
pub mod changes;
pub mod devices;
pub mod directory;
pub mod enrollments;
pub mod fraud_reports;
pub mod held_uploads;
pub mod import;
pub mod invitations;
pub mod last_methods;
pub mod login_attempts;
pub mod meta;
pub mod oidc;
pub mod one_time_codes;
pub mod openid;
pub mod outbox;
pub mod phone_calls;
pub mod phone_codes;
pub mod phone_devices;
pub mod phone_numbers;
pub mod phone_sends;
pub mod phone_texts;
pub mod policies;
pub mod push_devices;
pub mod push_requests;
pub mod radius_clients;
pub mod rate_limits;
pub mod scim;
pub mod scim_connectors;
pub mod sessions;
pub mod setup_tokens;
pub mod staff_scopes;
pub mod tokens;
pub mod trusted_browsers;
pub mod universal_codes;
pub mod used_assertions;
pub mod users;
pub mod webauthn;
mod writer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (e.g. a username that is taken).
    #[error("already exists")]
    Conflict,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A write ran but its group's commit failed (or the writer is gone): nothing was stored.
    #[error("the database did not commit: {0}")]
    Commit(String),
    /// A sealed value (a phone number) could not be sealed or opened: wrong data key or tampered row.
    #[error("a sealed value could not be sealed or opened")]
    Sealed,
    /// The database server could not be reached or refused the connection, with why.
    #[error("cannot connect to PostgreSQL at {server}: {cause}")]
    Unreachable { server: String, cause: String },
}

impl StoreError {
    /// Maps unique violations to `Conflict`, leaving every other error as it is.
    pub(crate) fn from_insert(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Database(err),
        }
    }
}

/// A handle on the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    /// Where writes go. On a SQLite file: a pool of one connection, so writers queue here in
    /// order instead of meeting SQLite's lock and sleeping in its busy handler; elsewhere the
    /// same pool as reads.
    writer: AnyPool,
    /// SQLite files only: writes given to `write` share commits (see `writer`).
    group: Option<writer::GroupCommit>,
    backend: Backend,
    changes: changes::ChangeFeed,
    pub(crate) events: EventSink,
}

/// Told the name and outcome of each audit event once it is stored (the server counts them as
/// metrics); nothing by default, e.g. in command-line tools.
#[derive(Clone, Default)]
pub struct EventSink(Option<Arc<EventFn>>);

type EventFn = dyn Fn(&str, &str) + Send + Sync;

impl EventSink {
    pub fn new(f: impl Fn(&str, &str) + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(f)))
    }

    pub(crate) fn tell(&self, event: &str, outcome: &str) {
        if let Some(f) = &self.0 {
            f(event, outcome);
        }
    }
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "EventSink(set)" } else { "EventSink(none)" })
    }
}

fn sqlite_setup(conn: &mut sqlx::AnyConnection) -> futures_util::future::BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;").await?;
        Ok(())
    })
}

/// A PostgreSQL connection idle for longer than this is pinged before it is handed out (the server
/// may have restarted, or a proxy dropped the connection); one used more recently is handed out as
/// it is. sqlx's default pings every connection on every hand-out, a round trip per query.
const POSTGRES_CHECK_AFTER_IDLE: Duration = Duration::from_secs(30);

fn postgres_check<'c>(
    conn: &'c mut sqlx::AnyConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> futures_util::future::BoxFuture<'c, Result<bool, sqlx::Error>> {
    Box::pin(async move {
        if meta.idle_for < POSTGRES_CHECK_AFTER_IDLE {
            return Ok(true);
        }
        // False drops the connection; the pool then hands out (or opens) another.
        Ok(sqlx::Connection::ping(conn).await.is_ok())
    })
}

/// One connection before the pool: its error names the cause (refused, unknown host, wrong
/// password, no such database), where the pool would only say it timed out after 10 seconds.
async fn postgres_reachable(url: &str, options: &AnyConnectOptions) -> Result<(), StoreError> {
    let server = url::Url::parse(url)
        .ok()
        .map(|u| format!("{}:{}", u.host_str().unwrap_or("localhost"), u.port().unwrap_or(5432)))
        .unwrap_or_else(|| "the configured address".into());
    let attempt =
        tokio::time::timeout(Duration::from_secs(10), <sqlx::AnyConnection as sqlx::Connection>::connect_with(options))
            .await;
    let cause = match attempt {
        Ok(Ok(conn)) => {
            let _ = sqlx::Connection::close(conn).await;
            return Ok(());
        }
        Ok(Err(sqlx::Error::Io(e))) => e.to_string(),
        Ok(Err(sqlx::Error::Database(e))) => e.message().to_string(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "no answer within 10 seconds".into(),
    };
    Err(StoreError::Unreachable { server, cause })
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Connects to `url` (`sqlite:` or `postgres://`). SQLite runs in WAL mode with foreign keys on.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
        let options = AnyConnectOptions::from_str(url)?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let (pool, writer) = match backend {
            Backend::Sqlite => {
                let readers = AnyPoolOptions::new()
                    .max_connections(8)
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(|conn, _| sqlite_setup(conn))
                    .connect_with(options.clone())
                    .await?;
                // WAL is a property of the database file: set once, kept across connections.
                readers.execute("PRAGMA journal_mode = WAL;").await?;
                let writer = if in_memory {
                    // Every connection to an in-memory database is a database of its own.
                    readers.clone()
                } else {
                    AnyPoolOptions::new()
                        .max_connections(1)
                        .test_before_acquire(false)
                        .acquire_timeout(Duration::from_secs(30))
                        .after_connect(|conn, _| sqlite_setup(conn))
                        .connect_with(options)
                        .await?
                };
                (readers, writer)
            }
            Backend::Postgres => {
                postgres_reachable(url, &options).await?;
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| postgres_check(conn, meta))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                (pool.clone(), pool)
            }
        };
        let group = (backend == Backend::Sqlite && !in_memory).then(|| writer::GroupCommit::start(writer.clone()));
        let changes = changes::ChangeFeed::new((backend == Backend::Postgres).then(|| url.to_string()));
        Ok(Self { pool, writer, group, backend, events: EventSink::default(), changes })
    }

    /// This handle, telling `events` of every audit event it stores.
    pub fn with_event_sink(mut self, events: EventSink) -> Self {
        self.events = events;
        self
    }

    /// True when the database answers a trivial query (readiness).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Applies pending migrations (PostgreSQL takes an advisory lock, so instances may race safely).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.writer).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.writer).await?,
        }
        Ok(())
    }

    /// Wakes waiters when something they wait on changed (see `changes`).
    pub fn changes(&self) -> &changes::ChangeFeed {
        &self.changes
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// For reads.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// For every statement that writes, and every transaction.
    pub(crate) fn writes(&self) -> &AnyPool {
        &self.writer
    }

    /// Runs `work` as one write transaction and returns once it is committed. On a SQLite file
    /// it shares its commit with the other writes waiting at that moment (group commit).
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut sqlx::AnyConnection) -> futures_util::future::BoxFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
    {
        self.write_with(true, work).await
    }

    /// `write` for work that is exactly one statement (atomic by itself: no savepoint, and on
    /// PostgreSQL no transaction of its own).
    pub(crate) async fn write_statement<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut sqlx::AnyConnection) -> futures_util::future::BoxFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
    {
        self.write_with(false, work).await
    }

    async fn write_with<T, F>(&self, savepoint: bool, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut sqlx::AnyConnection) -> futures_util::future::BoxFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
    {
        if let Some(group) = &self.group {
            return group.write(savepoint, work).await;
        }
        if !savepoint {
            // One statement commits by itself: no BEGIN and COMMIT round trips (PostgreSQL).
            let mut conn = self.writer.acquire().await?;
            return work(&mut conn).await;
        }
        let mut tx = self.writer.begin().await?;
        let value = work(&mut tx).await?;
        tx.commit().await?;
        Ok(value)
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}
