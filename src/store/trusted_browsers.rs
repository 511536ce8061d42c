//! Trusted browsers: an opaque random cookie whose keyed hash is stored here, bound to one user,
//! with an expiry and server-side revocation.

use sqlx::FromRow;

use super::{Db, StoreError};
use crate::secrets::new_id;

#[derive(Debug, Clone, FromRow)]
pub struct TrustedBrowserRow {
    pub id: String,
    pub user_id: String,
    pub user_agent: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

pub async fn insert(
    db: &Db,
    token_hash: &str,
    user_id: &str,
    user_agent: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO trusted_browsers (id, token_hash, user_id, user_agent, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id())
    .bind(token_hash)
    .bind(user_id)
    .bind(user_agent)
    .bind(now)
    .bind(now)
    .bind(expires_at)
    .execute(db.writes())
    .await?;
    Ok(())
}

/// True when this cookie is `user_id`'s, trusted after `trusted_since`, unexpired and not revoked.
pub async fn is_valid(
    db: &Db,
    token_hash: &str,
    user_id: &str,
    trusted_since: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM trusted_browsers WHERE token_hash = $1 AND user_id = $2 AND expires_at > $3 \
         AND revoked_at IS NULL AND created_at > $4",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(now)
    .bind(trusted_since)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.is_some())
}

/// Marks the user's browser with this cookie seen (on the caller's transaction: see `attempts`),
/// when it was trusted after `trusted_since`, is unexpired and not revoked; false otherwise.
pub(crate) async fn seen_on(
    c: &mut sqlx::AnyConnection,
    user_id: &str,
    token_hash: &str,
    trusted_since: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE trusted_browsers SET last_seen_at = $1 WHERE token_hash = $2 AND user_id = $3 AND expires_at > $4 \
         AND revoked_at IS NULL AND created_at > $5",
    )
    .bind(now)
    .bind(token_hash)
    .bind(user_id)
    .bind(now)
    .bind(trusted_since)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn revoke_all_for_user(db: &Db, user_id: &str, now: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("UPDATE trusted_browsers SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(db.writes())
        .await?;
    Ok(done.rows_affected())
}

/// The user's browsers that are still trusted (unexpired, not revoked), most recently seen first.
pub async fn list_for_user(db: &Db, user_id: &str, now: i64) -> Result<Vec<TrustedBrowserRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, user_agent, created_at, last_seen_at, expires_at FROM trusted_browsers \
         WHERE user_id = $1 AND expires_at > $2 AND revoked_at IS NULL ORDER BY last_seen_at DESC, id",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(db.pool())
    .await?)
}

/// Revokes one of the user's trusted browsers; false when it is not theirs or already revoked.
pub async fn revoke(db: &Db, user_id: &str, id: &str, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE trusted_browsers SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .bind(user_id)
    .execute(db.writes())
    .await?;
    Ok(done.rows_affected() == 1)
}
