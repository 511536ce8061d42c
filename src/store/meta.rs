//! Small key/value facts about the installation itself (e.g. the master-key check value).

use sqlx::Row;

use super::{Db, StoreError};

pub async fn get(db: &Db, key: &str) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT value FROM meta WHERE key = $1").bind(key).fetch_optional(db.pool()).await?;
    Ok(row.map(|r| r.get::<String, _>(0)))
}

/// Inserts `value` unless the key is already set; returns the value in force afterwards.
pub async fn insert_if_absent(db: &Db, key: &str, value: &str) -> Result<String, StoreError> {
    sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(key)
        .bind(value)
        .execute(db.writes())
        .await?;
    Ok(get(db, key).await?.unwrap_or_default())
}

/// Replaces `expected` with `value` in one transaction, committed only when `verify` accepts the
/// value read back inside it. False (nothing changed) when the row no longer held `expected`, i.e.
/// another process changed it first, or when the value read back was not accepted.
pub async fn replace(
    db: &Db,
    key: &str,
    expected: &str,
    value: &str,
    verify: impl FnOnce(&str) -> bool,
) -> Result<bool, StoreError> {
    let mut tx = db.pool().begin().await?;
    let done = sqlx::query("UPDATE meta SET value = $1 WHERE key = $2 AND value = $3")
        .bind(value)
        .bind(key)
        .bind(expected)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    let row = sqlx::query("SELECT value FROM meta WHERE key = $1").bind(key).fetch_one(&mut *tx).await?;
    if !verify(&row.get::<String, _>(0)) {
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}
