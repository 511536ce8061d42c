//! Every text and call Twofold asks a carrier for, counted per user, number, prefix and overall for
//! the hourly budgets. Counting lives in the database so every instance shares one budget. The
//! number is kept only as its keyed hash (`phone_numbers::hash`): counting needs equality only.

use super::phone_numbers;
use super::{Db, StoreError};
use crate::secrets::{Keys, new_id};

/// One attempted send.
pub struct Send<'a> {
    pub user_id: Option<&'a str>,
    pub to_number: &'a str,
    pub prefix: &'a str,
    pub kind: &'a str,
}

/// Sends counted in the hour before `now`, including the one just recorded.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    pub user: i64,
    pub number: i64,
    pub prefix: i64,
    pub global: i64,
}

/// Records the send first, then counts. Two instances racing for the last unit both see each
/// other's row, so the budget is never exceeded (at worst both are refused).
pub async fn record_and_count(db: &Db, keys: &Keys, s: Send<'_>, now: i64) -> Result<(String, Counts), StoreError> {
    let id = new_id();
    let number_hash = phone_numbers::hash(keys, s.to_number);
    sqlx::query("INSERT INTO phone_sends (id, user_id, to_number, prefix, kind, at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(s.user_id)
        .bind(&number_hash)
        .bind(s.prefix)
        .bind(s.kind)
        .bind(now)
        .execute(db.writes())
        .await?;
    let since = now - 3600;
    let count = |sql: &'static str, value: Option<String>| {
        let db = db.clone();
        async move {
            let q = sqlx::query_as::<_, (i64,)>(sql).bind(since);
            let q = match value {
                Some(v) => q.bind(v),
                None => q,
            };
            q.fetch_one(db.pool()).await.map(|(n,)| n)
        }
    };
    let user = match s.user_id {
        Some(u) => {
            count("SELECT COUNT(*) FROM phone_sends WHERE at > $1 AND user_id = $2", Some(u.to_string())).await?
        }
        None => 0,
    };
    let number =
        count("SELECT COUNT(*) FROM phone_sends WHERE at > $1 AND to_number = $2", Some(number_hash.clone())).await?;
    let prefix =
        count("SELECT COUNT(*) FROM phone_sends WHERE at > $1 AND prefix = $2", Some(s.prefix.to_string())).await?;
    let global = count("SELECT COUNT(*) FROM phone_sends WHERE at > $1", None).await?;
    Ok((id, Counts { user, number, prefix, global }))
}

/// A refused send does not use up the budget of the sends after it.
pub async fn forget(db: &Db, id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM phone_sends WHERE id = $1").bind(id).execute(db.writes()).await?;
    Ok(())
}

pub async fn purge_before(db: &Db, before: i64) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM phone_sends WHERE at < $1").bind(before).execute(db.writes()).await?.rows_affected())
}
