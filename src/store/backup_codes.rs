//! Backup codes: a set of ten per user, each single use. Only salted keyed hashes are stored.

use sqlx::FromRow;

use super::{Db, StoreError};
use crate::secrets::new_id;

#[derive(Debug, Clone, FromRow)]
pub struct BackupCodeRow {
    pub id: String,
    pub salt: String,
    pub code_hash: String,
}

/// Replaces the user's set with new (salt, hash) pairs in one transaction. When `session` (the
/// keyed hash of the asking session's id) is given, it must still exist: false, and nothing
/// changed, when it ended meanwhile (a log-out while the request was on its way).
pub async fn replace_set(
    db: &Db,
    user_id: &str,
    session: Option<&str>,
    codes: &[(String, String)],
    now: i64,
) -> Result<bool, StoreError> {
    let mut tx = db.writes().begin().await?;
    if let Some(session) = session
        && !super::sessions::hold_on(&mut tx, session, now).await?
    {
        tx.rollback().await?;
        return Ok(false);
    }
    // Serialise per user (row lock on PostgreSQL): two generations at once leave one set, not two.
    sqlx::query("UPDATE users SET failed_attempts = failed_attempts WHERE id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM backup_codes WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
    for (salt, hash) in codes {
        sqlx::query("INSERT INTO backup_codes (id, user_id, salt, code_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(new_id())
            .bind(user_id)
            .bind(salt)
            .bind(hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

pub async fn unused(db: &Db, user_id: &str) -> Result<Vec<BackupCodeRow>, StoreError> {
    Ok(sqlx::query_as("SELECT id, salt, code_hash FROM backup_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .fetch_all(db.pool())
        .await?)
}

/// Unused backup codes and usable temporary passcodes, in one query (the prompt shows both).
pub async fn counts(db: &Db, user_id: &str, now: i64) -> Result<(i64, i64), StoreError> {
    Ok(sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM backup_codes WHERE user_id = $1 AND used_at IS NULL), \
         (SELECT COUNT(*) FROM one_time_codes WHERE user_id = $2 AND uses_left > 0 AND expires_at > $3)",
    )
    .bind(user_id)
    .bind(user_id)
    .bind(now)
    .fetch_one(db.pool())
    .await?)
}

pub async fn count_unused(db: &Db, user_id: &str) -> Result<i64, StoreError> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM backup_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}

/// Marks one of the user's codes used (on the caller's transaction: see `attempts`). Single use:
/// only one of any number of concurrent calls returns true.
pub(crate) async fn consume_on(
    c: &mut sqlx::AnyConnection,
    user_id: &str,
    id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE backup_codes SET used_at = $1 WHERE id = $2 AND user_id = $3 AND used_at IS NULL")
        .bind(now)
        .bind(id)
        .bind(user_id)
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}
