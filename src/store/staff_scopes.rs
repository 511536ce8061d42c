//! Help desks limited to some groups (Duo's "administrative units"): the groups a help-desk
//! member's actions are limited to. No rows: the whole institution. Group membership itself is
//! `user_groups` (from imports).

use super::{Db, StoreError};

/// The condition "the user `id` is in one of staff `$N`'s groups", for queries that list users.
pub(crate) fn user_within(id_column: &str, param: usize) -> String {
    format!(
        "{id_column} IN (SELECT ug.user_id FROM user_groups ug JOIN staff_scopes s ON s.group_name = ug.group_name \
         WHERE s.staff_id = ${param})"
    )
}

/// The groups `staff_id` is limited to, by name (empty: not limited).
pub async fn groups(db: &Db, staff_id: &str) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT group_name FROM staff_scopes WHERE staff_id = $1 ORDER BY group_name")
            .bind(staff_id)
            .fetch_all(db.pool())
            .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Limits `staff_id` to `groups` (replacing the earlier ones; empty: the whole institution).
pub async fn set(db: &Db, staff_id: &str, groups: &[String]) -> Result<(), StoreError> {
    let mut tx = db.writes().begin().await?;
    sqlx::query("DELETE FROM staff_scopes WHERE staff_id = $1").bind(staff_id).execute(&mut *tx).await?;
    for group in groups {
        sqlx::query("INSERT INTO staff_scopes (staff_id, group_name) VALUES ($1, $2)")
            .bind(staff_id)
            .bind(group)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// True when `user_id` is in one of the groups `staff_id` is limited to.
pub async fn covers(db: &Db, staff_id: &str, user_id: &str) -> Result<bool, StoreError> {
    let sql = format!("SELECT COUNT(*) FROM users WHERE id = $1 AND {}", user_within("id", 2));
    let (n,): (i64,) = sqlx::query_as(&sql).bind(user_id).bind(staff_id).fetch_one(db.pool()).await?;
    Ok(n > 0)
}
