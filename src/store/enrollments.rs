//! Enrolment wizard state: one row per user, so a restart or another instance never loses
//! progress. The step column holds `domain::EnrollStep`; moves are conditional on the step.

use sqlx::FromRow;

use super::{Db, StoreError};
use crate::secrets::new_id;

#[derive(Debug, Clone, FromRow)]
pub struct EnrollmentRow {
    pub id: String,
    pub user_id: String,
    pub step: String,
    pub device_kind: Option<String>,
    pub platform: Option<String>,
    pub totp_secret: Option<String>,
    pub totp_last_step: Option<i64>,
    pub device_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
}

const COLUMNS: &str = "id, user_id, step, device_kind, platform, totp_secret, totp_last_step, device_id, \
                       created_at, updated_at, expires_at";

/// Starts a new wizard for the user, replacing any unfinished one. One upsert, so two starts at
/// the same moment (two browsers) never collide on the one-wizard-per-user rule.
pub async fn start(
    db: &Db,
    user_id: &str,
    first_step: &str,
    now: i64,
    expires_at: i64,
) -> Result<EnrollmentRow, StoreError> {
    sqlx::query(
        "INSERT INTO enrollments (id, user_id, step, created_at, updated_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (user_id) DO UPDATE SET id = excluded.id, step = excluded.step, device_kind = NULL, platform = NULL, \
         totp_secret = NULL, totp_last_step = NULL, device_id = NULL, created_at = excluded.created_at, \
         updated_at = excluded.updated_at, expires_at = excluded.expires_at",
    )
    .bind(new_id())
    .bind(user_id)
    .bind(first_step)
    .bind(now)
    .bind(now)
    .bind(expires_at)
    .execute(db.writes())
    .await?;
    current(db, user_id, now).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))
}

/// The user's wizard in progress, unless it has expired.
pub async fn current(db: &Db, user_id: &str, now: i64) -> Result<Option<EnrollmentRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM enrollments WHERE user_id = $1 AND expires_at > $2");
    Ok(sqlx::query_as(&sql).bind(user_id).bind(now).fetch_optional(db.pool()).await?)
}

/// Field changes that go with a move to the next step.
#[derive(Debug, Default)]
pub struct StepChange<'a> {
    pub device_kind: Option<&'a str>,
    pub platform: Option<&'a str>,
    pub totp_secret: Option<&'a str>,
}

/// Moves the wizard from `from` to `to`, if it is still at `from`; true if it moved.
pub async fn advance(
    db: &Db,
    id: &str,
    from: &str,
    to: &str,
    change: StepChange<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE enrollments SET step = $1, device_kind = COALESCE($2, device_kind), \
         platform = COALESCE($3, platform), totp_secret = COALESCE($4, totp_secret), updated_at = $5 \
         WHERE id = $6 AND step = $7",
    )
    .bind(to)
    .bind(change.device_kind)
    .bind(change.platform)
    .bind(change.totp_secret)
    .bind(now)
    .bind(id)
    .bind(from)
    .execute(db.writes())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A verified device, ready to be stored.
pub struct VerifiedDevice<'a> {
    pub kind: &'a str,
    pub platform: &'a str,
    pub name: &'a str,
    pub login_action: &'a str,
    pub totp_secret: &'a str,
    pub totp_last_step: i64,
}

/// Creates the device and moves the wizard from `from` to `to` in one transaction: a device is
/// stored exactly once even if the verification form is submitted twice at the same moment.
pub async fn create_device(
    db: &Db,
    enrollment: &EnrollmentRow,
    from: &str,
    to: &str,
    device: VerifiedDevice<'_>,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let device_id = new_id();
    let mut tx = db.writes().begin().await?;
    let moved =
        sqlx::query("UPDATE enrollments SET step = $1, device_id = $2, updated_at = $3 WHERE id = $4 AND step = $5")
            .bind(to)
            .bind(&device_id)
            .bind(now)
            .bind(&enrollment.id)
            .bind(from)
            .execute(&mut *tx)
            .await?;
    if moved.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(None);
    }
    sqlx::query(
        "INSERT INTO devices (id, user_id, kind, platform, name, login_action, totp_secret, totp_last_step, created_at, \
         is_default) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         (SELECT CASE WHEN COUNT(*) = 0 THEN 1 ELSE 0 END FROM devices WHERE user_id = $10 AND removed_at IS NULL))",
    )
    .bind(&device_id)
    .bind(&enrollment.user_id)
    .bind(device.kind)
    .bind(device.platform)
    .bind(device.name)
    .bind(device.login_action)
    .bind(device.totp_secret)
    .bind(device.totp_last_step)
    .bind(now)
    .bind(&enrollment.user_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE users SET enrolled_at = COALESCE(enrolled_at, $1) WHERE id = $2")
        .bind(now)
        .bind(&enrollment.user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(device_id))
}

/// Saves "Device options" for the enrolled device and moves the wizard on.
pub async fn save_options(
    db: &Db,
    enrollment: &EnrollmentRow,
    from: &str,
    to: &str,
    name: &str,
    login_action: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let Some(device_id) = &enrollment.device_id else { return Ok(false) };
    let mut tx = db.writes().begin().await?;
    let moved = sqlx::query("UPDATE enrollments SET step = $1, updated_at = $2 WHERE id = $3 AND step = $4")
        .bind(to)
        .bind(now)
        .bind(&enrollment.id)
        .bind(from)
        .execute(&mut *tx)
        .await?;
    if moved.rows_affected() != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::query(
        "UPDATE devices SET name = $1, login_action = $2 WHERE id = $3 AND user_id = $4 AND removed_at IS NULL",
    )
    .bind(name)
    .bind(login_action)
    .bind(device_id)
    .bind(&enrollment.user_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn finish(db: &Db, user_id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM enrollments WHERE user_id = $1").bind(user_id).execute(db.writes()).await?;
    Ok(())
}
