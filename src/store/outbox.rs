//! The outbox: every outgoing message is a row first, then delivered by the background sender.
//! Claims are conditional updates, so two instances never send the same message at once.

use sqlx::FromRow;

use super::{Db, StoreError};
use crate::secrets::new_id;

#[derive(Debug, Clone, FromRow)]
pub struct OutboxRow {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    /// Sealed; empty once delivered.
    pub body: String,
    pub user_id: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

const COLUMNS: &str =
    "id, channel, recipient, subject, body, user_id, status, attempts, created_at, sent_at, last_error";

pub struct NewMessage<'a> {
    pub channel: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub sealed_body: &'a str,
    pub user_id: Option<&'a str>,
    /// "pending" (to be sent) or "simulated" (kept for the Outbox page).
    pub status: &'a str,
}

pub async fn insert(db: &Db, m: NewMessage<'_>, now: i64) -> Result<String, StoreError> {
    let mut conn = db.writes().acquire().await?;
    insert_on(&mut conn, &m, None, now).await
}

/// Inserts `m` (mailed for `purpose`, when a person asked for it) on the caller's connection.
async fn insert_on(
    c: &mut sqlx::AnyConnection,
    m: &NewMessage<'_>,
    purpose: Option<&str>,
    now: i64,
) -> Result<String, StoreError> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO outbox (id, channel, recipient, subject, body, user_id, status, attempts, next_attempt_at, created_at, \
         purpose) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10)",
    )
    .bind(&id)
    .bind(m.channel)
    .bind(m.recipient)
    .bind(m.subject)
    .bind(m.sealed_body)
    .bind(m.user_id)
    .bind(m.status)
    .bind(now)
    .bind(now)
    .bind(purpose)
    .execute(&mut *c)
    .await?;
    Ok(id)
}

/// A budget for mails people ask for: at most `per_user` from one user and `per_recipient` to one
/// address with this `purpose` since `since`.
pub struct Budget<'a> {
    pub purpose: &'a str,
    pub per_user: i64,
    pub per_recipient: i64,
    pub since: i64,
}

/// Queues a mail a person asked for, within the budget; false (nothing queued) past it. The
/// count and the insert are one transaction, serialised per user (its row is held), so a burst
/// of requests from one user cannot pass the budget together.
pub async fn insert_within(db: &Db, m: NewMessage<'_>, budget: Budget<'_>, now: i64) -> Result<bool, StoreError> {
    let mut tx = db.writes().begin().await?;
    if let Some(user_id) = m.user_id {
        sqlx::query("UPDATE users SET failed_attempts = failed_attempts WHERE id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
    }
    let (by_user, to_recipient): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM outbox WHERE purpose = $1 AND user_id = $2 AND created_at > $3), \
         (SELECT COUNT(*) FROM outbox WHERE purpose = $4 AND LOWER(recipient) = LOWER($5) AND created_at > $6)",
    )
    .bind(budget.purpose)
    .bind(m.user_id.unwrap_or(""))
    .bind(budget.since)
    .bind(budget.purpose)
    .bind(m.recipient)
    .bind(budget.since)
    .fetch_one(&mut *tx)
    .await?;
    if by_user >= budget.per_user || to_recipient >= budget.per_recipient {
        tx.rollback().await?;
        return Ok(false);
    }
    insert_on(&mut tx, &m, Some(budget.purpose), now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Claims the oldest message due for delivery for `lease` seconds, counting the attempt.
pub async fn claim_next(db: &Db, channel: &str, now: i64, lease: i64) -> Result<Option<OutboxRow>, StoreError> {
    let candidate: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM outbox WHERE channel = $1 AND status = 'pending' AND next_attempt_at <= $2 \
         AND (claimed_until IS NULL OR claimed_until < $3) ORDER BY created_at, id LIMIT 1",
    )
    .bind(channel)
    .bind(now)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    let Some((id,)) = candidate else { return Ok(None) };
    let claimed = sqlx::query(
        "UPDATE outbox SET claimed_until = $1, attempts = attempts + 1 \
         WHERE id = $2 AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < $3)",
    )
    .bind(now + lease)
    .bind(&id)
    .bind(now)
    .execute(db.writes())
    .await?;
    if claimed.rows_affected() != 1 {
        // Another instance took it first; the caller simply asks again.
        return Ok(None);
    }
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id = $1");
    Ok(sqlx::query_as(&sql).bind(&id).fetch_optional(db.pool()).await?)
}

/// Delivered: the body (which may hold one-time links) is wiped.
pub async fn mark_sent(db: &Db, id: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $1, body = '', claimed_until = NULL, last_error = NULL WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(db.writes())
        .await?;
    Ok(())
}

/// A failed attempt: try again at `retry_at`, or give up (status "failed") when `None`.
pub async fn mark_failed(db: &Db, id: &str, error: &str, retry_at: Option<i64>) -> Result<(), StoreError> {
    let error: String = error.chars().take(500).collect();
    match retry_at {
        Some(at) => {
            sqlx::query("UPDATE outbox SET next_attempt_at = $1, claimed_until = NULL, last_error = $2 WHERE id = $3")
                .bind(at)
                .bind(error)
                .bind(id)
                .execute(db.writes())
                .await?
        }
        None => {
            sqlx::query(
                "UPDATE outbox SET status = 'failed', body = '', claimed_until = NULL, last_error = $1 WHERE id = $2",
            )
            .bind(error)
            .bind(id)
            .execute(db.writes())
            .await?
        }
    };
    Ok(())
}

/// The newest messages, for the Outbox page.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1");
    Ok(sqlx::query_as(&sql).bind(limit).fetch_all(db.pool()).await?)
}

pub async fn for_recipient(db: &Db, recipient: &str) -> Result<Vec<OutboxRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE recipient = $1 ORDER BY created_at, id");
    Ok(sqlx::query_as(&sql).bind(recipient).fetch_all(db.pool()).await?)
}
