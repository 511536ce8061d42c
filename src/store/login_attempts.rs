//! Password attempts per account and per address, for throttling online guessing. An attempt is
//! recorded (and committed) before the password is checked, then the subjects' attempts are
//! counted: of any number of racing attempts, those counted past a limit are taken back and
//! refused, so no more than the limit are ever checked. Subjects are keyed hashes, so what
//! people typed as a username is never stored.

use super::{Db, StoreError};
use crate::secrets::new_id;

/// Records one attempt against each `(subject, limit)`, then counts each subject's attempts
/// since `since`. `Some(attempt id)` when every count is within its limit; otherwise the attempt
/// is taken back and `None` is returned.
pub async fn reserve(db: &Db, subjects: &[(&str, i64)], since: i64, now: i64) -> Result<Option<String>, StoreError> {
    let attempt = new_id();
    let rows: Vec<String> = subjects.iter().map(|(s, _)| s.to_string()).collect();
    let id = attempt.clone();
    // Committed before counting: racing attempts each see the others that committed first.
    db.write(move |c| {
        Box::pin(async move {
            for subject in &rows {
                sqlx::query("INSERT INTO login_attempts (subject, at, attempt) VALUES ($1, $2, $3)")
                    .bind(subject)
                    .bind(now)
                    .bind(&id)
                    .execute(&mut *c)
                    .await?;
            }
            Ok(())
        })
    })
    .await?;
    for (subject, limit) in subjects {
        if count_since(db, subject, since).await? > *limit {
            take_back(db, &attempt).await?;
            return Ok(None);
        }
    }
    Ok(Some(attempt))
}

async fn count_since(db: &Db, subject: &str, since: i64) -> Result<i64, StoreError> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM login_attempts WHERE subject = $1 AND at > $2")
        .bind(subject)
        .bind(since)
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}

/// Forgets an attempt (refused by the throttle: it was never checked).
async fn take_back(db: &Db, attempt: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM login_attempts WHERE attempt = $1").bind(attempt).execute(db.writes()).await?;
    Ok(())
}

/// After a right password: the account's counts (`account` subjects) start again, and this
/// attempt no longer counts against its address (the address's other attempts still do).
pub async fn succeeded(db: &Db, attempt: &str, account: &[String; 2]) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM login_attempts WHERE subject = $1 OR subject = $2 OR attempt = $3")
        .bind(&account[0])
        .bind(&account[1])
        .bind(attempt)
        .execute(db.writes())
        .await?;
    Ok(())
}

pub async fn purge_before(db: &Db, before: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM login_attempts WHERE at <= $1").bind(before).execute(db.writes()).await?;
    Ok(done.rows_affected())
}
