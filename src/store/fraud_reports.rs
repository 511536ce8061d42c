//! Fraud reports: what a user reported as not theirs, and how administrators handled it.

use sqlx::FromRow;

use super::{Db, StoreError};
use crate::secrets::new_id;

pub struct NewReport<'a> {
    pub user_id: &'a str,
    /// How it was reported: "change_notice" ("This wasn't me"); push and calls come later.
    pub method: &'a str,
    pub detail: &'a str,
    pub ip: Option<&'a str>,
    pub application: Option<&'a str>,
}

pub async fn insert(db: &Db, r: NewReport<'_>, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO fraud_reports (id, user_id, at, method, detail, ip, application, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open')",
    )
    .bind(new_id())
    .bind(r.user_id)
    .bind(now)
    .bind(r.method)
    .bind(r.detail)
    .bind(r.ip)
    .bind(r.application)
    .execute(db.writes())
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct ReportRow {
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub email: String,
    pub at: i64,
    pub method: String,
    pub detail: String,
    pub ip: Option<String>,
    pub application: Option<String>,
    pub status: String,
}

/// Open reports first, then the most recent handled ones.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<ReportRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT f.id, f.user_id, u.username, u.email, f.at, f.method, f.detail, f.ip, f.application, f.status \
         FROM fraud_reports f JOIN users u ON u.id = f.user_id \
         ORDER BY CASE WHEN f.status = 'open' THEN 0 ELSE 1 END, f.at DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<ReportRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT f.id, f.user_id, u.username, u.email, f.at, f.method, f.detail, f.ip, f.application, f.status \
         FROM fraud_reports f JOIN users u ON u.id = f.user_id WHERE f.id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?)
}

pub async fn set_status(db: &Db, id: &str, status: &str, by: &str, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE fraud_reports SET status = $1, handled_by = $2, handled_at = $3 WHERE id = $4")
        .bind(status)
        .bind(by)
        .bind(now)
        .bind(id)
        .execute(db.writes())
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn count_open(db: &Db) -> Result<i64, StoreError> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM fraud_reports WHERE status = 'open'").fetch_one(db.pool()).await?;
    Ok(n)
}
