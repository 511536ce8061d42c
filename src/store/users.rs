//! Users: accounts, their status, role and the shared failed-second-factor counter (lockout).

use sqlx::FromRow;

use super::audit::Entry;
use super::{Db, StoreError};
use crate::domain::{DisplayName, Email, Role, Username};
use crate::secrets::new_id;

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub role: String,
    pub status: String,
    pub failed_attempts: i64,
    pub locked_at: Option<i64>,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    /// When the first device was stored (never reset).
    pub enrolled_at: Option<i64>,
    /// Where the account comes from: `local`, `directory`, `scim` or `oidc` (see [`Source`]).
    pub source: String,
    /// The source's stable identifier of the account, when it has one.
    pub external_id: Option<String>,
}

impl UserRow {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }

    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::User)
    }

    pub fn source(&self) -> Source {
        Source::parse(&self.source)
    }
}

/// Where an account comes from. A source other than `Local` owns the account's name, email and
/// groups (the console refuses to edit them); `Directory` also owns its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Local,
    Directory,
    Scim,
    Oidc,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Local => "local",
            Source::Directory => "directory",
            Source::Scim => "scim",
            Source::Oidc => "oidc",
        }
    }

    /// Unknown values read as `Local` (nothing is refused for them).
    pub fn parse(text: &str) -> Self {
        match text {
            "directory" => Source::Directory,
            "scim" => Source::Scim,
            "oidc" => Source::Oidc,
            _ => Source::Local,
        }
    }

    /// How the console names it.
    pub fn label(self) -> &'static str {
        match self {
            Source::Local => "Local",
            Source::Directory => "Directory (LDAP/AD)",
            Source::Scim => "SCIM",
            Source::Oidc => "OpenID Connect",
        }
    }

    /// Whether the source owns the name, email and groups (local edits are refused).
    pub fn owns_profile(self) -> bool {
        matches!(self, Source::Directory | Source::Scim)
    }

    /// Why a local edit of `username`'s name, email or groups is refused (when `owns_profile`).
    pub fn refusal(self, username: &str) -> String {
        format!("{username} comes from the {}, which owns its name, email and groups: change them there", self.label())
    }
}

pub struct NewUser<'a> {
    pub username: &'a Username,
    pub email: &'a Email,
    pub display_name: &'a DisplayName,
    pub password_hash: Option<String>,
    pub role: Role,
    pub source: Source,
}

const COLUMNS: &str = "id, username, email, display_name, password_hash, role, status, failed_attempts, \
                       locked_at, created_at, last_login_at, enrolled_at, source, external_id";

pub async fn insert(db: &Db, new: NewUser<'_>, now: i64) -> Result<UserRow, StoreError> {
    let mut conn = db.writes().acquire().await?;
    let id = insert_on(&mut conn, new, now).await?;
    drop(conn);
    by_id(db, &id).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))
}

/// Inserts on a given connection (e.g. inside a transaction); returns the new id.
pub(crate) async fn insert_on(
    conn: &mut sqlx::AnyConnection,
    new: NewUser<'_>,
    now: i64,
) -> Result<String, StoreError> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO users (id, username, email, display_name, password_hash, role, status, failed_attempts, created_at, source) \
         VALUES ($1, $2, $3, $4, $5, $6, 'active', 0, $7, $8)",
    )
    .bind(&id)
    .bind(new.username.as_str())
    .bind(new.email.as_str())
    .bind(new.display_name.as_str())
    .bind(new.password_hash)
    .bind(new.role.as_str())
    .bind(now)
    .bind(new.source.as_str())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from_insert)?;
    Ok(id)
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<UserRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    Ok(sqlx::query_as(&sql).bind(id).fetch_optional(db.pool()).await?)
}

pub async fn by_username(db: &Db, username: &Username) -> Result<Option<UserRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE username = $1");
    Ok(sqlx::query_as(&sql).bind(username.as_str()).fetch_optional(db.pool()).await?)
}

pub async fn list(db: &Db) -> Result<Vec<UserRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY username");
    Ok(sqlx::query_as(&sql).fetch_all(db.pool()).await?)
}

pub async fn admin_exists(db: &Db) -> Result<bool, StoreError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT id FROM users WHERE role = 'admin' LIMIT 1").fetch_optional(db.pool()).await?;
    Ok(row.is_some())
}

/// Sets `status` ("active" or "disabled"); returns false when no such user exists.
pub async fn set_status(db: &Db, id: &str, status: &str) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE users SET status = $1 WHERE id = $2").bind(status).bind(id).execute(db.writes()).await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(db: &Db, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(db.writes()).await?;
    Ok(done.rows_affected() == 1)
}

pub async fn touch_login(db: &Db, id: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2").bind(now).bind(id).execute(db.writes()).await?;
    Ok(())
}

/// Counts one failed second-factor attempt and locks the account when the count reaches `max`.
/// Each step is one conditional statement, so concurrent failures are all counted and exactly one
/// of them is the one that locks. `audit(attempts, locked by this call)` gives the audit entries
/// of the failure, stored in the same write (one commit to wait for, not one per entry).
/// Returns (attempts, locked by this call).
pub async fn record_failure(
    db: &Db,
    id: &str,
    max: u32,
    now: i64,
    audit: impl FnOnce(i64, bool) -> Vec<Entry> + Send + 'static,
) -> Result<(i64, bool), StoreError> {
    let id = id.to_string();
    let (attempts, locked, entries) = db
        .write(move |c| {
            Box::pin(async move {
                let (attempts,): (i64,) = sqlx::query_as(
                    "UPDATE users SET failed_attempts = failed_attempts + 1 WHERE id = $1 RETURNING failed_attempts",
                )
                .bind(&id)
                .fetch_one(&mut *c)
                .await?;
                let mut locked = false;
                if attempts >= i64::from(max) {
                    let done = sqlx::query("UPDATE users SET locked_at = $1 WHERE id = $2 AND locked_at IS NULL")
                        .bind(now)
                        .bind(&id)
                        .execute(&mut *c)
                        .await?;
                    locked = done.rows_affected() == 1;
                }
                let entries = audit(attempts, locked);
                for entry in &entries {
                    entry.insert(c, now).await?;
                }
                Ok((attempts, locked, entries))
            })
        })
        .await?;
    for entry in &entries {
        entry.told(db);
    }
    Ok((attempts, locked))
}

/// After a successful second factor: the counter starts again.
pub async fn reset_failures(db: &Db, id: &str) -> Result<(), StoreError> {
    let id = id.to_string();
    db.write_statement(move |c| {
        Box::pin(async move {
            // Nothing to write (and nothing to wait for) when the count is already zero.
            sqlx::query(
                "UPDATE users SET failed_attempts = 0 WHERE id = $1 AND locked_at IS NULL AND failed_attempts <> 0",
            )
            .bind(&id)
            .execute(&mut *c)
            .await?;
            Ok(())
        })
    })
    .await
}

/// Unlocks an account locked at or before `locked_before` (automatic unlock); true if it did.
pub async fn unlock_if_locked_before(db: &Db, id: &str, locked_before: i64) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE users SET locked_at = NULL, failed_attempts = 0 WHERE id = $1 AND locked_at <= $2")
        .bind(id)
        .bind(locked_before)
        .execute(db.writes())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Unlocks an account whatever its state (administrator action).
pub async fn unlock(db: &Db, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE users SET locked_at = NULL, failed_attempts = 0 WHERE id = $1")
        .bind(id)
        .execute(db.writes())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Everyone with the administrator role (to alert them).
pub async fn admins(db: &Db) -> Result<Vec<UserRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE role = 'admin' AND status = 'active' ORDER BY username");
    Ok(sqlx::query_as(&sql).fetch_all(db.pool()).await?)
}

/// Escapes `%`, `_` and `\` so typed text matches literally in `LIKE … ESCAPE '\'`.
fn like_pattern(text: &str) -> String {
    let escaped = text.trim().to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// Users whose username, name or email contains `query` (case-insensitive); with `within` (a help-desk member
/// limited to some groups), only the users in those groups. One page, and the total.
pub async fn search(
    db: &Db,
    query: &str,
    within: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<UserRow>, i64), StoreError> {
    let pattern = like_pattern(query);
    let filter = "(LOWER(username) LIKE $1 ESCAPE '\\' OR LOWER(display_name) LIKE $2 ESCAPE '\\' \
                  OR LOWER(email) LIKE $3 ESCAPE '\\')";
    let (filter, next) = match within {
        Some(_) => (format!("{filter} AND {}", super::staff_scopes::user_within("id", 4)), 5),
        None => (filter.to_string(), 4),
    };
    let sql =
        format!("SELECT {COLUMNS} FROM users WHERE {filter} ORDER BY username LIMIT ${next} OFFSET ${}", next + 1);
    let q = sqlx::query_as(&sql).bind(&pattern).bind(&pattern).bind(&pattern);
    let q = match within {
        Some(staff) => q.bind(staff),
        None => q,
    };
    let rows = q.bind(limit).bind(offset).fetch_all(db.pool()).await?;
    let count = format!("SELECT COUNT(*) FROM users WHERE {filter}");
    let q = sqlx::query_as(&count).bind(&pattern).bind(&pattern).bind(&pattern);
    let q = match within {
        Some(staff) => q.bind(staff),
        None => q,
    };
    let (total,): (i64,) = q.fetch_one(db.pool()).await?;
    Ok((rows, total))
}

pub async fn set_role(db: &Db, id: &str, role: Role) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
        .bind(role.as_str())
        .bind(id)
        .execute(db.writes())
        .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_match_literally() {
        assert_eq!(super::like_pattern(" Ada_1% "), "%ada\\_1\\%%");
        assert_eq!(super::like_pattern("a\\b"), "%a\\\\b%");
    }
}

/// Counts for the console's dashboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub total: i64,
    pub active: i64,
    pub disabled: i64,
    pub locked_out: i64,
    pub not_enrolled: i64,
    /// Active users with exactly one device and no backup codes: one lost phone from the help desk.
    pub single_method: i64,
}

pub async fn status_counts(db: &Db) -> Result<StatusCounts, StoreError> {
    let row: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), \
         COALESCE(SUM(CASE WHEN status = 'disabled' THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN status = 'active' AND locked_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN status = 'active' AND locked_at IS NULL AND enrolled_at IS NULL THEN 1 ELSE 0 END), 0) \
         FROM users",
    )
    .fetch_one(db.pool())
    .await?;
    let (single,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM users u WHERE u.status = 'active' \
         AND (SELECT COUNT(*) FROM devices d WHERE d.user_id = u.id AND d.removed_at IS NULL) = 1 \
         AND (SELECT COUNT(*) FROM backup_codes b WHERE b.user_id = u.id AND b.used_at IS NULL) = 0",
    )
    .fetch_one(db.pool())
    .await?;
    let (total, disabled, locked_out, not_enrolled) = row;
    Ok(StatusCounts {
        total,
        active: total - disabled - locked_out - not_enrolled,
        disabled,
        locked_out,
        not_enrolled,
        single_method: single,
    })
}

/// Locks an account now (an administrator's decision, e.g. after a fraud report).
pub async fn lock(db: &Db, id: &str, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE users SET locked_at = $1 WHERE id = $2 AND locked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(db.writes())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// One page of every user by username, and how many there are (the Admin API's `users`).
pub async fn page(db: &Db, limit: i64, offset: i64) -> Result<(Vec<UserRow>, i64), StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY username, id LIMIT $1 OFFSET $2");
    let rows = sqlx::query_as(&sql).bind(limit).bind(offset).fetch_all(db.pool()).await?;
    let (total,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(db.pool()).await?;
    Ok((rows, total))
}

/// A user by email address (the Admin API's `users?email=`).
pub async fn by_email(db: &Db, email: &Email) -> Result<Vec<UserRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE email = $1 ORDER BY username");
    Ok(sqlx::query_as(&sql).bind(email.as_str()).fetch_all(db.pool()).await?)
}

/// Changes the username, email and name (each already checked; the email may be the stored one,
/// possibly empty); a username taken is a `Conflict`.
pub async fn update_profile(
    db: &Db,
    id: &str,
    username: &Username,
    email: &str,
    display_name: &DisplayName,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE users SET username = $1, email = $2, display_name = $3 WHERE id = $4")
        .bind(username.as_str())
        .bind(email)
        .bind(display_name.as_str())
        .bind(id)
        .execute(db.writes())
        .await
        .map_err(StoreError::from_insert)?;
    Ok(done.rows_affected() == 1)
}
