//! The Twofold authenticator's side of a device: its public key (P-256; the private key never
//! leaves the phone) and single-use activation links (keyed hash, expiry, used once).

use sqlx::FromRow;

use super::{Db, StoreError};
use crate::secrets::new_id;

#[derive(Debug, Clone, FromRow)]
pub struct PushKeyRow {
    pub device_id: String,
    pub user_id: String,
    pub public_key: String,
}

/// The device's key, if the device is in use and activated.
pub async fn key(db: &Db, device_id: &str) -> Result<Option<PushKeyRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT k.device_id, k.user_id, k.public_key FROM push_keys k JOIN devices d ON d.id = k.device_id \
         WHERE k.device_id = $1 AND d.removed_at IS NULL",
    )
    .bind(device_id)
    .fetch_optional(db.pool())
    .await?)
}

/// Ids of the user's devices in use that can receive pushes.
pub async fn push_device_ids(db: &Db, user_id: &str) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT k.device_id FROM push_keys k JOIN devices d ON d.id = k.device_id \
         WHERE k.user_id = $1 AND d.removed_at IS NULL ORDER BY d.created_at",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Stores (or replaces: reactivation) the device's public key; the old key stops working at once.
pub async fn set_key(db: &Db, device_id: &str, user_id: &str, public_key: &str, now: i64) -> Result<(), StoreError> {
    let mut tx = db.writes().begin().await?;
    sqlx::query("DELETE FROM push_keys WHERE device_id = $1").bind(device_id).execute(&mut *tx).await?;
    sqlx::query("INSERT INTO push_keys (device_id, user_id, public_key, activated_at) VALUES ($1, $2, $3, $4)")
        .bind(device_id)
        .bind(user_id)
        .bind(public_key)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Forgets the device's key and Web Push subscription (reactivation started: the old phone stops
/// answering and is no longer notified).
pub async fn remove_key(db: &Db, device_id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM push_keys WHERE device_id = $1").bind(device_id).execute(db.writes()).await?;
    sqlx::query("DELETE FROM push_subscriptions WHERE device_id = $1").bind(device_id).execute(db.writes()).await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct SubscriptionRow {
    pub device_id: String,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

/// Stores (or replaces) the device's Web Push subscription.
pub async fn set_subscription(
    db: &Db,
    device_id: &str,
    endpoint: &str,
    p256dh: &str,
    auth: &str,
    now: i64,
) -> Result<(), StoreError> {
    let mut tx = db.writes().begin().await?;
    sqlx::query("DELETE FROM push_subscriptions WHERE device_id = $1").bind(device_id).execute(&mut *tx).await?;
    sqlx::query(
        "INSERT INTO push_subscriptions (device_id, endpoint, p256dh, auth, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(device_id)
    .bind(endpoint)
    .bind(p256dh)
    .bind(auth)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The Web Push subscriptions of the user's activated devices in use.
pub async fn subscriptions_for_user(db: &Db, user_id: &str) -> Result<Vec<SubscriptionRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT s.device_id, s.endpoint, s.p256dh, s.auth FROM push_subscriptions s \
         JOIN push_keys k ON k.device_id = s.device_id JOIN devices d ON d.id = s.device_id \
         WHERE k.user_id = $1 AND d.removed_at IS NULL",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?)
}

/// Drops a subscription the push service says is gone (404/410).
pub async fn remove_subscription(db: &Db, device_id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM push_subscriptions WHERE device_id = $1").bind(device_id).execute(db.writes()).await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct ActivationRow {
    pub id: String,
    pub token_sealed: String,
    pub user_id: String,
    pub enrollment_id: Option<String>,
    pub device_id: Option<String>,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

const ACTIVATION_COLUMNS: &str = "id, token_sealed, user_id, enrollment_id, device_id, expires_at, used_at";

pub struct NewActivation<'a> {
    pub token_hash: &'a str,
    pub token_sealed: &'a str,
    pub user_id: &'a str,
    /// A wizard activation: the device is created when the app activates.
    pub enrollment_id: Option<&'a str>,
    /// A reactivation of this existing device.
    pub device_id: Option<&'a str>,
    pub expires_at: i64,
}

/// A new activation link; earlier unused ones for the same wizard or device stop working.
pub async fn insert_activation(db: &Db, a: NewActivation<'_>, now: i64) -> Result<String, StoreError> {
    let id = new_id();
    let mut tx = db.writes().begin().await?;
    sqlx::query(
        "UPDATE push_activations SET used_at = $1 WHERE used_at IS NULL AND user_id = $2 \
         AND (enrollment_id = $3 OR device_id = $4)",
    )
    .bind(now)
    .bind(a.user_id)
    .bind(a.enrollment_id)
    .bind(a.device_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO push_activations (id, token_hash, token_sealed, user_id, enrollment_id, device_id, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(a.token_hash)
    .bind(a.token_sealed)
    .bind(a.user_id)
    .bind(a.enrollment_id)
    .bind(a.device_id)
    .bind(now)
    .bind(a.expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The wizard's activation link still waiting to be opened.
pub async fn open_for_enrollment(db: &Db, enrollment_id: &str, now: i64) -> Result<Option<ActivationRow>, StoreError> {
    let sql = format!(
        "SELECT {ACTIVATION_COLUMNS} FROM push_activations WHERE enrollment_id = $1 AND used_at IS NULL \
         AND expires_at > $2 ORDER BY created_at DESC LIMIT 1"
    );
    Ok(sqlx::query_as(&sql).bind(enrollment_id).bind(now).fetch_optional(db.pool()).await?)
}

/// The reactivation link for a device still waiting to be opened.
pub async fn open_for_device(db: &Db, device_id: &str, now: i64) -> Result<Option<ActivationRow>, StoreError> {
    let sql = format!(
        "SELECT {ACTIVATION_COLUMNS} FROM push_activations WHERE device_id = $1 AND used_at IS NULL \
         AND expires_at > $2 ORDER BY created_at DESC LIMIT 1"
    );
    Ok(sqlx::query_as(&sql).bind(device_id).bind(now).fetch_optional(db.pool()).await?)
}

/// Devices that use the Twofold authenticator: activated, or waiting for reactivation.
pub async fn twofold_device_ids(db: &Db, user_id: &str) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT device_id FROM push_keys WHERE user_id = $1 \
         UNION SELECT device_id FROM push_activations WHERE user_id = $2 AND device_id IS NOT NULL",
    )
    .bind(user_id)
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// A reactivated device gets a new TOTP seed: the lost phone's passcodes stop working.
pub async fn replace_seed(db: &Db, device_id: &str, sealed_seed: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE devices SET totp_secret = $1, totp_last_step = NULL WHERE id = $2")
        .bind(sealed_seed)
        .bind(device_id)
        .execute(db.writes())
        .await?;
    Ok(())
}

/// Consumes an activation link by its keyed hash: exactly one caller gets the row, and only
/// before it expires.
pub async fn consume_activation(db: &Db, token_hash: &str, now: i64) -> Result<Option<ActivationRow>, StoreError> {
    let done = sqlx::query(
        "UPDATE push_activations SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(now)
    .bind(token_hash)
    .bind(now)
    .execute(db.writes())
    .await?;
    if done.rows_affected() != 1 {
        return Ok(None);
    }
    let sql = format!("SELECT {ACTIVATION_COLUMNS} FROM push_activations WHERE token_hash = $1");
    Ok(sqlx::query_as(&sql).bind(token_hash).fetch_optional(db.pool()).await?)
}

/// Cancels the wizard's open activation ("Use another authenticator app").
pub async fn cancel_for_enrollment(db: &Db, enrollment_id: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE push_activations SET used_at = $1 WHERE enrollment_id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(enrollment_id)
        .execute(db.writes())
        .await?;
    Ok(())
}

/// True when the user has an open fraud report about a push: push stays locked until an
/// administrator handles it (clears the report).
pub async fn push_locked(db: &Db, user_id: &str) -> Result<bool, StoreError> {
    let row: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM fraud_reports WHERE user_id = $1 AND method = 'push' AND status = 'open'")
            .bind(user_id)
            .fetch_one(db.pool())
            .await?;
    Ok(row.0 > 0)
}
