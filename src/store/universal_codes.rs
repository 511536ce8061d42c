//! Universal Prompt authorization codes: keyed hashes, bound to one application and redirect URI,
//! short-lived, and exchanged once (a conditional UPDATE decides the one winner).

use sqlx::FromRow;

use super::{Db, StoreError};

pub struct NewCode<'a> {
    pub code_hash: &'a str,
    pub application_id: &'a str,
    pub user_id: &'a str,
    pub username: &'a str,
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub nonce: Option<&'a str>,
    pub use_duo_code: bool,
    pub factor: &'a str,
    pub ip: Option<&'a str>,
    /// The OpenID provider's code flow: PKCE's S256 challenge and the scope asked for.
    pub code_challenge: Option<&'a str>,
    pub scope: Option<&'a str>,
}

#[derive(Debug, Clone, FromRow)]
pub struct CodeRow {
    pub application_id: String,
    pub user_id: String,
    pub username: String,
    pub redirect_uri: String,
    pub state: String,
    pub nonce: Option<String>,
    pub use_duo_code: i64,
    pub factor: String,
    pub ip: Option<String>,
    pub created_at: i64,
    pub code_challenge: Option<String>,
    pub scope: Option<String>,
}

const COLUMNS: &str = "application_id, user_id, username, redirect_uri, state, nonce, use_duo_code, factor, ip, created_at, \
     code_challenge, scope";

pub async fn insert(db: &Db, c: NewCode<'_>, now: i64, expires_at: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO universal_codes (code_hash, application_id, user_id, username, redirect_uri, state, nonce, \
         use_duo_code, factor, ip, created_at, expires_at, code_challenge, scope) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(c.code_hash)
    .bind(c.application_id)
    .bind(c.user_id)
    .bind(c.username)
    .bind(c.redirect_uri)
    .bind(c.state)
    .bind(c.nonce)
    .bind(i64::from(c.use_duo_code))
    .bind(c.factor)
    .bind(c.ip)
    .bind(now)
    .bind(expires_at)
    .bind(c.code_challenge)
    .bind(c.scope)
    .execute(db.writes())
    .await?;
    Ok(())
}

/// An unused, unexpired code (to send the browser back with it); changes nothing.
pub async fn pending(db: &Db, code_hash: &str, now: i64) -> Result<Option<CodeRow>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM universal_codes WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2");
    Ok(sqlx::query_as(&sql).bind(code_hash).bind(now).fetch_optional(db.pool()).await?)
}

/// Exchanges the code for `application_id`: the row for exactly one caller, None for every other
/// (unknown, another application's, expired or already used).
pub async fn consume(db: &Db, code_hash: &str, application_id: &str, now: i64) -> Result<Option<CodeRow>, StoreError> {
    let done = sqlx::query(
        "UPDATE universal_codes SET used_at = $1 \
         WHERE code_hash = $2 AND application_id = $3 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(code_hash)
    .bind(application_id)
    .execute(db.writes())
    .await?;
    if done.rows_affected() != 1 {
        return Ok(None);
    }
    let sql = format!("SELECT {COLUMNS} FROM universal_codes WHERE code_hash = $1");
    Ok(sqlx::query_as(&sql).bind(code_hash).fetch_optional(db.pool()).await?)
}

/// Housekeeping: codes a day past their expiry.
pub async fn delete_old(db: &Db, now: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM universal_codes WHERE expires_at < $1")
        .bind(now - 86_400)
        .execute(db.writes())
        .await?;
    Ok(done.rows_affected())
}
