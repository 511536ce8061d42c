//! Security-key credentials (one row each, tied to a device) and WebAuthn ceremonies in progress.
//! A ceremony is taken by a conditional DELETE before it is verified, so it works once.

use sqlx::FromRow;

use super::devices::NewDevice;
use super::{Db, StoreError};
use crate::domain::Move;
use crate::secrets::new_id;

#[derive(Debug, Clone, FromRow)]
pub struct CredentialRow {
    pub id: String,
    pub device_id: String,
    pub user_id: String,
    /// base64url of the authenticator's credential id.
    pub credential_id: String,
    /// webauthn-rs's credential as JSON, sealed; context `webauthn-credential:<user>:<credential id>`.
    pub sealed_credential: String,
    pub sign_count: i64,
    pub backup_eligible: i64,
    pub backup_state: i64,
    pub user_verified: i64,
    pub flagged_at: Option<i64>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str = "c.id, c.device_id, c.user_id, c.credential_id, c.sealed_credential, c.sign_count, \
                       c.backup_eligible, c.backup_state, c.user_verified, c.flagged_at, c.created_at, c.last_used_at";

/// The user's credentials on devices in use.
pub async fn list_for_user(db: &Db, user_id: &str) -> Result<Vec<CredentialRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM webauthn_credentials c JOIN devices d ON d.id = c.device_id \
         WHERE c.user_id = $1 AND d.removed_at IS NULL ORDER BY c.created_at, c.id"
    );
    Ok(sqlx::query_as(&sql).bind(user_id).fetch_all(db.pool()).await?)
}

/// A new credential, as the wizard stores it with its device.
pub struct NewCredential<'a> {
    pub credential_id: &'a str,
    pub sealed_credential: &'a str,
    pub sign_count: i64,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub user_verified: bool,
}

/// Stores the device and its credential and makes the wizard's move, all in one
/// transaction: submitting the same registration twice stores one key. None when the wizard had
/// moved on; `Conflict` when the credential id is already registered (to anyone).
pub async fn create_device(
    db: &Db,
    (enrollment_id, user_id): (&str, &str),
    step: Move,
    device: NewDevice<'_>,
    credential: NewCredential<'_>,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let device_id = new_id();
    let mut tx = db.writes().begin().await?;
    if !super::enrollments::move_on(&mut tx, enrollment_id, step, &device_id, now).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    // The same key on a device of this user's that is no longer in use (removed, or already
    // purged): that old row gives way to the new one.
    sqlx::query(
        "DELETE FROM webauthn_credentials WHERE credential_id = $1 AND user_id = $2 \
         AND device_id NOT IN (SELECT id FROM devices WHERE user_id = $3 AND removed_at IS NULL)",
    )
    .bind(credential.credential_id)
    .bind(user_id)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    super::devices::insert_on(&mut tx, &device_id, user_id, &device, now).await?;
    sqlx::query(
        "INSERT INTO webauthn_credentials (id, device_id, user_id, credential_id, sealed_credential, sign_count, \
         backup_eligible, backup_state, user_verified, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(new_id())
    .bind(&device_id)
    .bind(user_id)
    .bind(credential.credential_id)
    .bind(credential.sealed_credential)
    .bind(credential.sign_count)
    .bind(i64::from(credential.backup_eligible))
    .bind(i64::from(credential.backup_state))
    .bind(i64::from(credential.user_verified))
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::from_insert)?;
    tx.commit().await?;
    Ok(Some(device_id))
}

/// After a sign-in: the new counter and flags. Conditional on the counter read before
/// verifying, so two sign-ins racing on one key cannot both move it.
pub(crate) async fn record_use_on(
    c: &mut sqlx::AnyConnection,
    key: &super::attempts::KeyUse,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE webauthn_credentials SET sealed_credential = $1, sign_count = $2, backup_eligible = $3, \
         backup_state = $4, user_verified = $5, last_used_at = $6 WHERE id = $7 AND sign_count = $8",
    )
    .bind(&key.sealed_credential)
    .bind(key.sign_count)
    .bind(i64::from(key.backup_eligible))
    .bind(i64::from(key.backup_state))
    .bind(i64::from(key.user_verified))
    .bind(now)
    .bind(&key.credential_row_id)
    .bind(key.read_sign_count)
    .execute(&mut *c)
    .await?;
    if done.rows_affected() == 1 {
        sqlx::query("UPDATE devices SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&key.device_id)
            .execute(&mut *c)
            .await?;
    }
    Ok(done.rows_affected() == 1)
}

/// Marks a credential as possibly cloned (first time only).
pub async fn flag(db: &Db, id: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE webauthn_credentials SET flagged_at = $1 WHERE id = $2 AND flagged_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(db.writes())
        .await?;
    Ok(())
}

/// Starts a ceremony for the user, replacing any earlier one for the same purpose (its challenge
/// is dead from now on).
pub async fn put_ceremony(
    db: &Db,
    user_id: &str,
    purpose: &str,
    sealed_state: &str,
    now: i64,
    expires_at: i64,
) -> Result<String, StoreError> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO webauthn_ceremonies (id, user_id, purpose, sealed_state, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id, purpose) DO UPDATE SET id = excluded.id, \
         sealed_state = excluded.sealed_state, created_at = excluded.created_at, expires_at = excluded.expires_at",
    )
    .bind(&id)
    .bind(user_id)
    .bind(purpose)
    .bind(sealed_state)
    .bind(now)
    .bind(expires_at)
    .execute(db.writes())
    .await?;
    // Ceremonies nobody finished are removed by the next one started (by anyone).
    sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at < $1").bind(now).execute(db.writes()).await?;
    Ok(id)
}

/// Takes ceremony `id` of the user for `purpose`: deleted first, returned only to the request
/// whose DELETE removed it, and only if it has not expired. Single use, also under concurrency.
pub async fn take_ceremony(
    db: &Db,
    (user_id, purpose, id): (&str, &str, &str),
    now: i64,
) -> Result<Option<String>, StoreError> {
    let row: Option<(String, String, i64)> = sqlx::query_as(
        "SELECT id, sealed_state, expires_at FROM webauthn_ceremonies WHERE id = $1 AND user_id = $2 AND purpose = $3",
    )
    .bind(id)
    .bind(user_id)
    .bind(purpose)
    .fetch_optional(db.pool())
    .await?;
    let Some((id, sealed, expires_at)) = row else { return Ok(None) };
    let done = sqlx::query("DELETE FROM webauthn_ceremonies WHERE id = $1").bind(&id).execute(db.writes()).await?;
    Ok((done.rows_affected() == 1 && expires_at > now).then_some(sealed))
}
