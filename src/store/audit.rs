//! The audit log: one row per security-relevant event. Never holds codes, seeds, cookies or passwords.

use sqlx::FromRow;

use super::{Db, StoreError};
use crate::domain::AuditEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Info,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Info => "info",
        }
    }
}

/// One event. `event` names are dotted: `login.password`, `mfa.passcode`, `enroll.complete`, ….
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub event: AuditEvent,
    pub outcome: Outcome,
    pub actor_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub username: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub detail: &'a str,
    /// The application's name, for requests made through the Auth API.
    pub application: Option<&'a str>,
}

impl<'a> Event<'a> {
    pub fn new(event: AuditEvent, outcome: Outcome) -> Self {
        Self { event, outcome, actor_id: None, user_id: None, username: None, ip: None, detail: "", application: None }
    }

    pub fn user(mut self, id: &'a str, username: &'a str) -> Self {
        self.user_id = Some(id);
        self.username = Some(username);
        self
    }

    pub fn actor(mut self, id: &'a str) -> Self {
        self.actor_id = Some(id);
        self
    }

    pub fn ip(mut self, ip: Option<&'a str>) -> Self {
        self.ip = ip;
        self
    }

    pub fn detail(mut self, detail: &'a str) -> Self {
        self.detail = detail;
        self
    }

    pub fn application(mut self, name: &'a str) -> Self {
        self.application = Some(name);
        self
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct AuditRow {
    pub at: i64,
    pub event: String,
    pub outcome: String,
    pub actor_id: Option<String>,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
    pub application: Option<String>,
}

/// An event owned, so it can be stored inside another write (see `users::record_failure`).
#[derive(Debug, Clone)]
pub struct Entry {
    event: AuditEvent,
    outcome: Outcome,
    actor_id: Option<String>,
    user_id: Option<String>,
    username: Option<String>,
    ip: Option<String>,
    detail: String,
    application: Option<String>,
}

impl From<Event<'_>> for Entry {
    fn from(e: Event<'_>) -> Self {
        let owned = |v: Option<&str>| v.map(str::to_string);
        Self {
            event: e.event,
            outcome: e.outcome,
            actor_id: owned(e.actor_id),
            user_id: owned(e.user_id),
            username: owned(e.username),
            ip: owned(e.ip),
            detail: e.detail.to_string(),
            application: owned(e.application),
        }
    }
}

impl Entry {
    /// Stores the entry on `c` (inside the caller's write).
    pub(crate) async fn insert(&self, c: &mut sqlx::AnyConnection, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (at, event, outcome, actor_id, user_id, username, ip, detail, application) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(now)
        .bind(self.event.as_str())
        .bind(self.outcome.as_str())
        .bind(&self.actor_id)
        .bind(&self.user_id)
        .bind(&self.username)
        .bind(&self.ip)
        .bind(&self.detail)
        .bind(&self.application)
        .execute(&mut *c)
        .await?;
        Ok(())
    }

    /// Tells the metrics, once the entry is committed.
    pub(crate) fn told(&self, db: &Db) {
        db.events.tell(self.event.as_str(), self.outcome.as_str());
    }
}

pub async fn record(db: &Db, e: Event<'_>, now: i64) -> Result<(), StoreError> {
    record_entry(db, Entry::from(e), now).await
}

pub async fn record_entry(db: &Db, entry: Entry, now: i64) -> Result<(), StoreError> {
    let entry = db
        .write_statement(move |c| {
            Box::pin(async move {
                entry.insert(c, now).await?;
                Ok(entry)
            })
        })
        .await?;
    entry.told(db);
    Ok(())
}

/// A user's newest entries. Ordered by time first, so the `(user_id, at)` index yields them in
/// order (by id alone, every entry of the user was read and sorted: 23 ms a page for a user with
/// thousands of failed attempts).
pub async fn for_user(db: &Db, user_id: &str, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT at, event, outcome, actor_id, user_id, username, ip, detail, application FROM audit_log \
         WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// Audit entries, newest first, optionally for one user and/or events starting with a prefix.
pub async fn search(
    db: &Db,
    user_id: Option<&str>,
    event_prefix: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    let prefix = event_prefix.map(|p| format!("{}%", p.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
    Ok(sqlx::query_as(
        "SELECT at, event, outcome, actor_id, user_id, username, ip, detail, application FROM audit_log \
         WHERE ($1 IS NULL OR user_id = $2) AND ($3 IS NULL OR event LIKE $4 ESCAPE '\\') \
         ORDER BY id DESC LIMIT $5 OFFSET $6",
    )
    .bind(user_id)
    .bind(user_id)
    .bind(prefix.as_deref())
    .bind(prefix.as_deref())
    .bind(limit)
    .bind(offset)
    .fetch_all(db.pool())
    .await?)
}

/// The times of `event` since `since` (bucketed by the caller, so no SQL date functions are needed).
pub async fn times_of(db: &Db, event: &str, since: i64) -> Result<Vec<i64>, StoreError> {
    let rows: Vec<(i64,)> = sqlx::query_as("SELECT at FROM audit_log WHERE event = $1 AND at > $2")
        .bind(event)
        .bind(since)
        .fetch_all(db.pool())
        .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}
