//! "This wasn't me" links sent with change notices: single use, time limited, stored hashed.

use sqlx::FromRow;

use super::{Db, StoreError};

#[derive(Debug, Clone, FromRow)]
pub struct ChangeReportRow {
    pub user_id: String,
    pub kind: String,
    pub device_id: Option<String>,
    pub created_at: i64,
}

pub async fn insert(
    db: &Db,
    token_hash: &str,
    user_id: &str,
    kind: &str,
    device_id: Option<&str>,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO change_reports (token_hash, user_id, kind, device_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(kind)
    .bind(device_id)
    .bind(now)
    .bind(expires_at)
    .execute(db.writes())
    .await?;
    Ok(())
}

/// The report behind a link that is still usable.
pub async fn find_usable(db: &Db, token_hash: &str, now: i64) -> Result<Option<ChangeReportRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT user_id, kind, device_id, created_at FROM change_reports \
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db.pool())
    .await?)
}

/// Uses the link: true for exactly one caller.
pub async fn consume(db: &Db, token_hash: &str, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE change_reports SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(now)
    .bind(token_hash)
    .bind(now)
    .execute(db.writes())
    .await?;
    Ok(done.rows_affected() == 1)
}
