//! Enrolment invitations: keyed hashes of single-use links, with who sent them and when.

use sqlx::FromRow;

use super::{Db, StoreError};

pub async fn insert(
    db: &Db,
    token_hash: &str,
    user_id: &str,
    created_by: Option<&str>,
    sent_to: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO invitations (token_hash, user_id, created_by, sent_to, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(created_by)
    .bind(sent_to)
    .bind(now)
    .bind(expires_at)
    .execute(db.writes())
    .await?;
    Ok(())
}

/// The user an unused, unexpired invitation is for.
pub async fn usable_user(db: &Db, token_hash: &str, now: i64) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT user_id FROM invitations WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2")
            .bind(token_hash)
            .bind(now)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|r| r.0))
}

/// Uses the invitation: true for exactly one caller.
pub async fn consume(db: &Db, token_hash: &str, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE invitations SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(now)
    .bind(token_hash)
    .bind(now)
    .execute(db.writes())
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone, FromRow)]
pub struct InvitationRow {
    pub user_id: String,
    pub username: String,
    pub sent_to: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// The newest invitations with their user, for the console.
/// The latest invitations; with `within` (a help-desk member limited to some groups), only those
/// of users in its groups.
pub async fn recent(db: &Db, within: Option<&str>, limit: i64) -> Result<Vec<InvitationRow>, StoreError> {
    let scope = match within {
        Some(_) => format!("WHERE {}", super::staff_scopes::user_within("i.user_id", 2)),
        None => String::new(),
    };
    let sql = format!(
        "SELECT i.user_id, u.username, i.sent_to, i.created_at, i.expires_at, i.used_at \
         FROM invitations i JOIN users u ON u.id = i.user_id {scope} ORDER BY i.created_at DESC LIMIT $1"
    );
    let q = sqlx::query_as(&sql).bind(limit);
    let q = match within {
        Some(staff) => q.bind(staff),
        None => q,
    };
    Ok(q.fetch_all(db.pool()).await?)
}

/// True when the user holds an invitation that can still be used.
pub async fn has_usable(db: &Db, user_id: &str, now: i64) -> Result<bool, StoreError> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM invitations WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2")
            .bind(user_id)
            .bind(now)
            .fetch_one(db.pool())
            .await?;
    Ok(n > 0)
}

/// An invitation of `user_id` by its hash: (used at, expires at).
pub async fn status(db: &Db, token_hash: &str, user_id: &str) -> Result<Option<(Option<i64>, i64)>, StoreError> {
    Ok(sqlx::query_as("SELECT used_at, expires_at FROM invitations WHERE token_hash = $1 AND user_id = $2")
        .bind(token_hash)
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?)
}
