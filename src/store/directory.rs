//! What a directory sync reads and writes (issue 18): every account's source, identifier and
//! fingerprint in one read; creates, updates and disables in transactions of a few hundred
//! accounts; and the lease that lets one instance at a time run a scheduled job.

use sqlx::FromRow;

use super::phone_numbers::SealedPhone;
use super::{Db, StoreError};

/// One account as the sync compares it.
#[derive(Debug, Clone, FromRow)]
pub struct Known {
    pub id: String,
    pub username: String,
    pub role: String,
    pub status: String,
    pub source: String,
    pub external_id: Option<String>,
    pub source_fingerprint: Option<String>,
}

/// Every account (a few columns each: 100,000 accounts are a few megabytes).
pub async fn known(db: &Db) -> Result<Vec<Known>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, username, role, status, source, external_id, source_fingerprint FROM users ORDER BY username",
    )
    .fetch_all(db.pool())
    .await?)
}

/// An account as the directory has it, to create (`create`) or to update.
#[derive(Debug, Clone)]
pub struct Write {
    pub id: String,
    pub create: bool,
    pub source: &'static str,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub external_id: String,
    pub fingerprint: String,
    pub active: bool,
    pub groups: Vec<String>,
    /// The mobile number, sealed for the account; `None` removes an earlier suggestion.
    pub phone: Option<SealedPhone>,
}

const BATCH: usize = 250;

/// Writes the accounts, `BATCH` to a transaction (a failure keeps the batches before it).
pub async fn write(db: &Db, writes: &[Write], now: i64) -> Result<(), StoreError> {
    for chunk in writes.chunks(BATCH) {
        let mut tx = db.writes().begin().await?;
        for w in chunk {
            let status = if w.active { "active" } else { "disabled" };
            if w.create {
                sqlx::query(
                    "INSERT INTO users (id, username, email, display_name, role, status, failed_attempts, created_at, \
                     source, external_id, source_fingerprint) VALUES ($1, $2, $3, $4, 'user', $5, 0, $6, $7, $8, $9)",
                )
                .bind(&w.id)
                .bind(&w.username)
                .bind(&w.email)
                .bind(&w.display_name)
                .bind(status)
                .bind(now)
                .bind(w.source)
                .bind(&w.external_id)
                .bind(&w.fingerprint)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_insert)?;
            } else {
                sqlx::query(
                    "UPDATE users SET username = $1, email = $2, display_name = $3, status = $4, source = $5, \
                     external_id = $6, source_fingerprint = $7, password_hash = NULL WHERE id = $8",
                )
                .bind(&w.username)
                .bind(&w.email)
                .bind(&w.display_name)
                .bind(status)
                .bind(w.source)
                .bind(&w.external_id)
                .bind(&w.fingerprint)
                .bind(&w.id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_insert)?;
                sqlx::query("DELETE FROM user_groups WHERE user_id = $1").bind(&w.id).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM phone_suggestions WHERE user_id = $1").bind(&w.id).execute(&mut *tx).await?;
            }
            for group in &w.groups {
                sqlx::query("INSERT INTO user_groups (user_id, group_name) VALUES ($1, $2)")
                    .bind(&w.id)
                    .bind(group)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some(phone) = &w.phone {
                sqlx::query(
                    "INSERT INTO phone_suggestions (user_id, phone, source, updated_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(&w.id)
                .bind(&phone.sealed)
                .bind(w.source)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            if !w.active {
                sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(&w.id).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Disables accounts the source no longer has (never deletes them), ends their sessions, and
/// forgets their fingerprint so that coming back is an update.
pub async fn disable(db: &Db, ids: &[String]) -> Result<(), StoreError> {
    for chunk in ids.chunks(BATCH) {
        let mut tx = db.writes().begin().await?;
        for id in chunk {
            sqlx::query("UPDATE users SET status = 'disabled', source_fingerprint = NULL WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// The mobile number a source suggested for the account (sealed; open it with
/// `phone_numbers::open`).
pub async fn phone_suggestion(db: &Db, user_id: &str) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> = sqlx::query_as("SELECT phone FROM phone_suggestions WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| r.0))
}

/// Takes the lease on job `name` for `holder` until `until`, unless another holder has it past
/// `now`. One conditional statement, so two instances cannot both take it.
pub async fn take_lease(db: &Db, name: &str, holder: &str, until: i64, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO job_leases (name, holder, until, last_started_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until, \
         last_started_at = excluded.last_started_at WHERE job_leases.until < $4 OR job_leases.holder = $2",
    )
    .bind(name)
    .bind(holder)
    .bind(until)
    .bind(now)
    .execute(db.writes())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives the lease back and records what the run did.
pub async fn release_lease(db: &Db, name: &str, holder: &str, summary: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE job_leases SET until = 0, last_finished_at = $1, last_summary = $2 WHERE name = $3 AND holder = $4",
    )
    .bind(now)
    .bind(summary)
    .bind(name)
    .bind(holder)
    .execute(db.writes())
    .await?;
    Ok(())
}

/// When job `name` last finished and what it did.
pub async fn last_run(db: &Db, name: &str) -> Result<Option<(i64, String)>, StoreError> {
    let row: Option<(Option<i64>, String)> =
        sqlx::query_as("SELECT last_finished_at, last_summary FROM job_leases WHERE name = $1")
            .bind(name)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.and_then(|(at, summary)| at.map(|at| (at, summary))))
}
