//! RADIUS clients added in the console. The shared secret is sealed by the caller (`radius`
//! opens it); networks and groups are stored as comma-separated text.

use sqlx::FromRow;

use super::{Db, StoreError};

#[derive(Debug, Clone, FromRow)]
pub struct RadiusClientRow {
    pub id: String,
    pub name: String,
    pub networks: String,
    /// Sealed; context `radius-secret:<id>`.
    pub secret_sealed: String,
    pub mode: String,
    pub group_names: String,
    pub require_message_authenticator: i64,
    pub created_at: i64,
}

const COLUMNS: &str = "id, name, networks, secret_sealed, mode, group_names, require_message_authenticator, created_at";

pub struct NewRadiusClient<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub networks: &'a str,
    pub secret_sealed: &'a str,
    pub mode: &'a str,
    pub group_names: &'a str,
    pub require_message_authenticator: bool,
}

/// Adds a client; `StoreError::Conflict` when the name is taken.
pub async fn insert(db: &Db, c: NewRadiusClient<'_>, now: i64) -> Result<(), StoreError> {
    let sql = format!("INSERT INTO radius_clients ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
    sqlx::query(&sql)
        .bind(c.id)
        .bind(c.name)
        .bind(c.networks)
        .bind(c.secret_sealed)
        .bind(c.mode)
        .bind(c.group_names)
        .bind(i64::from(c.require_message_authenticator))
        .bind(now)
        .execute(db.writes())
        .await
        .map_err(StoreError::from_insert)?;
    Ok(())
}

pub async fn list(db: &Db) -> Result<Vec<RadiusClientRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM radius_clients ORDER BY name, id");
    Ok(sqlx::query_as(&sql).fetch_all(db.pool()).await?)
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<RadiusClientRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM radius_clients WHERE id = $1");
    Ok(sqlx::query_as(&sql).bind(id).fetch_optional(db.pool()).await?)
}

pub async fn set_secret(db: &Db, id: &str, secret_sealed: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE radius_clients SET secret_sealed = $1 WHERE id = $2")
        .bind(secret_sealed)
        .bind(id)
        .execute(db.writes())
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(db: &Db, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM radius_clients WHERE id = $1").bind(id).execute(db.writes()).await?;
    Ok(done.rows_affected() == 1)
}
