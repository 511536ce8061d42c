//! Phones the Admin API created before giving them to a user (Duo's order: a phone, then
//! `users/{id}/phones`). The number is sealed like every stored number; given to a user, the
//! phone becomes that user's device under the same id, so the id Duo clients kept still works.

use sqlx::FromRow;

use super::devices::{self, NewDevice};
use super::phone_numbers;
use super::{Db, StoreError};
use crate::domain::{DeviceKind, LoginAction, Platform};
use crate::secrets::{Keys, new_id};

#[derive(Debug, Clone, FromRow)]
struct Row {
    id: String,
    kind: String,
    name: String,
    phone: String,
    extension: Option<String>,
    created_at: i64,
}

/// A phone that belongs to nobody yet, its number opened.
#[derive(Debug, Clone)]
pub struct LoosePhone {
    pub id: String,
    pub kind: DeviceKind,
    pub name: String,
    pub phone: String,
    pub extension: Option<String>,
    pub created_at: i64,
}

impl LoosePhone {
    /// The number as the audit log writes numbers (most digits hidden).
    pub fn phone_masked(&self) -> String {
        crate::domain::PhoneNumber::from_e164(&self.phone).map(|p| p.masked()).unwrap_or_else(|_| "a number".into())
    }
}

fn opened(keys: &Keys, r: Row) -> Result<LoosePhone, StoreError> {
    Ok(LoosePhone {
        kind: DeviceKind::parse(&r.kind).map_err(|_| StoreError::Sealed)?,
        phone: phone_numbers::open(keys, None, &r.phone)?,
        id: r.id,
        name: r.name,
        extension: r.extension,
        created_at: r.created_at,
    })
}

pub struct NewLoosePhone<'a> {
    pub kind: DeviceKind,
    pub name: &'a str,
    pub phone: &'a str,
    pub extension: Option<&'a str>,
}

pub async fn insert(db: &Db, keys: &Keys, p: NewLoosePhone<'_>, now: i64) -> Result<String, StoreError> {
    let id = new_id();
    let sealed = phone_numbers::seal(keys, None, p.phone)?;
    sqlx::query(
        "INSERT INTO admin_api_phones (id, kind, name, phone, extension, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(p.kind.as_str())
    .bind(p.name)
    .bind(&sealed.sealed)
    .bind(p.extension)
    .bind(now)
    .execute(db.writes())
    .await?;
    Ok(id)
}

pub async fn by_id(db: &Db, keys: &Keys, id: &str) -> Result<Option<LoosePhone>, StoreError> {
    let row: Option<Row> =
        sqlx::query_as("SELECT id, kind, name, phone, extension, created_at FROM admin_api_phones WHERE id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    row.map(|r| opened(keys, r)).transpose()
}

/// Every loose phone, oldest first.
pub async fn list(db: &Db, keys: &Keys) -> Result<Vec<LoosePhone>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, kind, name, phone, extension, created_at FROM admin_api_phones ORDER BY created_at, id",
    )
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(|r| opened(keys, r)).collect()
}

pub async fn delete(db: &Db, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM admin_api_phones WHERE id = $1").bind(id).execute(db.writes()).await?;
    Ok(done.rows_affected() == 1)
}

/// Gives the loose phone to `user_id`: in one transaction it leaves this table and becomes the
/// user's device with the same id (number sealed for the user). False when it was taken meanwhile.
pub async fn give(db: &Db, keys: &Keys, phone: &LoosePhone, user_id: &str, now: i64) -> Result<bool, StoreError> {
    let sealed = phone_numbers::seal(keys, Some(user_id), &phone.phone)?;
    let mut tx = db.writes().begin().await?;
    let taken = sqlx::query("DELETE FROM admin_api_phones WHERE id = $1").bind(&phone.id).execute(&mut *tx).await?;
    if taken.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    let device = NewDevice {
        kind: phone.kind,
        platform: Platform::Other,
        name: &phone.name,
        login_action: LoginAction::Ask,
        totp_secret: "",
        totp_last_step: None,
        phone: Some(&sealed),
        extension: phone.extension.as_deref(),
    };
    devices::insert_on(&mut tx, &phone.id, user_id, &device, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Whose device `device_id` is (a device in use), for the Admin API's `phones/{id}`.
pub async fn device_owner(db: &Db, device_id: &str) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> = sqlx::query_as("SELECT user_id FROM devices WHERE id = $1 AND removed_at IS NULL")
        .bind(device_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| r.0))
}

/// Counts for `info/summary`: loose phones and devices with a number.
pub async fn count_phones(db: &Db) -> Result<i64, StoreError> {
    let (loose,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM admin_api_phones").fetch_one(db.pool()).await?;
    let (owned,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM devices WHERE phone IS NOT NULL AND removed_at IS NULL")
            .fetch_one(db.pool())
            .await?;
    Ok(loose + owned)
}

/// Every device in use that has a number: (device id, user id), oldest first.
pub async fn owned(db: &Db) -> Result<Vec<(String, String)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, user_id FROM devices WHERE phone IS NOT NULL AND removed_at IS NULL ORDER BY created_at, id",
    )
    .fetch_all(db.pool())
    .await?)
}
