//! Server-side sessions. Only a keyed hash of the session id is stored, so a database dump does
//! not yield a usable cookie. `user_id` is kept in a column so all of a user's sessions can be revoked.

use super::{Db, StoreError};

/// The state of a live session and when it expires.
pub async fn load(db: &Db, id_hash: &str, now: i64) -> Result<Option<(String, i64)>, StoreError> {
    Ok(sqlx::query_as("SELECT state, expires_at FROM sessions WHERE id_hash = $1 AND expires_at > $2")
        .bind(id_hash)
        .bind(now)
        .fetch_optional(db.pool())
        .await?)
}

pub async fn insert(
    db: &Db,
    id_hash: &str,
    user_id: Option<&str>,
    state: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO sessions (id_hash, user_id, state, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id_hash)
        .bind(user_id)
        .bind(state)
        .bind(now)
        .bind(expires_at)
        .execute(db.writes())
        .await?;
    Ok(())
}

/// Replaces the state; false when the session no longer exists (revoked or expired meanwhile).
pub async fn update(
    db: &Db,
    id_hash: &str,
    user_id: Option<&str>,
    state: &str,
    expires_at: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE sessions SET user_id = $1, state = $2, expires_at = $3 WHERE id_hash = $4")
        .bind(user_id)
        .bind(state)
        .bind(expires_at)
        .bind(id_hash)
        .execute(db.writes())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// True when the session still exists and has not expired. On the caller's transaction (see
/// `attempts`): the no-op update holds the row until the commit, so a log-out that comes
/// meanwhile waits and happens after the action, never in the middle of it.
pub(crate) async fn hold_on(c: &mut sqlx::AnyConnection, id_hash: &str, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE sessions SET expires_at = expires_at WHERE id_hash = $1 AND expires_at > $2")
        .bind(id_hash)
        .bind(now)
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn extend(db: &Db, id_hash: &str, expires_at: i64) -> Result<(), StoreError> {
    let id_hash = id_hash.to_string();
    db.write_statement(move |c| {
        Box::pin(async move {
            sqlx::query("UPDATE sessions SET expires_at = $1 WHERE id_hash = $2")
                .bind(expires_at)
                .bind(id_hash)
                .execute(&mut *c)
                .await?;
            Ok(())
        })
    })
    .await
}

pub async fn delete(db: &Db, id_hash: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(db.writes()).await?;
    Ok(())
}

/// Ends every session of a user (account disabled, deleted, or "sign out everywhere").
pub async fn delete_for_user(db: &Db, user_id: &str) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(db.writes()).await?;
    Ok(done.rows_affected())
}

pub async fn purge_expired(db: &Db, now: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(db.writes()).await?;
    Ok(done.rows_affected())
}
