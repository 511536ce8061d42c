//! The one-time link that creates the first administrator: stored as a keyed hash, single use.

use super::{Db, StoreError};

/// Replaces any earlier unused link with a new one.
pub async fn replace(db: &Db, token_hash: &str, now: i64, expires_at: i64) -> Result<(), StoreError> {
    let mut tx = db.writes().begin().await?;
    sqlx::query("DELETE FROM setup_tokens WHERE used_at IS NULL").execute(&mut *tx).await?;
    sqlx::query("INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// True while the link is unused and unexpired and no administrator exists (for showing the form).
pub async fn is_valid(db: &Db, token_hash: &str, now: i64) -> Result<bool, StoreError> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT token_hash FROM setup_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
         AND NOT EXISTS (SELECT 1 FROM users WHERE role = 'admin')",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.is_some())
}

/// Uses the link and creates the administrator in one transaction: the link works exactly once,
/// and a refused username leaves it unused. `None` when the link is used, expired or unknown, or
/// an administrator exists by now (made with `twofold admin grant`, say): the link is for the
/// first one only, and dies as soon as there is one.
pub async fn create_first_admin(
    db: &Db,
    token_hash: &str,
    admin: super::users::NewUser<'_>,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let mut tx = db.writes().begin().await?;
    let used = sqlx::query(
        "UPDATE setup_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3 \
         AND NOT EXISTS (SELECT 1 FROM users WHERE role = 'admin')",
    )
    .bind(now)
    .bind(token_hash)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if used.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(None);
    }
    let id = super::users::insert_on(&mut tx, admin, now).await?;
    tx.commit().await?;
    Ok(Some(id))
}
