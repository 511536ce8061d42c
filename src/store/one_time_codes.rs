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
    pub not_before: Option<i64>,
    pub created_at: i64,
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
    /// When it starts to work (a recovery passcode's waiting period); `None`: at once.
    pub not_before: Option<i64>,
}

pub async fn insert(db: &Db, c: NewCode<'_>, now: i64) -> Result<String, StoreError> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO one_time_codes (id, user_id, kind, salt, code_hash, uses_left, expires_at, issued_by, reason, created_at, \
         not_before) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
    .bind(c.not_before)
    .execute(db.writes())
    .await?;
    Ok(id)
}

/// The user's codes that still have uses left, work already and have not expired.
pub async fn usable(db: &Db, user_id: &str, now: i64) -> Result<Vec<OneTimeCodeRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, kind, salt, code_hash, uses_left, expires_at, not_before, created_at FROM one_time_codes \
         WHERE user_id = $1 AND uses_left > 0 AND expires_at > $2 AND COALESCE(not_before, 0) <= $3",
    )
    .bind(user_id)
    .bind(now)
    .bind(now)
    .fetch_all(db.pool())
    .await?)
}

/// The user's recovery passcodes still to be used or still waiting to work (for "My Settings &
/// Devices", which offers to cancel them).
pub async fn pending_recovery(db: &Db, user_id: &str, now: i64) -> Result<Vec<OneTimeCodeRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, kind, salt, code_hash, uses_left, expires_at, not_before, created_at FROM one_time_codes \
         WHERE user_id = $1 AND kind = 'recovery' AND uses_left > 0 AND expires_at > $2 ORDER BY created_at",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(db.pool())
    .await?)
}

/// Cancels one of the user's recovery passcodes (or all when `id` is `None`); how many.
pub async fn cancel_recovery(db: &Db, user_id: &str, id: Option<&str>) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE one_time_codes SET uses_left = 0 WHERE user_id = $1 AND kind = 'recovery' AND uses_left > 0 \
         AND ($2 = '' OR id = $3)",
    )
    .bind(user_id)
    .bind(id.unwrap_or(""))
    .bind(id.unwrap_or(""))
    .execute(db.writes())
    .await?;
    Ok(done.rows_affected())
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
         WHERE id = $1 AND user_id = $2 AND uses_left > 0 AND expires_at > $3 AND COALESCE(not_before, 0) <= $4",
    )
    .bind(id)
    .bind(user_id)
    .bind(now)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}
