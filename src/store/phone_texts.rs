//! Texts the telephony simulator "sent": kept (body sealed, it holds passcodes) for the clearly
//! marked simulator page. A real carrier's texts are not stored.

use sqlx::FromRow;

use super::{Db, StoreError};
use crate::secrets::new_id;

#[derive(Debug, Clone, FromRow)]
pub struct TextRow {
    pub id: String,
    pub user_id: Option<String>,
    pub to_number: String,
    /// Sealed with context `phone-text:<id>`.
    pub body: String,
    pub created_at: i64,
}

/// Stores a text whose body the caller seals with `seal(id)`; returns the id.
pub async fn insert(
    db: &Db,
    user_id: Option<&str>,
    to_number: &str,
    seal: impl FnOnce(&str) -> Option<String>,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let id = new_id();
    let Some(body) = seal(&id) else { return Ok(None) };
    sqlx::query("INSERT INTO phone_texts (id, user_id, to_number, body, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(user_id)
        .bind(to_number)
        .bind(&body)
        .bind(now)
        .execute(db.writes())
        .await?;
    Ok(Some(id))
}

pub async fn recent(db: &Db, limit: i64) -> Result<Vec<TextRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, to_number, body, created_at FROM phone_texts ORDER BY created_at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}
