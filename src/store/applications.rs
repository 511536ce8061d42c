//! Applications (integrations) and their authentication requests.

use sqlx::FromRow;

use super::{Db, StoreError};
use crate::secrets::new_id;

#[derive(Debug, Clone, FromRow)]
pub struct ApplicationRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub integration_key: String,
    /// Sealed; context `app-secret:<id>`.
    pub secret_key: String,
    pub created_at: i64,
    /// Admin API applications: what they may do (`domain::AdminPermissions`); empty otherwise.
    pub permissions: String,
}

const COLUMNS: &str = "id, name, kind, integration_key, secret_key, created_at, permissions";

pub async fn insert(
    db: &Db,
    id: &str,
    name: &str,
    kind: &str,
    ikey: &str,
    sealed_skey: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO applications (id, name, kind, integration_key, secret_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id)
        .bind(name)
        .bind(kind)
        .bind(ikey)
        .bind(sealed_skey)
        .bind(now)
        .execute(db.writes())
        .await
        .map_err(StoreError::from_insert)?;
    Ok(())
}

pub async fn by_integration_key(db: &Db, ikey: &str) -> Result<Option<ApplicationRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM applications WHERE integration_key = $1");
    Ok(sqlx::query_as(&sql).bind(ikey).fetch_optional(db.pool()).await?)
}

pub async fn list(db: &Db) -> Result<Vec<ApplicationRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM applications ORDER BY name, id");
    Ok(sqlx::query_as(&sql).fetch_all(db.pool()).await?)
}

pub async fn set_secret(db: &Db, id: &str, sealed_skey: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE applications SET secret_key = $1 WHERE id = $2")
        .bind(sealed_skey)
        .bind(id)
        .execute(db.writes())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets what an Admin API application may do (the stored form of `domain::AdminPermissions`).
pub async fn set_permissions(db: &Db, id: &str, permissions: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE applications SET permissions = $1 WHERE id = $2")
        .bind(permissions)
        .bind(id)
        .execute(db.writes())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// How many applications there are (the Admin API's `info/summary`).
pub async fn count(db: &Db) -> Result<i64, StoreError> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM applications").fetch_one(db.pool()).await?;
    Ok(n)
}

pub async fn delete(db: &Db, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM applications WHERE id = $1").bind(id).execute(db.writes()).await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone, FromRow)]
pub struct AuthRequestRow {
    pub txid: String,
    pub application_id: String,
    pub user_id: String,
    pub result: String,
    pub status: String,
    pub status_msg: String,
}

pub struct NewAuthRequest<'a> {
    pub application_id: &'a str,
    pub user_id: &'a str,
    pub factor: &'a str,
    pub result: &'a str,
    pub status: &'a str,
    pub status_msg: &'a str,
}

pub async fn insert_request(db: &Db, r: NewAuthRequest<'_>, now: i64, expires_at: i64) -> Result<String, StoreError> {
    let txid = new_id();
    let values = [r.application_id, r.user_id, r.factor, r.result, r.status, r.status_msg].map(str::to_string);
    let id = txid.clone();
    db.write_statement(move |c| {
        Box::pin(async move {
            let [application_id, user_id, factor, result, status, status_msg] = values;
            sqlx::query(
                "INSERT INTO auth_requests (txid, application_id, user_id, factor, result, status, status_msg, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(id)
            .bind(application_id)
            .bind(user_id)
            .bind(factor)
            .bind(result)
            .bind(status)
            .bind(status_msg)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *c)
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok(txid)
}

/// The change-feed topic of an auth request (`auth_status` waits on it).
pub fn request_topic(txid: &str) -> String {
    format!("auth_request:{txid}")
}

/// Records the final answer of a waiting request (once) and wakes whoever waits on it.
pub async fn finish_request(
    db: &Db,
    txid: &str,
    result: &str,
    status: &str,
    status_msg: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE auth_requests SET result = $1, status = $2, status_msg = $3 WHERE txid = $4 AND result = 'waiting'",
    )
    .bind(result)
    .bind(status)
    .bind(status_msg)
    .bind(txid)
    .execute(db.writes())
    .await?
    .rows_affected()
        == 1;
    if done {
        db.changes().publish(db, &request_topic(txid)).await?;
    }
    Ok(done)
}

/// A request made by `application_id` (another application's txid is "not found").
pub async fn request(
    db: &Db,
    application_id: &str,
    txid: &str,
    now: i64,
) -> Result<Option<AuthRequestRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT txid, application_id, user_id, result, status, status_msg FROM auth_requests \
         WHERE txid = $1 AND application_id = $2 AND expires_at > $3",
    )
    .bind(txid)
    .bind(application_id)
    .bind(now)
    .fetch_optional(db.pool())
    .await?)
}

/// Drops transactions `auth_status` can no longer read (see `request`).
pub async fn purge_expired_requests(db: &Db, now: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM auth_requests WHERE expires_at <= $1").bind(now).execute(db.writes()).await?;
    Ok(done.rows_affected())
}

/// The redirect URIs a web application may send users back to.
pub async fn redirect_uris(db: &Db, application_id: &str) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT uri FROM application_redirect_uris WHERE application_id = $1 ORDER BY uri")
            .bind(application_id)
            .fetch_all(db.pool())
            .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Replaces an application's redirect URIs.
pub async fn set_redirect_uris(db: &Db, application_id: &str, uris: &[String]) -> Result<(), StoreError> {
    let mut tx = db.writes().begin().await?;
    sqlx::query("DELETE FROM application_redirect_uris WHERE application_id = $1")
        .bind(application_id)
        .execute(&mut *tx)
        .await?;
    for uri in uris {
        sqlx::query("INSERT INTO application_redirect_uris (application_id, uri) VALUES ($1, $2)")
            .bind(application_id)
            .bind(uri)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_insert)?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<ApplicationRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM applications WHERE id = $1");
    Ok(sqlx::query_as(&sql).bind(id).fetch_optional(db.pool()).await?)
}

/// Whether an async request reached a final state (anything but `waiting`).
impl AuthRequestRow {
    pub fn is_final(&self) -> bool {
        self.result != "waiting"
    }
}
