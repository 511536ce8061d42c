//! Client assertions already used (`jti`, as a keyed hash with the application), kept until they
//! expire: inserting the hash decides the one request that may use an assertion.

use super::{Db, StoreError};

/// True for the first use of this assertion; false when it was used before.
pub async fn first_use(db: &Db, jti_hash: &str, expires_at: i64) -> Result<bool, StoreError> {
    let done = sqlx::query("INSERT INTO used_assertions (jti_hash, expires_at) VALUES ($1, $2)")
        .bind(jti_hash)
        .bind(expires_at)
        .execute(db.writes())
        .await
        .map_err(StoreError::from_insert);
    match done {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn purge_expired(db: &Db, now: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM used_assertions WHERE expires_at <= $1").bind(now).execute(db.writes()).await?;
    Ok(done.rows_affected())
}
