//! Devices: enrolled authenticators, their sealed TOTP seed and the last accepted time step.
//! A removed device keeps its row (with `removed_at`) for a week so the removal can be reversed;
//! every query here looks only at devices in use.

use sqlx::FromRow;

use super::phone_numbers::SealedPhone;
use super::{Db, StoreError};
use crate::domain::{DeviceKind, LoginAction, Platform};

#[derive(Debug, Clone, FromRow)]
pub struct DeviceRow {
    pub id: String,
    pub user_id: String,
    #[sqlx(try_from = "String")]
    pub kind: DeviceKind,
    #[sqlx(try_from = "String")]
    pub platform: Platform,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub login_action: LoginAction,
    /// Sealed with the master key; context `totp-seed:<user id>`.
    pub totp_secret: String,
    pub totp_last_step: Option<i64>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub is_default: i64,
    /// The number of a phone (mobile phone or landline), sealed: `phone_devices::among` opens it.
    pub sealed_phone: Option<String>,
    pub phone_extension: Option<String>,
}

const COLUMNS: &str = "id, user_id, kind, platform, name, login_action, totp_secret, totp_last_step, created_at, \
                       last_used_at, is_default, phone AS sealed_phone, phone_extension";

pub async fn list_for_user(db: &Db, user_id: &str) -> Result<Vec<DeviceRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM devices WHERE user_id = $1 AND removed_at IS NULL ORDER BY is_default DESC, created_at, id"
    );
    Ok(sqlx::query_as(&sql).bind(user_id).fetch_all(db.pool()).await?)
}

pub async fn count_for_user(db: &Db, user_id: &str) -> Result<i64, StoreError> {
    let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM devices WHERE user_id = $1 AND removed_at IS NULL")
        .bind(user_id)
        .fetch_one(db.pool())
        .await?;
    Ok(row.0)
}

/// Records that `step` was accepted for this device (on the caller's transaction: see
/// `attempts`). Single use: succeeds only if `step` is newer than the last accepted one, in one
/// conditional statement, so of two concurrent submissions of one code exactly one wins.
pub(crate) async fn advance_totp_step_on(
    c: &mut sqlx::AnyConnection,
    device_id: &str,
    step: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE devices SET totp_last_step = $1, last_used_at = $2 \
         WHERE id = $3 AND removed_at IS NULL AND (totp_last_step IS NULL OR totp_last_step < $4)",
    )
    .bind(step)
    .bind(now)
    .bind(device_id)
    .bind(step)
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A device to store.
pub struct NewDevice<'a> {
    pub kind: DeviceKind,
    pub platform: Platform,
    pub name: &'a str,
    pub login_action: LoginAction,
    /// Sealed TOTP seed; empty for devices without one (tokens, keys, numbers only).
    pub totp_secret: &'a str,
    pub totp_last_step: Option<i64>,
    pub phone: Option<&'a SealedPhone>,
    pub extension: Option<&'a str>,
}

impl<'a> NewDevice<'a> {
    /// A device with an authenticator app (its sealed seed), asked at each sign-in by default.
    pub fn app(
        kind: DeviceKind,
        platform: Platform,
        name: &'a str,
        totp_secret: &'a str,
        totp_last_step: Option<i64>,
    ) -> Self {
        NewDevice {
            kind,
            platform,
            name,
            login_action: LoginAction::Ask,
            totp_secret,
            totp_last_step,
            phone: None,
            extension: None,
        }
    }
}

/// Stores a device for `user_id` on the caller's transaction. The user's first device in use
/// becomes the default, and the account counts as enrolled from now on (`users.enrolled_at`).
pub(crate) async fn insert_on(
    c: &mut sqlx::AnyConnection,
    id: &str,
    user_id: &str,
    device: &NewDevice<'_>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO devices (id, user_id, kind, platform, name, login_action, totp_secret, totp_last_step, created_at, \
         phone, phone_hash, phone_extension, is_default) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
         (SELECT CASE WHEN COUNT(*) = 0 THEN 1 ELSE 0 END FROM devices WHERE user_id = $13 AND removed_at IS NULL))",
    )
    .bind(id)
    .bind(user_id)
    .bind(device.kind.as_str())
    .bind(device.platform.as_str())
    .bind(device.name)
    .bind(device.login_action.as_str())
    .bind(device.totp_secret)
    .bind(device.totp_last_step)
    .bind(now)
    .bind(device.phone.map(|p| p.sealed.as_str()))
    .bind(device.phone.map(|p| p.hash.as_str()))
    .bind(device.extension)
    .bind(user_id)
    .execute(&mut *c)
    .await?;
    sqlx::query("UPDATE users SET enrolled_at = COALESCE(enrolled_at, $1) WHERE id = $2")
        .bind(now)
        .bind(user_id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// The device if it belongs to `user_id` (another user's id gives None, as if it did not exist).
pub async fn for_user(db: &Db, user_id: &str, device_id: &str) -> Result<Option<DeviceRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM devices WHERE id = $1 AND user_id = $2 AND removed_at IS NULL");
    Ok(sqlx::query_as(&sql).bind(device_id).bind(user_id).fetch_optional(db.pool()).await?)
}

/// "Device Options": name and "When I log in"; false when the device is not the user's.
pub async fn update_options(
    db: &Db,
    user_id: &str,
    device_id: &str,
    name: &str,
    login_action: LoginAction,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE devices SET name = $1, login_action = $2 WHERE id = $3 AND user_id = $4 AND removed_at IS NULL",
    )
    .bind(name)
    .bind(login_action.as_str())
    .bind(device_id)
    .bind(user_id)
    .execute(db.writes())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Makes this device the user's default (and no other); false when it is not the user's.
pub async fn set_default(db: &Db, user_id: &str, device_id: &str) -> Result<bool, StoreError> {
    let mut tx = db.writes().begin().await?;
    let owned = sqlx::query("UPDATE devices SET is_default = 1 WHERE id = $1 AND user_id = $2 AND removed_at IS NULL")
        .bind(device_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    if owned.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::query("UPDATE devices SET is_default = 0 WHERE user_id = $1 AND id <> $2")
        .bind(user_id)
        .bind(device_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Removes a device, unless it is the user's last way to sign in (no other device and no unused
/// backup code): checked and done in one transaction. A removed default passes to the oldest device.
pub async fn remove(db: &Db, user_id: &str, device_id: &str, now: i64) -> Result<Removal, StoreError> {
    let mut tx = db.writes().begin().await?;
    // Serialise device changes per user: this no-op update takes the user's row lock on PostgreSQL
    // (and SQLite's write lock), so two removals at once cannot both see the other device remaining.
    sqlx::query("UPDATE users SET failed_attempts = failed_attempts WHERE id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let gone = mark_removed(&mut tx, user_id, device_id, now).await?;
    if !gone {
        tx.rollback().await?;
        return Ok(Removal::NotFound);
    }
    let (others,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM devices WHERE user_id = $1 AND removed_at IS NULL")
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
    let (codes,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM backup_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
    if others == 0 && codes == 0 {
        tx.rollback().await?;
        return Ok(Removal::LastMethod);
    }
    pass_on_default(&mut tx, user_id).await?;
    tx.commit().await?;
    Ok(Removal::Removed)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    /// Refused: it was the user's only way to sign in.
    LastMethod,
    NotFound,
}

/// Puts a removed device back ("This wasn't me"); it becomes the default if the user has none.
pub async fn restore(db: &Db, user_id: &str, device_id: &str) -> Result<bool, StoreError> {
    let mut tx = db.writes().begin().await?;
    let back =
        sqlx::query("UPDATE devices SET removed_at = NULL WHERE id = $1 AND user_id = $2 AND removed_at IS NOT NULL")
            .bind(device_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
    if back.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::query(
        "UPDATE devices SET is_default = 1 WHERE id = $1 AND NOT EXISTS \
         (SELECT 1 FROM devices WHERE user_id = $2 AND is_default = 1 AND removed_at IS NULL)",
    )
    .bind(device_id)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Forgets devices removed before `before` for good.
pub async fn purge_removed_before(db: &Db, before: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM devices WHERE removed_at IS NOT NULL AND removed_at <= $1")
        .bind(before)
        .execute(db.writes())
        .await?;
    Ok(done.rows_affected())
}

/// Removes a device its owner reported as added by someone else: even the last one, since it
/// was never theirs. A removed default passes to the oldest remaining device.
pub async fn remove_reported(db: &Db, user_id: &str, device_id: &str, now: i64) -> Result<bool, StoreError> {
    let mut tx = db.writes().begin().await?;
    let gone = mark_removed(&mut tx, user_id, device_id, now).await?;
    pass_on_default(&mut tx, user_id).await?;
    tx.commit().await?;
    Ok(gone)
}

/// Marks a device of the user removed (and no longer the default); false when there was none.
async fn mark_removed(
    tx: &mut sqlx::AnyConnection,
    user_id: &str,
    device_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let gone = sqlx::query(
        "UPDATE devices SET removed_at = $1, is_default = 0 WHERE id = $2 AND user_id = $3 AND removed_at IS NULL",
    )
    .bind(now)
    .bind(device_id)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    Ok(gone.rows_affected() == 1)
}

/// When the user has devices but no default, the oldest becomes the default.
pub(crate) async fn pass_on_default(tx: &mut sqlx::AnyConnection, user_id: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE devices SET is_default = 1 WHERE id = (SELECT id FROM devices WHERE user_id = $1 AND removed_at IS NULL \
         ORDER BY created_at, id LIMIT 1) AND NOT EXISTS (SELECT 1 FROM devices WHERE user_id = $2 AND is_default = 1 \
         AND removed_at IS NULL)",
    )
    .bind(user_id)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
