//! Applying a user import: all rows in one transaction (all or nothing). Existing usernames are
//! updated (name, email, groups, facts); new ones are created without a password.

use super::{Db, StoreError};
use crate::domain::import::{ImportRow, LineError};
use crate::secrets::new_id;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub created: usize,
    pub updated: usize,
}

/// Which of `rows` already exist (for the dry-run preview).
pub async fn preview(db: &Db, rows: &[ImportRow]) -> Result<Counts, StoreError> {
    let mut counts = Counts::default();
    for row in rows {
        let found: Option<(String,)> = sqlx::query_as("SELECT id FROM users WHERE username = $1")
            .bind(row.username.as_str())
            .fetch_optional(db.pool())
            .await?;
        if found.is_some() { counts.updated += 1 } else { counts.created += 1 }
    }
    Ok(counts)
}

/// Rows naming an account whose source owns its name, email and groups (the directory, SCIM):
/// an import may not edit those, so each is a problem on its line.
pub async fn owned_elsewhere(db: &Db, rows: &[ImportRow]) -> Result<Vec<LineError>, StoreError> {
    let mut errors = Vec::new();
    for row in rows {
        let found: Option<(String,)> = sqlx::query_as("SELECT source FROM users WHERE username = $1")
            .bind(row.username.as_str())
            .fetch_optional(db.pool())
            .await?;
        if let Some((source,)) = found {
            let source = super::users::Source::parse(&source);
            if source.owns_profile() {
                let message = source.refusal(row.username.as_str());
                errors.push(LineError { line: row.line, message });
            }
        }
    }
    Ok(errors)
}

/// Writes every row, or nothing. `hash_fact(user_id, fact, value)` gives the stored form of a fact.
pub async fn apply(
    db: &Db,
    rows: &[ImportRow],
    hash_fact: &dyn Fn(&str, &str, &str) -> String,
    now: i64,
) -> Result<Counts, StoreError> {
    let mut counts = Counts::default();
    let mut tx = db.writes().begin().await?;
    for row in rows {
        let existing: Option<(String,)> = sqlx::query_as("SELECT id FROM users WHERE username = $1")
            .bind(row.username.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let user_id = match existing {
            Some((id,)) => {
                sqlx::query("UPDATE users SET display_name = $1, email = $2 WHERE id = $3")
                    .bind(row.display_name.as_str())
                    .bind(row.email.as_str())
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                counts.updated += 1;
                id
            }
            None => {
                let id = new_id();
                sqlx::query(
                    "INSERT INTO users (id, username, email, display_name, role, status, failed_attempts, created_at) \
                     VALUES ($1, $2, $3, $4, 'user', 'active', 0, $5)",
                )
                .bind(&id)
                .bind(row.username.as_str())
                .bind(row.email.as_str())
                .bind(row.display_name.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_insert)?;
                counts.created += 1;
                id
            }
        };
        sqlx::query("DELETE FROM user_groups WHERE user_id = $1").bind(&user_id).execute(&mut *tx).await?;
        for group in &row.groups {
            sqlx::query("INSERT INTO user_groups (user_id, group_name) VALUES ($1, $2)")
                .bind(&user_id)
                .bind(group)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(facts) = &row.facts {
            sqlx::query("DELETE FROM identity_facts WHERE user_id = $1").bind(&user_id).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO identity_facts (user_id, date_of_birth_hash, id_last4_hash, updated_at) VALUES ($1, $2, $3, $4)")
                .bind(&user_id)
                .bind(hash_fact(&user_id, "date_of_birth", &facts.date_of_birth))
                .bind(hash_fact(&user_id, "id_last4", &facts.id_last4))
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(counts)
}

/// The stored (hashed) recovery facts of a user.
pub async fn facts_of(db: &Db, user_id: &str) -> Result<Option<(String, String)>, StoreError> {
    Ok(sqlx::query_as("SELECT date_of_birth_hash, id_last4_hash FROM identity_facts WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?)
}

pub async fn groups_of(db: &Db, user_id: &str) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT group_name FROM user_groups WHERE user_id = $1 ORDER BY group_name")
            .bind(user_id)
            .fetch_all(db.pool())
            .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Every imported group with its number of members, by name.
pub async fn groups(db: &Db) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(sqlx::query_as("SELECT group_name, COUNT(*) FROM user_groups GROUP BY group_name ORDER BY group_name")
        .fetch_all(db.pool())
        .await?)
}

/// The ids of a group's members.
pub async fn members_of(db: &Db, group: &str) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT user_id FROM user_groups WHERE group_name = $1 ORDER BY user_id")
        .bind(group)
        .fetch_all(db.pool())
        .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Puts a user in a group (nothing happens when they are in it already).
pub async fn add_to_group(db: &Db, user_id: &str, group: &str) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO user_groups (user_id, group_name) SELECT $1, $2 WHERE NOT EXISTS \
         (SELECT 1 FROM user_groups WHERE user_id = $3 AND group_name = $4)",
    )
    .bind(user_id)
    .bind(group)
    .bind(user_id)
    .bind(group)
    .execute(db.writes())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes a user out of a group; false when they were not in it.
pub async fn remove_from_group(db: &Db, user_id: &str, group: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM user_groups WHERE user_id = $1 AND group_name = $2")
        .bind(user_id)
        .bind(group)
        .execute(db.writes())
        .await?;
    Ok(done.rows_affected() == 1)
}
