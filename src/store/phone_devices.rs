//! Phone numbers on devices and in the enrolment wizard: the number being enrolled, its
//! verification, the device it ends up on, and the one-mobile-number-per-account rule.

use sqlx::FromRow;

use super::devices::{self, NewDevice};
use super::enrollments::{self, EnrollmentRow};
use super::phone_numbers::{self, SealedPhone};
use super::{Db, StoreError};
use crate::domain::{DeviceKind, LoginAction, Move, Platform};
use crate::secrets::{Keys, new_id};

/// The number a wizard is enrolling (E.164, opened).
#[derive(Debug, Clone)]
pub struct WizardPhone {
    pub phone: Option<String>,
    pub phone_extension: Option<String>,
    pub phone_verified_at: Option<i64>,
    pub phone_call_id: Option<String>,
}

pub async fn wizard_phone(db: &Db, keys: &Keys, enrollment_id: &str) -> Result<Option<WizardPhone>, StoreError> {
    #[derive(FromRow)]
    struct Row {
        user_id: String,
        phone: Option<String>,
        phone_extension: Option<String>,
        phone_verified_at: Option<i64>,
        phone_call_id: Option<String>,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT user_id, phone, phone_extension, phone_verified_at, phone_call_id FROM enrollments WHERE id = $1",
    )
    .bind(enrollment_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(WizardPhone {
        phone: row.phone.map(|sealed| phone_numbers::open(keys, Some(&row.user_id), &sealed)).transpose()?,
        phone_extension: row.phone_extension,
        phone_verified_at: row.phone_verified_at,
        phone_call_id: row.phone_call_id,
    }))
}

/// Stores the typed number and moves on (from `from` only); any earlier verification is void.
pub async fn set_wizard_phone(
    db: &Db,
    keys: &Keys,
    enrollment: &EnrollmentRow,
    step: Move,
    phone: &str,
    extension: Option<&str>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE enrollments SET step = $1, phone = $2, phone_extension = $3, phone_verified_at = NULL, \
         phone_call_id = NULL, phone_failures = 0, updated_at = $4 WHERE id = $5 AND step = $6",
    )
    .bind(step.to.as_str())
    .bind(phone_numbers::seal(keys, Some(&enrollment.user_id), phone)?.sealed)
    .bind(extension)
    .bind(now)
    .bind(&enrollment.id)
    .bind(step.from.as_str())
    .execute(db.writes())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Counts a wrong texted code in this wizard; returns the count so far.
pub async fn wrong_code(db: &Db, enrollment_id: &str) -> Result<i64, StoreError> {
    sqlx::query("UPDATE enrollments SET phone_failures = phone_failures + 1 WHERE id = $1")
        .bind(enrollment_id)
        .execute(db.writes())
        .await?;
    let (n,): (i64,) = sqlx::query_as("SELECT phone_failures FROM enrollments WHERE id = $1")
        .bind(enrollment_id)
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}

/// Starts the wrong-code count again (after the codes were voided).
pub async fn reset_wrong_codes(db: &Db, enrollment_id: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE enrollments SET phone_failures = 0 WHERE id = $1")
        .bind(enrollment_id)
        .execute(db.writes())
        .await?;
    Ok(())
}

pub async fn set_wizard_call(db: &Db, enrollment_id: &str, call_id: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE enrollments SET phone_call_id = $1 WHERE id = $2")
        .bind(call_id)
        .bind(enrollment_id)
        .execute(db.writes())
        .await?;
    Ok(())
}

/// Marks the number verified and moves the wizard on, once.
pub async fn wizard_verified(db: &Db, enrollment_id: &str, step: Move, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE enrollments SET step = $1, phone_verified_at = $2, updated_at = $3 WHERE id = $4 AND step = $5",
    )
    .bind(step.to.as_str())
    .bind(now)
    .bind(now)
    .bind(enrollment_id)
    .bind(step.from.as_str())
    .execute(db.writes())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// True when another account has this number on a mobile phone in use. A landline may be shared.
pub async fn mobile_taken_by_other(db: &Db, keys: &Keys, phone: &str, user_id: &str) -> Result<bool, StoreError> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM devices WHERE phone_hash = $1 AND kind = 'mobile' AND user_id <> $2 AND removed_at IS NULL",
    )
    .bind(phone_numbers::hash(keys, phone))
    .bind(user_id)
    .fetch_one(db.pool())
    .await?;
    Ok(n > 0)
}

/// Puts the verified number on a device the wizard just created (the app path of a mobile phone).
pub async fn attach(
    db: &Db,
    keys: &Keys,
    user_id: &str,
    device_id: &str,
    phone: &str,
    extension: Option<&str>,
) -> Result<(), StoreError> {
    let phone = phone_numbers::seal(keys, Some(user_id), phone)?;
    sqlx::query("UPDATE devices SET phone = $1, phone_hash = $2, phone_extension = $3 WHERE id = $4 AND user_id = $5")
        .bind(&phone.sealed)
        .bind(&phone.hash)
        .bind(extension)
        .bind(device_id)
        .bind(user_id)
        .execute(db.writes())
        .await?;
    Ok(())
}

/// A phone device without an app: the number only.
pub struct NumberDevice<'a> {
    pub kind: DeviceKind,
    pub name: &'a str,
    pub phone: &'a str,
    pub extension: Option<&'a str>,
}

impl NumberDevice<'_> {
    fn device<'a>(&'a self, phone: &'a SealedPhone) -> NewDevice<'a> {
        NewDevice {
            kind: self.kind,
            platform: Platform::Other,
            name: self.name,
            login_action: LoginAction::Ask,
            totp_secret: "",
            totp_last_step: None,
            phone: Some(phone),
            extension: self.extension,
        }
    }
}

/// Stores a number-only device and makes the wizard's move in one transaction, so a double
/// submission stores one device.
pub async fn create_number_device(
    db: &Db,
    keys: &Keys,
    enrollment: &EnrollmentRow,
    step: Move,
    device: NumberDevice<'_>,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let device_id = new_id();
    let phone = phone_numbers::seal(keys, Some(&enrollment.user_id), device.phone)?;
    let mut tx = db.writes().begin().await?;
    if !enrollments::move_on(&mut tx, &enrollment.id, step, &device_id, now).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    devices::insert_on(&mut tx, &device_id, &enrollment.user_id, &device.device(&phone), now).await?;
    tx.commit().await?;
    Ok(Some(device_id))
}

/// A user's devices that have a number (E.164, opened), default first.
#[derive(Debug, Clone)]
pub struct PhoneDevice {
    pub id: String,
    pub kind: DeviceKind,
    pub name: String,
    pub phone: String,
    pub phone_extension: Option<String>,
    pub login_action: LoginAction,
    pub is_default: i64,
}

/// The phones among devices already read (`devices::list_for_user`), in the same order as `for_user`.
pub fn among(keys: &Keys, devices: &[super::devices::DeviceRow]) -> Result<Vec<PhoneDevice>, StoreError> {
    devices
        .iter()
        .filter_map(|d| {
            let sealed = d.sealed_phone.as_deref()?;
            Some(phone_numbers::open(keys, Some(&d.user_id), sealed).map(|phone| PhoneDevice {
                id: d.id.clone(),
                kind: d.kind,
                name: d.name.clone(),
                phone,
                phone_extension: d.phone_extension.clone(),
                login_action: d.login_action,
                is_default: d.is_default,
            }))
        })
        .collect()
}

pub async fn for_user(db: &Db, keys: &Keys, user_id: &str) -> Result<Vec<PhoneDevice>, StoreError> {
    let devices = devices::list_for_user(db, user_id).await?;
    among(keys, &devices)
}

/// Users with a device on this number (the console's search by phone number).
pub async fn users_with_phone(db: &Db, keys: &Keys, phone: &str) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT DISTINCT user_id FROM devices WHERE phone_hash = $1 AND removed_at IS NULL")
            .bind(phone_numbers::hash(keys, phone))
            .fetch_all(db.pool())
            .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// A phone added by the help desk for a user (identity checked by them): the number only. The
/// one-mobile-per-account rule is the wizard's; the help desk may override it.
pub async fn create_for_user(
    db: &Db,
    keys: &Keys,
    user_id: &str,
    device: NumberDevice<'_>,
    now: i64,
) -> Result<String, StoreError> {
    let device_id = new_id();
    let phone = phone_numbers::seal(keys, Some(user_id), device.phone)?;
    let mut tx = db.writes().begin().await?;
    devices::insert_on(&mut tx, &device_id, user_id, &device.device(&phone), now).await?;
    tx.commit().await?;
    Ok(device_id)
}
