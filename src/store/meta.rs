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
