//! Temporary passcodes from the help desk (and recovery passcodes): salted keyed hashes with a
//! number of uses and an expiry. A use is a conditional decrement, so uses never go below zero.

use sqlx::FromRow;

use super::{Db, StoreError};
use crate::secrets::new_id;

#[derive(Debug, Clone, FromRow)]
pub struct OneTimeCodeRow {
    pub id: String,
    pub kind: String,
    pub salt: String,
    pub code_hash: String,
    pub uses_left: i64,
    pub expires_at: i64,
}

pub struct NewCode<'a> {
    pub user_id: &'a str,
    pub kind: &'a str,
    pub salt: &'a str,
    pub code_hash: &'a str,
    pub uses: i64,
    pub expires_at: i64,
    pub issued_by: Option<&'a str>,
    pub reason: &'a str,
}

pub async fn insert(db: &Db, c: NewCode<'_>, now: i64) -> Result<String, StoreError> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO one_time_codes (id, user_id, kind, salt, code_hash, uses_left, expires_at, issued_by, reason, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&id)
    .bind(c.user_id)
    .bind(c.kind)
    .bind(c.salt)
    .bind(c.code_hash)
    .bind(c.uses)
    .bind(c.expires_at)
    .bind(c.issued_by)
    .bind(c.reason)
    .bind(now)
    .execute(db.writes())
    .await?;
    Ok(id)
}

/// The user's codes that still have uses left and have not expired.
pub async fn usable(db: &Db, user_id: &str, now: i64) -> Result<Vec<OneTimeCodeRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, kind, salt, code_hash, uses_left, expires_at FROM one_time_codes \
         WHERE user_id = $1 AND uses_left > 0 AND expires_at > $2",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(db.pool())
    .await?)
}

/// Uses one of the user's codes once (on the caller's transaction: see `attempts`); false when
/// no use was left (or it expired) by the time this ran.
pub(crate) async fn use_once_on(
    c: &mut sqlx::AnyConnection,
    user_id: &str,
    id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE one_time_codes SET uses_left = uses_left - 1 \
         WHERE id = $1 AND user_id = $2 AND uses_left > 0 AND expires_at > $3",
    )
    .bind(id)
    .bind(user_id)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}
