//! The method each user last signed in with, per device and per application: written with the
//! sign-in itself (`attempts`), read by the prompt to show it first.

use sqlx::AnyConnection;

use super::attempts::Consume;
use super::{Db, StoreError};
use crate::domain::prompt_choice::{LastUse, PromptMethod};

/// The portal's own sign-ins (no application) are remembered under this name.
pub const PORTAL: &str = "";

/// Remembers what `consume` used, on the sign-in's transaction. Codes that belong to no device
/// (backup, temporary, recovery), trusted browsers and token claims are not remembered.
pub(crate) async fn remember_on(
    c: &mut AnyConnection,
    user_id: &str,
    application: &str,
    consume: &Consume,
    now: i64,
) -> Result<(), StoreError> {
    let (method, device) = match consume {
        Consume::TotpStep { device_id, .. } => (PromptMethod::Passcode, Some(device_id.clone())),
        Consume::SecurityKey(key) => (PromptMethod::SecurityKey, Some(key.device_id.clone())),
        Consume::TokenCounter { token_id, .. } => {
            let sql = "SELECT device_id FROM hardware_tokens WHERE id = $1";
            (PromptMethod::Passcode, device_of(c, sql, token_id, None).await?)
        }
        Consume::PhoneCode { purpose, hash } => {
            let row: Option<(Option<String>,)> = sqlx::query_as(
                "SELECT device_id FROM phone_codes WHERE code_hash = $1 AND user_id = $2 AND purpose = $3 \
                 ORDER BY created_at DESC",
            )
            .bind(hash)
            .bind(user_id)
            .bind(*purpose)
            .fetch_optional(&mut *c)
            .await?;
            (PromptMethod::Text, row.and_then(|(d,)| d))
        }
        Consume::PushApproval { id, .. } => {
            let sql = "SELECT device_id FROM push_requests WHERE id = $1 AND user_id = $2";
            (PromptMethod::Push, device_of(c, sql, id, Some(user_id)).await?)
        }
        Consume::CallAnswer { id } => {
            let sql = "SELECT device_id FROM phone_calls WHERE id = $1 AND user_id = $2";
            (PromptMethod::Call, device_of(c, sql, id, Some(user_id)).await?)
        }
        Consume::BackupCode { .. }
        | Consume::OneTimeCode { .. }
        | Consume::TrustedBrowser { .. }
        | Consume::TokenClaim(_) => return Ok(()),
    };
    let Some(device) = device else { return Ok(()) };
    // The newest sign-in must stay the newest even when two fall in the same second (the prompt
    // chooses the device by it): it is stamped after every earlier one.
    let (latest,): (Option<i64>,) =
        sqlx::query_as("SELECT MAX(used_at) FROM last_methods WHERE user_id = $1 AND application = $2")
            .bind(user_id)
            .bind(application)
            .fetch_one(&mut *c)
            .await?;
    let stamp = latest.map_or(now, |l| now.max(l + 1));
    sqlx::query(
        "INSERT INTO last_methods (user_id, application, device_id, method, used_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (user_id, application, device_id) DO UPDATE SET method = excluded.method, used_at = excluded.used_at",
    )
    .bind(user_id)
    .bind(application)
    .bind(&device)
    .bind(method.as_str())
    .bind(stamp)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The device a consumed row belongs to (`sql` takes the row's id and, if given, the user).
async fn device_of(
    c: &mut AnyConnection,
    sql: &str,
    id: &str,
    user_id: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let mut query = sqlx::query_as::<_, (Option<String>,)>(sql).bind(id);
    if let Some(user_id) = user_id {
        query = query.bind(user_id);
    }
    Ok(query.fetch_optional(&mut *c).await?.and_then(|(d,)| d))
}

/// What the user last used at `application`, one entry per device still in use.
pub async fn for_user(db: &Db, user_id: &str, application: &str) -> Result<Vec<LastUse>, StoreError> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT l.device_id, l.method, l.used_at FROM last_methods l JOIN devices d ON d.id = l.device_id \
         WHERE l.user_id = $1 AND l.application = $2 AND d.removed_at IS NULL",
    )
    .bind(user_id)
    .bind(application)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(device_id, method, at)| Some(LastUse { device_id, method: PromptMethod::parse(&method)?, at }))
        .collect())
}
