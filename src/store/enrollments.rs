//! Enrolment wizard state: one row per user, so a restart or another instance never loses
//! progress. The step column holds `domain::EnrollStep`; moves are conditional on the step.

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::devices::{self, NewDevice};
use super::{Db, StoreError};
use crate::domain::{DeviceKind, EnrollStep, LoginAction, Move, Platform};
use crate::secrets::new_id;

#[derive(Debug, Clone)]
pub struct EnrollmentRow {
    pub id: String,
    pub user_id: String,
    pub step: EnrollStep,
    pub device_kind: Option<DeviceKind>,
    pub platform: Option<Platform>,
    pub totp_secret: Option<String>,
    pub totp_last_step: Option<i64>,
    pub device_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
}

/// Read by hand: the step and the choices so far are typed, and an unknown stored value is an
/// error (`Option<enum>` has no `try_from` in the derive).
impl FromRow<'_, AnyRow> for EnrollmentRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let bad = |column: &str, e: String| sqlx::Error::ColumnDecode { index: column.into(), source: e.into() };
        let step: String = row.try_get("step")?;
        let kind: Option<String> = row.try_get("device_kind")?;
        let platform: Option<String> = row.try_get("platform")?;
        Ok(Self {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            step: EnrollStep::parse(&step).ok_or_else(|| bad("step", format!("unknown wizard step {step:?}")))?,
            device_kind: kind.map(|k| DeviceKind::parse(&k).map_err(|e| bad("device_kind", e.0))).transpose()?,
            platform: platform.map(|p| Platform::parse(&p).map_err(|e| bad("platform", e.0))).transpose()?,
            totp_secret: row.try_get("totp_secret")?,
            totp_last_step: row.try_get("totp_last_step")?,
            device_id: row.try_get("device_id")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            expires_at: row.try_get("expires_at")?,
        })
    }
}

const COLUMNS: &str = "id, user_id, step, device_kind, platform, totp_secret, totp_last_step, device_id, \
                       created_at, updated_at, expires_at";

/// Starts a new wizard for the user, replacing any unfinished one. One upsert, so two starts at
/// the same moment (two browsers) never collide on the one-wizard-per-user rule.
pub async fn start(db: &Db, user_id: &str, now: i64, expires_at: i64) -> Result<EnrollmentRow, StoreError> {
    sqlx::query(
        "INSERT INTO enrollments (id, user_id, step, created_at, updated_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (user_id) DO UPDATE SET id = excluded.id, step = excluded.step, device_kind = NULL, platform = NULL, \
         totp_secret = NULL, totp_last_step = NULL, device_id = NULL, created_at = excluded.created_at, \
         updated_at = excluded.updated_at, expires_at = excluded.expires_at",
    )
    .bind(new_id())
    .bind(user_id)
    .bind(EnrollStep::FIRST.as_str())
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
    pub device_kind: Option<DeviceKind>,
    pub platform: Option<Platform>,
    pub totp_secret: Option<&'a str>,
}

/// Makes the wizard's move, if it is still at the move's step; true if it moved.
pub async fn advance(db: &Db, id: &str, step: Move, change: StepChange<'_>, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE enrollments SET step = $1, device_kind = COALESCE($2, device_kind), \
         platform = COALESCE($3, platform), totp_secret = COALESCE($4, totp_secret), updated_at = $5 \
         WHERE id = $6 AND step = $7",
    )
    .bind(step.to.as_str())
    .bind(change.device_kind.map(DeviceKind::as_str))
    .bind(change.platform.map(Platform::as_str))
    .bind(change.totp_secret)
    .bind(now)
    .bind(id)
    .bind(step.from.as_str())
    .execute(db.writes())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves the wizard on (only from the move's step) and records the device it stored, on the
/// caller's transaction; false when the wizard had moved already (the caller then stores nothing).
pub(crate) async fn move_on(
    c: &mut sqlx::AnyConnection,
    enrollment_id: &str,
    step: Move,
    device_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let moved =
        sqlx::query("UPDATE enrollments SET step = $1, device_id = $2, updated_at = $3 WHERE id = $4 AND step = $5")
            .bind(step.to.as_str())
            .bind(device_id)
            .bind(now)
            .bind(enrollment_id)
            .bind(step.from.as_str())
            .execute(&mut *c)
            .await?;
    Ok(moved.rows_affected() == 1)
}

/// Creates the device and makes the wizard's move in one transaction: a device is stored
/// exactly once even if the verification form is submitted twice at the same moment.
pub async fn create_device(
    db: &Db,
    enrollment: &EnrollmentRow,
    step: Move,
    device: NewDevice<'_>,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let device_id = new_id();
    let mut tx = db.writes().begin().await?;
    if !move_on(&mut tx, &enrollment.id, step, &device_id, now).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    devices::insert_on(&mut tx, &device_id, &enrollment.user_id, &device, now).await?;
    tx.commit().await?;
    Ok(Some(device_id))
}

/// Saves "Device options" for the enrolled device and moves the wizard on.
pub async fn save_options(
    db: &Db,
    enrollment: &EnrollmentRow,
    step: Move,
    name: &str,
    login_action: LoginAction,
    now: i64,
) -> Result<bool, StoreError> {
    let Some(device_id) = &enrollment.device_id else { return Ok(false) };
    let mut tx = db.writes().begin().await?;
    let moved = sqlx::query("UPDATE enrollments SET step = $1, updated_at = $2 WHERE id = $3 AND step = $4")
        .bind(step.to.as_str())
        .bind(now)
        .bind(&enrollment.id)
        .bind(step.from.as_str())
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
    .bind(login_action.as_str())
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
