//! The OpenID provider's rows: signing keys (sealed) and access tokens (keyed hashes).

use super::{Db, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub kid: String,
    pub alg: String,
    pub private_sealed: String,
    pub created_at: i64,
}

/// Keys created since `since`, newest first.
pub async fn keys_since(db: &Db, since: i64) -> Result<Vec<KeyRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT kid, alg, private_sealed, created_at FROM openid_signing_keys WHERE created_at >= $1 \
         ORDER BY created_at DESC, kid",
    )
    .bind(since)
    .fetch_all(db.pool())
    .await?)
}

pub async fn insert_key(db: &Db, kid: &str, alg: &str, sealed: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO openid_signing_keys (kid, alg, private_sealed, created_at) VALUES ($1, $2, $3, $4)")
        .bind(kid)
        .bind(alg)
        .bind(sealed)
        .bind(now)
        .execute(db.writes())
        .await?;
    Ok(())
}

pub struct NewToken<'a> {
    pub token_hash: &'a str,
    pub application_id: &'a str,
    pub user_id: &'a str,
    pub scope: &'a str,
    pub expires_at: i64,
}

pub async fn insert_token(db: &Db, t: NewToken<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO openid_access_tokens (token_hash, application_id, user_id, scope, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(t.token_hash)
    .bind(t.application_id)
    .bind(t.user_id)
    .bind(t.scope)
    .bind(t.expires_at)
    .execute(db.writes())
    .await?;
    Ok(())
}

/// (user id, scope) of an unexpired access token.
pub async fn token(db: &Db, token_hash: &str, now: i64) -> Result<Option<(String, String)>, StoreError> {
    Ok(sqlx::query_as("SELECT user_id, scope FROM openid_access_tokens WHERE token_hash = $1 AND expires_at > $2")
        .bind(token_hash)
        .bind(now)
        .fetch_optional(db.pool())
        .await?)
}

/// Forgets expired access tokens.
pub async fn purge_tokens(db: &Db, now: i64) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM openid_access_tokens WHERE expires_at <= $1")
        .bind(now)
        .execute(db.writes())
        .await?
        .rows_affected())
}
