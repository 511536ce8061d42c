//! Failed password attempts per account and per address, for throttling online guessing.
//! Subjects are keyed hashes, so what people typed as a username is never stored.

use super::{Db, StoreError};

pub async fn record(db: &Db, subjects: &[&str], now: i64) -> Result<(), StoreError> {
    for subject in subjects {
        sqlx::query("INSERT INTO login_failures (subject, at) VALUES ($1, $2)")
            .bind(*subject)
            .bind(now)
            .execute(db.writes())
            .await?;
    }
    Ok(())
}

pub async fn count_since(db: &Db, subject: &str, since: i64) -> Result<i64, StoreError> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM login_failures WHERE subject = $1 AND at > $2")
        .bind(subject)
        .bind(since)
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}

/// After a correct password the account's count starts again (the address's does not).
pub async fn clear(db: &Db, subject: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM login_failures WHERE subject = $1").bind(subject).execute(db.writes()).await?;
    Ok(())
}

pub async fn purge_before(db: &Db, before: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM login_failures WHERE at <= $1").bind(before).execute(db.writes()).await?;
    Ok(done.rows_affected())
}
