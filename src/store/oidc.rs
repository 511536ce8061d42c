//! OpenID Connect: which provider subject belongs to which user (`oidc_identities`), and the
//! sign-ins already finished (`oidc_used_states`, keyed hashes of their state: single use).

use super::{Db, StoreError};

/// The user linked to this provider's subject, if any.
pub async fn user_for_subject(db: &Db, provider: &str, subject: &str) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT user_id FROM oidc_identities WHERE provider = $1 AND subject = $2")
            .bind(provider)
            .bind(subject)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|r| r.0))
}

/// The subject this user is linked to at this provider, if any.
pub async fn subject_for_user(db: &Db, provider: &str, user_id: &str) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT subject FROM oidc_identities WHERE provider = $1 AND user_id = $2")
            .bind(provider)
            .bind(user_id)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|r| r.0))
}

/// Links a subject to a user. `Conflict` when either is already linked (a concurrent first
/// sign-in won): the caller reads the link again instead of trusting its own.
pub async fn link(db: &Db, provider: &str, subject: &str, user_id: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO oidc_identities (provider, subject, user_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(provider)
        .bind(subject)
        .bind(user_id)
        .bind(now)
        .execute(db.writes())
        .await
        .map_err(StoreError::from_insert)?;
    Ok(())
}

pub async fn touch(db: &Db, provider: &str, subject: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE oidc_identities SET last_login_at = $1 WHERE provider = $2 AND subject = $3")
        .bind(now)
        .bind(provider)
        .bind(subject)
        .execute(db.writes())
        .await?;
    Ok(())
}

/// Marks a sign-in's state as used. True for exactly one caller per state, even when several
/// callbacks race (the primary key decides); false means a replay.
pub async fn use_state(db: &Db, state_hash: &str, now: i64) -> Result<bool, StoreError> {
    // States live minutes; a day later nobody can present one again, so old rows can go.
    sqlx::query("DELETE FROM oidc_used_states WHERE used_at < $1").bind(now - 86_400).execute(db.writes()).await?;
    match sqlx::query("INSERT INTO oidc_used_states (state_hash, used_at) VALUES ($1, $2)")
        .bind(state_hash)
        .bind(now)
        .execute(db.writes())
        .await
        .map_err(StoreError::from_insert)
    {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(e) => Err(e),
    }
}
