//! SCIM connectors: a name and the keyed hash of the connector's bearer token.

use sqlx::FromRow;

use super::{Db, StoreError};

#[derive(Debug, Clone, FromRow)]
pub struct Connector {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub created_by: String,
    pub last_used_at: Option<i64>,
}

const CONNECTOR: &str = "id, name, created_at, created_by, last_used_at";

/// Adds a connector; `Conflict` when the name is taken.
pub async fn add_connector(db: &Db, c: &Connector, token_hash: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO scim_connectors (id, name, token_hash, created_at, created_by) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&c.id)
    .bind(&c.name)
    .bind(token_hash)
    .bind(c.created_at)
    .bind(&c.created_by)
    .execute(db.writes())
    .await
    .map_err(StoreError::from_insert)?;
    Ok(())
}

pub async fn connectors(db: &Db) -> Result<Vec<Connector>, StoreError> {
    let sql = format!("SELECT {CONNECTOR} FROM scim_connectors ORDER BY name");
    Ok(sqlx::query_as(&sql).fetch_all(db.pool()).await?)
}

pub async fn connector(db: &Db, id: &str) -> Result<Option<Connector>, StoreError> {
    let sql = format!("SELECT {CONNECTOR} FROM scim_connectors WHERE id = $1");
    Ok(sqlx::query_as(&sql).bind(id).fetch_optional(db.pool()).await?)
}

/// The connector whose token has this keyed hash.
pub async fn connector_by_token(db: &Db, token_hash: &str) -> Result<Option<Connector>, StoreError> {
    let sql = format!("SELECT {CONNECTOR} FROM scim_connectors WHERE token_hash = $1");
    Ok(sqlx::query_as(&sql).bind(token_hash).fetch_optional(db.pool()).await?)
}

/// Notes that the connector was used (at most once a minute: a sync sends thousands of requests).
pub async fn touch_connector(db: &Db, id: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE scim_connectors SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(now)
    .bind(id)
    .bind(now - 60)
    .execute(db.writes())
    .await?;
    Ok(())
}

pub async fn rotate_connector(db: &Db, id: &str, token_hash: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE scim_connectors SET token_hash = $1 WHERE id = $2")
        .bind(token_hash)
        .bind(id)
        .execute(db.writes())
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete_connector(db: &Db, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM scim_connectors WHERE id = $1").bind(id).execute(db.writes()).await?;
    Ok(done.rows_affected() == 1)
}
