//! Saved access rules of applications and of groups at an application (the global level is in
//! `policies`). Rows are (application scope, group or '', key, value); a rule with no row follows
//! the level below.

use super::{Db, StoreError};

/// One saved rule.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RuleRow {
    pub application: String,
    pub group_name: String,
    pub key: String,
    pub value: String,
}

/// The rules of one application: its own (group '') and its groups'.
pub async fn of_application(db: &Db, application: &str) -> Result<Vec<RuleRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT application, group_name, key, value FROM application_policies WHERE application = $1 \
         ORDER BY group_name, key",
    )
    .bind(application)
    .fetch_all(db.pool())
    .await?)
}

/// Every saved rule (the console's list of applications with policies of their own).
pub async fn all(db: &Db) -> Result<Vec<RuleRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT application, group_name, key, value FROM application_policies ORDER BY application, group_name, key",
    )
    .fetch_all(db.pool())
    .await?)
}

/// Replaces the rules of one level (an application, or a group at it) in one transaction: the
/// rules given are saved, every other rule of that level is removed (it follows the level below).
pub async fn replace(
    db: &Db,
    application: &str,
    group: &str,
    rules: &[(&str, String)],
    by: &str,
    now: i64,
) -> Result<(), StoreError> {
    let mut tx = db.writes().begin().await?;
    sqlx::query("DELETE FROM application_policies WHERE application = $1 AND group_name = $2")
        .bind(application)
        .bind(group)
        .execute(&mut *tx)
        .await?;
    for (key, value) in rules {
        sqlx::query(
            "INSERT INTO application_policies (application, group_name, key, value, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(application)
        .bind(group)
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

/// Forgets an application's rules (it was deleted).
pub async fn forget(db: &Db, application: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM application_policies WHERE application = $1").bind(application).execute(db.pool()).await?;
    Ok(())
}
