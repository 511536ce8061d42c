//! What SCIM provisioning reads and writes (issue 18; connectors are `scim_connectors`): the
//! User documents beside the accounts they describe, and SCIM groups, whose membership is
//! `user_groups` under the group's name. SCIM sees ordinary accounts that no directory owns:
//! staff accounts (administrators, help desk) and directory accounts are outside its reach.

use sqlx::FromRow;

use super::phone_numbers::SealedPhone;
use super::{Db, StoreError};

/// The accounts SCIM may read and write (`u` is `users`).
pub const REACHABLE: &str = "u.role = 'user' AND u.source <> 'directory'";

/// An account as SCIM sees it, with the document a connector last wrote (none for an account
/// SCIM has not written yet).
#[derive(Debug, Clone, FromRow)]
pub struct ScimUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub status: String,
    pub source: String,
    pub external_id: Option<String>,
    pub created_at: i64,
    pub document: Option<String>,
    pub updated_at: Option<i64>,
}

const USER: &str = "SELECT u.id, u.username, u.email, u.display_name, u.status, u.source, u.external_id, \
                    u.created_at, s.document, s.updated_at FROM users u LEFT JOIN scim_users s ON s.user_id = u.id";

/// How to narrow a list of users.
#[derive(Debug, Clone)]
pub enum UserQuery<'a> {
    All,
    Id(&'a str),
    Username(&'a str),
    ExternalId(&'a str),
}

fn user_where(q: &UserQuery<'_>) -> (String, Option<String>) {
    match q {
        UserQuery::All => (REACHABLE.to_string(), None),
        UserQuery::Id(id) => (format!("{REACHABLE} AND u.id = $1"), Some(id.to_string())),
        UserQuery::Username(name) => (format!("{REACHABLE} AND u.username = $1"), Some(name.to_lowercase())),
        UserQuery::ExternalId(x) => {
            (format!("{REACHABLE} AND u.source = 'scim' AND u.external_id = $1"), Some(x.to_string()))
        }
    }
}

/// One page of users (`offset` from 0) and how many match in all.
pub async fn users(db: &Db, q: &UserQuery<'_>, offset: i64, limit: i64) -> Result<(Vec<ScimUser>, i64), StoreError> {
    let (cond, bind) = user_where(q);
    let sql = format!("{USER} WHERE {cond} ORDER BY u.created_at, u.id LIMIT {limit} OFFSET {offset}");
    let count_sql = format!("SELECT COUNT(*) FROM users u WHERE {cond}");
    let (rows, total): (Vec<ScimUser>, (i64,)) = match bind {
        Some(b) => (
            sqlx::query_as(&sql).bind(&b).fetch_all(db.pool()).await?,
            sqlx::query_as(&count_sql).bind(&b).fetch_one(db.pool()).await?,
        ),
        None => {
            (sqlx::query_as(&sql).fetch_all(db.pool()).await?, sqlx::query_as(&count_sql).fetch_one(db.pool()).await?)
        }
    };
    Ok((rows, total.0))
}

pub async fn user(db: &Db, id: &str) -> Result<Option<ScimUser>, StoreError> {
    Ok(users(db, &UserQuery::Id(id), 0, 1).await?.0.into_iter().next())
}

/// Whether the username belongs to an account SCIM may not reach (staff, directory).
pub async fn username_out_of_reach(db: &Db, username: &str) -> Result<bool, StoreError> {
    let row: Option<(String,)> =
        sqlx::query_as(&format!("SELECT u.id FROM users u WHERE u.username = $1 AND NOT ({REACHABLE})"))
            .bind(username)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.is_some())
}

/// An account as a connector describes it.
#[derive(Debug, Clone)]
pub struct UserWrite {
    pub id: String,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub active: bool,
    pub external_id: Option<String>,
    pub document: String,
    /// The mobile number to suggest at enrolment, sealed for the account.
    pub phone: Option<SealedPhone>,
}

/// Creates the account and its document (`Conflict` when the username or external id is taken).
pub async fn create_user(db: &Db, w: &UserWrite, now: i64) -> Result<(), StoreError> {
    let mut tx = db.writes().begin().await?;
    sqlx::query(
        "INSERT INTO users (id, username, email, display_name, role, status, failed_attempts, created_at, source, \
         external_id) VALUES ($1, $2, $3, $4, 'user', $5, 0, $6, 'scim', $7)",
    )
    .bind(&w.id)
    .bind(&w.username)
    .bind(&w.email)
    .bind(&w.display_name)
    .bind(if w.active { "active" } else { "disabled" })
    .bind(now)
    .bind(&w.external_id)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::from_insert)?;
    sqlx::query("INSERT INTO scim_users (user_id, document, created_at, updated_at) VALUES ($1, $2, $3, $4)")
        .bind(&w.id)
        .bind(&w.document)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    suggest(&mut tx, w, now).await?;
    tx.commit().await?;
    Ok(())
}

async fn suggest(tx: &mut sqlx::Transaction<'_, sqlx::Any>, w: &UserWrite, now: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM phone_suggestions WHERE user_id = $1").bind(&w.id).execute(&mut **tx).await?;
    if let Some(phone) = &w.phone {
        sqlx::query("INSERT INTO phone_suggestions (user_id, phone, source, updated_at) VALUES ($1, $2, 'scim', $3)")
            .bind(&w.id)
            .bind(&phone.sealed)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Rewrites the account (it becomes a SCIM account) and its document; a deactivated account's
/// sessions end in the same transaction. `false` when the account is gone or out of reach.
pub async fn update_user(db: &Db, w: &UserWrite, now: i64) -> Result<bool, StoreError> {
    let mut tx = db.writes().begin().await?;
    let done = sqlx::query(&format!(
        "UPDATE users SET username = $1, email = $2, display_name = $3, status = $4, source = 'scim', \
         external_id = $5 WHERE id = $6 AND id IN (SELECT u.id FROM users u WHERE {REACHABLE})"
    ))
    .bind(&w.username)
    .bind(&w.email)
    .bind(&w.display_name)
    .bind(if w.active { "active" } else { "disabled" })
    .bind(&w.external_id)
    .bind(&w.id)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::from_insert)?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM scim_users WHERE user_id = $1").bind(&w.id).execute(&mut *tx).await?;
    sqlx::query("INSERT INTO scim_users (user_id, document, created_at, updated_at) VALUES ($1, $2, $3, $4)")
        .bind(&w.id)
        .bind(&w.document)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    suggest(&mut tx, w, now).await?;
    if !w.active {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(&w.id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Deletes the account (devices, sessions and memberships with it; the audit log keeps its name).
pub async fn delete_user(db: &Db, id: &str) -> Result<bool, StoreError> {
    let mut tx = db.writes().begin().await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
    let done =
        sqlx::query(&format!("DELETE FROM users WHERE id = $1 AND id IN (SELECT u.id FROM users u WHERE {REACHABLE})"))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone, FromRow)]
pub struct ScimGroup {
    pub id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub document: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const GROUP: &str = "SELECT id, display_name, external_id, document, created_at, updated_at FROM scim_groups";

/// One page of groups, and how many there are in all (`name`: only the group of that name).
pub async fn groups(db: &Db, name: Option<&str>, offset: i64, limit: i64) -> Result<(Vec<ScimGroup>, i64), StoreError> {
    let cond = if name.is_some() { "WHERE display_name = $1" } else { "" };
    let sql = format!("{GROUP} {cond} ORDER BY created_at, id LIMIT {limit} OFFSET {offset}");
    let count = format!("SELECT COUNT(*) FROM scim_groups {cond}");
    let (rows, total): (Vec<ScimGroup>, (i64,)) = match name {
        Some(n) => (
            sqlx::query_as(&sql).bind(n).fetch_all(db.pool()).await?,
            sqlx::query_as(&count).bind(n).fetch_one(db.pool()).await?,
        ),
        None => (sqlx::query_as(&sql).fetch_all(db.pool()).await?, sqlx::query_as(&count).fetch_one(db.pool()).await?),
    };
    Ok((rows, total.0))
}

pub async fn group(db: &Db, id: &str) -> Result<Option<ScimGroup>, StoreError> {
    Ok(sqlx::query_as(&format!("{GROUP} WHERE id = $1")).bind(id).fetch_optional(db.pool()).await?)
}

/// The members of a group SCIM may see (ids), in a stable order.
pub async fn members(db: &Db, name: &str) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as(&format!(
        "SELECT u.id FROM user_groups ug JOIN users u ON u.id = ug.user_id WHERE ug.group_name = $1 AND {REACHABLE} \
         ORDER BY u.id"
    ))
    .bind(name)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Of `ids`, those of accounts SCIM may reach.
pub async fn reachable(db: &Db, ids: &[String]) -> Result<Vec<String>, StoreError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!("SELECT u.id FROM users u WHERE {REACHABLE} AND u.id IN ({})", marks.join(", "));
        let mut q = sqlx::query_as::<_, (String,)>(&sql);
        for id in chunk {
            q = q.bind(id);
        }
        found.extend(q.fetch_all(db.pool()).await?.into_iter().map(|r| r.0));
    }
    Ok(found)
}

/// The SCIM groups an account is a member of (id, name).
pub async fn groups_of(db: &Db, user_id: &str) -> Result<Vec<(String, String)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT g.id, g.display_name FROM scim_groups g JOIN user_groups ug ON ug.group_name = g.display_name \
         WHERE ug.user_id = $1 ORDER BY g.display_name",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?)
}

/// A group as a connector describes it; `members` are reachable accounts' ids.
#[derive(Debug, Clone)]
pub struct GroupWrite {
    pub id: String,
    pub name: String,
    pub external_id: Option<String>,
    pub document: String,
    pub members: Vec<String>,
}

/// Creates (`before` = None) or rewrites a group: renames its memberships when the name changed,
/// then makes the reachable members exactly `members` (staff and directory members stay).
pub async fn write_group(db: &Db, w: &GroupWrite, before: Option<&str>, now: i64) -> Result<(), StoreError> {
    let mut tx = db.writes().begin().await?;
    match before {
        None => {
            sqlx::query(
                "INSERT INTO scim_groups (id, display_name, external_id, document, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&w.id)
            .bind(&w.name)
            .bind(&w.external_id)
            .bind(&w.document)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_insert)?;
        }
        Some(old) => {
            sqlx::query(
                "UPDATE scim_groups SET display_name = $1, external_id = $2, document = $3, updated_at = $4 WHERE id = $5",
            )
            .bind(&w.name)
            .bind(&w.external_id)
            .bind(&w.document)
            .bind(now)
            .bind(&w.id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_insert)?;
            if old != w.name {
                sqlx::query("UPDATE user_groups SET group_name = $1 WHERE group_name = $2")
                    .bind(&w.name)
                    .bind(old)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from_insert)?;
            }
        }
    }
    let current: Vec<(String,)> = sqlx::query_as(&format!(
        "SELECT u.id FROM user_groups ug JOIN users u ON u.id = ug.user_id WHERE ug.group_name = $1 AND {REACHABLE}"
    ))
    .bind(&w.name)
    .fetch_all(&mut *tx)
    .await?;
    for (id,) in current.iter().filter(|(id,)| !w.members.contains(id)) {
        sqlx::query("DELETE FROM user_groups WHERE user_id = $1 AND group_name = $2")
            .bind(id)
            .bind(&w.name)
            .execute(&mut *tx)
            .await?;
    }
    for id in w.members.iter().filter(|id| !current.iter().any(|(c,)| c == *id)) {
        sqlx::query("INSERT INTO user_groups (user_id, group_name) VALUES ($1, $2)")
            .bind(id)
            .bind(&w.name)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_insert)?;
    }
    tx.commit().await?;
    Ok(())
}

/// Deletes the group and every membership under its name.
pub async fn delete_group(db: &Db, id: &str, name: &str) -> Result<bool, StoreError> {
    let mut tx = db.writes().begin().await?;
    let done = sqlx::query("DELETE FROM scim_groups WHERE id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM user_groups WHERE group_name = $1").bind(name).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}
