//! Checked CSV uploads waiting for the administrator's "Import" (users or hardware tokens):
//! sealed, kept an hour, taken back once and only by the one who uploaded them.

use super::{Db, StoreError};

/// What was uploaded; each kind waits in its own table.
#[derive(Debug, Clone, Copy)]
pub enum Upload {
    Users,
    Tokens,
}

impl Upload {
    fn table(self) -> &'static str {
        match self {
            Upload::Users => "pending_imports",
            Upload::Tokens => "pending_token_imports",
        }
    }
}

/// How long a checked file waits for "Import".
const HOLD_SECONDS: i64 = 3600;

/// Keeps a checked file (sealed) until the administrator confirms it; drops expired ones.
pub async fn hold(db: &Db, kind: Upload, id: &str, by: &str, sealed_csv: &str, now: i64) -> Result<(), StoreError> {
    let table = kind.table();
    sqlx::query(&format!("DELETE FROM {table} WHERE created_at < $1"))
        .bind(now - HOLD_SECONDS)
        .execute(db.writes())
        .await?;
    sqlx::query(&format!("INSERT INTO {table} (id, created_by, csv, created_at) VALUES ($1, $2, $3, $4)"))
        .bind(id)
        .bind(by)
        .bind(sealed_csv)
        .bind(now)
        .execute(db.writes())
        .await?;
    Ok(())
}

/// Takes a held file back, once: only its uploader, within the hour.
pub async fn take(db: &Db, kind: Upload, id: &str, by: &str, now: i64) -> Result<Option<String>, StoreError> {
    let table = kind.table();
    let row: Option<(String,)> =
        sqlx::query_as(&format!("SELECT csv FROM {table} WHERE id = $1 AND created_by = $2 AND created_at > $3"))
            .bind(id)
            .bind(by)
            .bind(now - HOLD_SECONDS)
            .fetch_optional(db.pool())
            .await?;
    let gone = sqlx::query(&format!("DELETE FROM {table} WHERE id = $1 AND created_by = $2"))
        .bind(id)
        .bind(by)
        .execute(db.writes())
        .await?;
    // Single use: of two confirmations at once, only the one that deleted the row proceeds.
    Ok(row.map(|r| r.0).filter(|_| gone.rows_affected() == 1))
}
