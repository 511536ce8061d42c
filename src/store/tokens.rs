//! Hardware tokens: the imported inventory, claiming and assigning (a token becomes a device of
//! its user), unassigning, marking lost, and counters that only move forward.

use sqlx::FromRow;

use super::devices::NewDevice;
use super::{Db, StoreError};
use crate::domain::{DeviceKind, LoginAction, Move, Platform};
use crate::secrets::new_id;

#[derive(Debug, Clone, FromRow)]
pub struct TokenRow {
    pub id: String,
    pub serial: String,
    pub kind: String,
    /// Sealed with the master key; context `hardware-token:<id>`.
    pub secret: String,
    pub digits: i64,
    pub period: i64,
    pub counter: i64,
    pub public_id: Option<String>,
    pub status: String,
    pub user_id: Option<String>,
    pub device_id: Option<String>,
    pub imported_at: i64,
    pub imported_by: String,
    pub assigned_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str = "id, serial, kind, secret, digits, period, counter, public_id, status, user_id, device_id, \
                       imported_at, imported_by, assigned_at, last_used_at";

/// A token ready to be stored: its id was chosen before its secret was sealed (the id is the context).
pub struct NewToken {
    pub id: String,
    pub serial: String,
    pub kind: &'static str,
    pub sealed_secret: String,
    pub digits: i64,
    pub period: i64,
    pub counter: i64,
    pub public_id: Option<String>,
}

/// Every serial and public id already in the inventory (to report duplicates per line).
pub async fn taken_identifiers(db: &Db) -> Result<Vec<(String, Option<String>)>, StoreError> {
    Ok(sqlx::query_as("SELECT serial, public_id FROM hardware_tokens").fetch_all(db.pool()).await?)
}

/// Stores all tokens or none (one transaction; a serial taken meanwhile is a `Conflict`).
pub async fn insert_all(db: &Db, tokens: &[NewToken], by: &str, now: i64) -> Result<usize, StoreError> {
    let mut tx = db.writes().begin().await?;
    for t in tokens {
        sqlx::query(
            "INSERT INTO hardware_tokens (id, serial, kind, secret, digits, period, counter, public_id, status, \
             imported_at, imported_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'available', $9, $10)",
        )
        .bind(&t.id)
        .bind(&t.serial)
        .bind(t.kind)
        .bind(&t.sealed_secret)
        .bind(t.digits)
        .bind(t.period)
        .bind(t.counter)
        .bind(t.public_id.as_deref())
        .bind(now)
        .bind(by)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_insert)?;
    }
    tx.commit().await?;
    Ok(tokens.len())
}

pub async fn by_serial(db: &Db, serial: &str) -> Result<Option<TokenRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM hardware_tokens WHERE serial = $1");
    Ok(sqlx::query_as(&sql).bind(serial).fetch_optional(db.pool()).await?)
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<TokenRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM hardware_tokens WHERE id = $1");
    Ok(sqlx::query_as(&sql).bind(id).fetch_optional(db.pool()).await?)
}

/// The tokens assigned to (or lost by) a user, for the console.
pub async fn of_user(db: &Db, user_id: &str) -> Result<Vec<TokenRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM hardware_tokens WHERE user_id = $1 ORDER BY serial");
    Ok(sqlx::query_as(&sql).bind(user_id).fetch_all(db.pool()).await?)
}

/// The tokens that may verify for a user: assigned to them, not lost, and their device in use.
pub async fn usable_for_user(db: &Db, user_id: &str) -> Result<Vec<TokenRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM hardware_tokens WHERE user_id = $1 AND status = 'assigned' AND device_id IN \
         (SELECT id FROM devices WHERE user_id = $2 AND removed_at IS NULL) ORDER BY serial"
    );
    Ok(sqlx::query_as(&sql).bind(user_id).bind(user_id).fetch_all(db.pool()).await?)
}

/// The inventory page: counts by status and the most recently imported tokens.
pub async fn inventory(db: &Db, limit: i64) -> Result<(Vec<(String, i64)>, Vec<TokenRow>), StoreError> {
    let counts = sqlx::query_as("SELECT status, COUNT(*) FROM hardware_tokens GROUP BY status ORDER BY status")
        .fetch_all(db.pool())
        .await?;
    let sql = format!("SELECT {COLUMNS} FROM hardware_tokens ORDER BY imported_at DESC, serial LIMIT $1");
    let rows = sqlx::query_as(&sql).bind(limit).fetch_all(db.pool()).await?;
    Ok((counts, rows))
}

/// Records that `new_counter` was reached. Single use: only a strictly higher value is stored, in
/// one conditional statement, so of concurrent submissions of one code exactly one wins; a lost
/// or unassigned token never moves.
pub async fn advance_counter(db: &Db, id: &str, new_counter: i64, now: i64) -> Result<bool, StoreError> {
    let mut conn = db.writes().acquire().await?;
    advance_counter_on(&mut conn, id, new_counter, now).await
}

/// `advance_counter` on the caller's transaction (see `attempts`).
pub(crate) async fn advance_counter_on(
    c: &mut sqlx::AnyConnection,
    id: &str,
    new_counter: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE hardware_tokens SET counter = $1, last_used_at = $2 WHERE id = $3 AND status = 'assigned' AND counter < $4",
    )
    .bind(new_counter)
    .bind(now)
    .bind(id)
    .bind(new_counter)
    .execute(&mut *c)
    .await?;
    if done.rows_affected() == 1 {
        sqlx::query(
            "UPDATE devices SET last_used_at = $1 WHERE id = (SELECT device_id FROM hardware_tokens WHERE id = $2)",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *c)
        .await?;
    }
    Ok(done.rows_affected() == 1)
}

/// How a token reaches its user: the wizard (which moves on in the same transaction) or the help desk.
#[derive(Debug, Clone, Copy)]
pub enum Claim<'a> {
    Wizard { enrollment_id: &'a str, step: Move, counter: i64 },
    HelpDesk,
}

/// Gives an available token to `user_id` as a new device, in one transaction: the token moves from
/// `available` only once (of two concurrent claims exactly one wins), and the device, the wizard
/// step and the counter just verified are stored with it or not at all. Gives the device id.
pub async fn claim(
    db: &Db,
    token: &TokenRow,
    user_id: &str,
    device_name: &str,
    how: Claim<'_>,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let device_id = new_id();
    let mut conn = db.writes().acquire().await?;
    let claimed = claim_on(&mut conn, &token.id, token.counter, user_id, (&device_id, device_name), how, now).await?;
    Ok(claimed.then_some(device_id))
}

/// `claim` on the caller's connection (see `attempts`), all or nothing in a savepoint of its own:
/// false, and nothing written, when the token or the wizard has moved on meanwhile.
pub(crate) async fn claim_on(
    c: &mut sqlx::AnyConnection,
    token_id: &str,
    stored_counter: i64,
    user_id: &str,
    (device_id, device_name): (&str, &str),
    how: Claim<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    use sqlx::Connection;
    let mut tx = c.begin().await?;
    if let Claim::Wizard { enrollment_id, step, .. } = how {
        // The wizard records what it enrolled as it moves on.
        sqlx::query("UPDATE enrollments SET device_kind = 'hardware_token', platform = 'other' WHERE id = $1")
            .bind(enrollment_id)
            .execute(&mut *tx)
            .await?;
        if !super::enrollments::move_on(&mut tx, enrollment_id, step, device_id, now).await? {
            tx.rollback().await?;
            return Ok(false);
        }
    }
    let counter = match how {
        Claim::Wizard { counter, .. } => counter,
        Claim::HelpDesk => stored_counter,
    };
    let taken = sqlx::query(
        "UPDATE hardware_tokens SET status = 'assigned', user_id = $1, device_id = $2, assigned_at = $3, counter = $4 \
         WHERE id = $5 AND status = 'available' AND counter <= $6",
    )
    .bind(user_id)
    .bind(device_id)
    .bind(now)
    .bind(counter)
    .bind(token_id)
    .bind(counter)
    .execute(&mut *tx)
    .await?;
    if taken.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    let device = NewDevice {
        kind: DeviceKind::HardwareToken,
        platform: Platform::Other,
        name: device_name,
        login_action: LoginAction::Ask,
        totp_secret: "",
        totp_last_step: None,
        phone: None,
        extension: None,
    };
    super::devices::insert_on(&mut tx, device_id, user_id, &device, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Takes a token away from its user: `available` again (unassign) or `lost` (never verifies
/// again, for good: a lost token is never released again). Its device is removed in the same
/// transaction. False when it is not the user's assigned token.
pub async fn release(db: &Db, token_id: &str, user_id: &str, status: &str, now: i64) -> Result<bool, StoreError> {
    let mut tx = db.writes().begin().await?;
    let device: Option<(Option<String>,)> =
        sqlx::query_as("SELECT device_id FROM hardware_tokens WHERE id = $1 AND user_id = $2 AND status = 'assigned'")
            .bind(token_id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((device_id,)) = device else {
        tx.rollback().await?;
        return Ok(false);
    };
    let keep_user = status == "lost";
    let done = sqlx::query(
        "UPDATE hardware_tokens SET status = $1, user_id = CASE WHEN $2 = 1 THEN user_id ELSE NULL END, \
         device_id = CASE WHEN $3 = 1 THEN device_id ELSE NULL END WHERE id = $4 AND user_id = $5 AND status = 'assigned'",
    )
    .bind(status)
    .bind(i64::from(keep_user))
    .bind(i64::from(keep_user))
    .bind(token_id)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    if let Some(device_id) = device_id {
        sqlx::query(
            "UPDATE devices SET removed_at = $1, is_default = 0 WHERE id = $2 AND user_id = $3 AND removed_at IS NULL",
        )
        .bind(now)
        .bind(&device_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        super::devices::pass_on_default(&mut tx, user_id).await?;
    }
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}
