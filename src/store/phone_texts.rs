//! Texts the telephony simulator "sent": kept (body sealed, it holds passcodes) for the clearly
//! marked simulator page. A real carrier's texts are not stored.

use sqlx::FromRow;

use super::phone_numbers;
use super::{Db, StoreError};
use crate::secrets::{Keys, new_id};

#[derive(Debug, Clone, FromRow)]
pub struct TextRow {
    pub id: String,
    pub user_id: Option<String>,
    /// E.164 (stored sealed to the user).
    pub to_number: String,
    /// Sealed with context `phone-text:<id>`.
    pub body: String,
    pub created_at: i64,
}

/// Stores a text whose body the caller seals with `seal(id)`; returns the id.
pub async fn insert(
    db: &Db,
    keys: &Keys,
    user_id: Option<&str>,
    to_number: &str,
    seal: impl FnOnce(&str) -> Option<String>,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let id = new_id();
    let Some(body) = seal(&id) else { return Ok(None) };
    let to = phone_numbers::seal(keys, user_id, to_number)?;
    sqlx::query("INSERT INTO phone_texts (id, user_id, to_number, body, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(user_id)
        .bind(&to.sealed)
        .bind(&body)
        .bind(now)
        .execute(db.writes())
        .await?;
    Ok(Some(id))
}

pub async fn recent(db: &Db, keys: &Keys, limit: i64) -> Result<Vec<TextRow>, StoreError> {
    let rows: Vec<TextRow> = sqlx::query_as(
        "SELECT id, user_id, to_number, body, created_at FROM phone_texts ORDER BY created_at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter()
        .map(|mut text| {
            text.to_number = phone_numbers::open(keys, text.user_id.as_deref(), &text.to_number)?;
            Ok(text)
        })
        .collect()
}
