//! Saved policy rules (key, value), overriding the configuration's defaults.

use super::{Db, StoreError};

pub async fn all(db: &Db) -> Result<Vec<(String, String)>, StoreError> {
    Ok(sqlx::query_as("SELECT key, value FROM policies ORDER BY key").fetch_all(db.pool()).await?)
}

/// Saves the given rules in one transaction.
pub async fn save(db: &Db, rules: &[(&str, String)], by: &str, now: i64) -> Result<(), StoreError> {
    let mut tx = db.writes().begin().await?;
    for (key, value) in rules {
        sqlx::query(
            "INSERT INTO policies (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by",
        )
        .bind(*key)
        .bind(value)
        .bind(now)
        .bind(by)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
