//! Push requests: pending → approved / denied / fraud / timed_out / cancelled. Every move out of
//! `pending` is one conditional UPDATE, so of racing answers exactly one sets the final state.

use sqlx::FromRow;

use super::{Db, StoreError};
use crate::secrets::new_id;

#[derive(Debug, Clone, FromRow)]
pub struct PushRequestRow {
    pub id: String,
    pub user_id: String,
    pub number: String,
    pub status: String,
    pub application: String,
    pub username: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub answered_at: Option<i64>,
    pub device_id: Option<String>,
    pub consumed_at: Option<i64>,
    /// "login", or "verify" for the help desk's verification push (never signs anyone in).
    pub purpose: String,
    /// The staff member who sent a verification push.
    pub requested_by: Option<String>,
    /// A verification push's code, sealed (`signin::push::verification_context`).
    pub verification_sealed: Option<String>,
}

impl PushRequestRow {
    pub fn is_verification(&self) -> bool {
        self.purpose == VERIFY
    }
}

/// The purpose of the help desk's verification push.
pub const VERIFY: &str = "verify";

const COLUMNS: &str = "id, user_id, number, status, application, username, ip, user_agent, created_at, expires_at, \
                       answered_at, device_id, consumed_at, purpose, requested_by, verification_sealed";

pub struct NewPush<'a> {
    pub user_id: &'a str,
    pub number: &'a str,
    pub application: &'a str,
    pub username: &'a str,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub expires_at: i64,
    /// The session that started it (keyed hash of its id), which alone may use the approval.
    pub session: Option<&'a str>,
}

/// The topic a waiting prompt listens on.
pub fn topic(id: &str) -> String {
    format!("push:{id}")
}

pub async fn insert(db: &Db, p: NewPush<'_>, now: i64) -> Result<String, StoreError> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO push_requests (id, user_id, number, status, application, username, ip, user_agent, created_at, \
         expires_at, session_hash) VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&id)
    .bind(p.user_id)
    .bind(p.number)
    .bind(p.application)
    .bind(p.username)
    .bind(p.ip)
    .bind(p.user_agent)
    .bind(now)
    .bind(p.expires_at)
    .bind(p.session)
    .execute(db.writes())
    .await?;
    Ok(id)
}

/// A verification push from the help desk (`requested_by`) to `user_id`; the caller seals its
/// code with the returned id (`seal`), so the row is written once, complete.
pub async fn insert_verification(
    db: &Db,
    p: NewPush<'_>,
    requested_by: &str,
    seal: impl FnOnce(&str) -> Option<String>,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let id = new_id();
    let Some(sealed) = seal(&id) else { return Ok(None) };
    sqlx::query(
        "INSERT INTO push_requests (id, user_id, number, status, application, username, ip, user_agent, created_at, \
         expires_at, purpose, requested_by, verification_sealed) \
         VALUES ($1, $2, '', 'pending', $3, $4, NULL, NULL, $5, $6, 'verify', $7, $8)",
    )
    .bind(&id)
    .bind(p.user_id)
    .bind(p.application)
    .bind(p.username)
    .bind(now)
    .bind(p.expires_at)
    .bind(requested_by)
    .bind(&sealed)
    .execute(db.writes())
    .await?;
    Ok(Some(id))
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<PushRequestRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM push_requests WHERE id = $1");
    Ok(sqlx::query_as(&sql).bind(id).fetch_optional(db.pool()).await?)
}

/// Pushes created for the user since `since` (for the cap).
pub async fn count_since(db: &Db, user_id: &str, since: i64) -> Result<i64, StoreError> {
    let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM push_requests WHERE user_id = $1 AND created_at >= $2")
        .bind(user_id)
        .bind(since)
        .fetch_one(db.pool())
        .await?;
    Ok(row.0)
}

/// Pushes since `since` that did not end in an approval (denied, timed out, cancelled, pending).
pub async fn unapproved_since(db: &Db, user_id: &str, since: i64) -> Result<i64, StoreError> {
    let row: (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM push_requests WHERE user_id = $1 AND created_at >= $2 AND status <> 'approved'",
    )
    .bind(user_id)
    .bind(since)
    .fetch_one(db.pool())
    .await?;
    Ok(row.0)
}

/// Pushes waiting for an answer now, for every user (the metrics' gauge).
pub async fn count_pending(db: &Db, now: i64) -> Result<i64, StoreError> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM push_requests WHERE status = 'pending' AND expires_at > $1")
            .bind(now)
            .fetch_one(db.pool())
            .await?;
    Ok(n)
}

/// The user's requests still waiting for an answer, newest first.
pub async fn pending_for_user(db: &Db, user_id: &str, now: i64) -> Result<Vec<PushRequestRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM push_requests WHERE user_id = $1 AND status = 'pending' AND expires_at > $2 \
         ORDER BY created_at DESC, id LIMIT 20"
    );
    Ok(sqlx::query_as(&sql).bind(user_id).bind(now).fetch_all(db.pool()).await?)
}

/// Moves a pending, unexpired request to `status` (answered by `device_id`). True only for the
/// one caller that made the move; anyone later (or after expiry) gets false.
pub async fn answer(db: &Db, id: &str, status: &str, device_id: &str, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE push_requests SET status = $1, answered_at = $2, device_id = $3 \
         WHERE id = $4 AND status = 'pending' AND expires_at > $5",
    )
    .bind(status)
    .bind(now)
    .bind(device_id)
    .bind(id)
    .bind(now)
    .execute(db.writes())
    .await?;
    settled(db, id, done.rows_affected()).await
}

/// Marks a pending request past its expiry as timed out.
pub async fn time_out(db: &Db, id: &str, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE push_requests SET status = 'timed_out', answered_at = $1 WHERE id = $2 AND status = 'pending' \
         AND expires_at <= $3",
    )
    .bind(now)
    .bind(id)
    .bind(now)
    .execute(db.writes())
    .await?;
    settled(db, id, done.rows_affected()).await
}

/// Cancels a pending request (the user chose another method).
pub async fn cancel(db: &Db, id: &str, user_id: &str, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE push_requests SET status = 'cancelled', answered_at = $1 WHERE id = $2 AND user_id = $3 \
         AND status = 'pending'",
    )
    .bind(now)
    .bind(id)
    .bind(user_id)
    .execute(db.writes())
    .await?;
    settled(db, id, done.rows_affected()).await
}

/// Uses an approval to sign in (on the caller's transaction: see `attempts`): once only, by the
/// user it was for, and by the session that started it (`session`; none for an application's);
/// never a verification push (it proves the caller to the help desk, it signs no one in).
pub(crate) async fn consume_on(
    c: &mut sqlx::AnyConnection,
    id: &str,
    user_id: &str,
    session: Option<&str>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE push_requests SET consumed_at = $1 WHERE id = $2 AND user_id = $3 AND status = 'approved' \
         AND consumed_at IS NULL AND COALESCE(session_hash, '') = $4 AND purpose = 'login'",
    )
    .bind(now)
    .bind(id)
    .bind(user_id)
    .bind(session.unwrap_or(""))
    .execute(&mut *c)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    // The device that approved was just used.
    sqlx::query(
        "UPDATE devices SET last_used_at = $1 WHERE user_id = $2 AND id IN (SELECT device_id FROM push_requests WHERE id = $3)",
    )
    .bind(now)
    .bind(user_id)
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(true)
}

/// True when this caller's update settled the request; waiters on it are then woken.
async fn settled(db: &Db, id: &str, rows_affected: u64) -> Result<bool, StoreError> {
    let won = rows_affected == 1;
    if won {
        db.changes().publish(db, &topic(id)).await?;
    }
    Ok(won)
}
