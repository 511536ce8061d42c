//! Devices: enrolled authenticators, their sealed TOTP seed and the last accepted time step.

use sqlx::FromRow;

use super::{Db, StoreError};

#[derive(Debug, Clone, FromRow)]
pub struct DeviceRow {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub platform: String,
    pub name: String,
    pub login_action: String,
    /// Sealed with the master key; context `totp-seed:<user id>`.
    pub totp_secret: String,
    pub totp_last_step: Option<i64>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str =
    "id, user_id, kind, platform, name, login_action, totp_secret, totp_last_step, created_at, last_used_at";

pub async fn list_for_user(db: &Db, user_id: &str) -> Result<Vec<DeviceRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM devices WHERE user_id = $1 ORDER BY created_at, id");
    Ok(sqlx::query_as(&sql).bind(user_id).fetch_all(db.pool()).await?)
}

pub async fn count_for_user(db: &Db, user_id: &str) -> Result<i64, StoreError> {
    let row: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM devices WHERE user_id = $1").bind(user_id).fetch_one(db.pool()).await?;
    Ok(row.0)
}

/// Records that `step` was accepted for this device. Single use: succeeds only if `step` is newer
/// than the last accepted one, in one conditional statement, so of two concurrent submissions of
/// one code exactly one wins.
pub async fn advance_totp_step(db: &Db, device_id: &str, step: i64, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE devices SET totp_last_step = $1, last_used_at = $2 \
         WHERE id = $3 AND (totp_last_step IS NULL OR totp_last_step < $4)",
    )
    .bind(step)
    .bind(now)
    .bind(device_id)
    .bind(step)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}
