//! Phone numbers at rest (issue 16). A number is personal data: every stored number is sealed
//! (AES-256-GCM under the data key, bound to its account, so a value copied to another account's
//! row does not open), and the look-ups that need equality ("already registered to another
//! account", the console's search by number, the per-number text budget) use a keyed hash: the
//! database alone neither shows a number nor confirms a guess of one.
//!
//! Every function in `store` that takes or gives a number takes `&Keys` and speaks E.164 to its
//! caller; this module is the one place that knows how a number is stored.

use super::{Db, StoreError};
use crate::secrets::Keys;

/// Marks a sealed number: an older row holds the number in clear (E.164, "+..."), which
/// `seal_stored` seals at start-up.
const TAG: &str = "s1:";

/// A number ready to store: sealed for one account, and its keyed hash.
#[derive(Debug, Clone)]
pub struct SealedPhone {
    pub sealed: String,
    pub hash: String,
}

fn context(user_id: Option<&str>) -> String {
    format!("phone-number:{}", user_id.unwrap_or(""))
}

/// Keyed hash of an E.164 number: equal numbers give equal hashes, whoever holds them.
pub fn hash(keys: &Keys, e164: &str) -> String {
    keys.hash_token(&format!("phone-number:{e164}"))
}

pub fn seal(keys: &Keys, user_id: Option<&str>, e164: &str) -> Result<SealedPhone, StoreError> {
    let sealed = keys.seal(&context(user_id), e164.as_bytes()).map_err(|_| StoreError::Sealed)?;
    Ok(SealedPhone { sealed: format!("{TAG}{sealed}"), hash: hash(keys, e164) })
}

/// The E.164 number of a stored value (sealed for `user_id`).
pub fn open(keys: &Keys, user_id: Option<&str>, stored: &str) -> Result<String, StoreError> {
    let sealed = stored.strip_prefix(TAG).ok_or(StoreError::Sealed)?;
    let plain = keys.open(&context(user_id), sealed).map_err(|_| StoreError::Sealed)?;
    String::from_utf8(plain.to_vec()).map_err(|_| StoreError::Sealed)
}

/// Set in `meta` once every number an older version stored is sealed: later starts skip the scan
/// (no version that writes clear numbers runs on a database past migration 0023).
const SEALED_FLAG: &str = "phone_numbers_sealed";

/// `seal_stored`, at start-up: once per database, then never again (the scan reads whole tables).
pub async fn seal_stored_once(db: &Db, keys: &Keys) -> Result<u64, StoreError> {
    if super::meta::get(db, SEALED_FLAG).await?.is_some() {
        return Ok(0);
    }
    let changed = seal_stored(db, keys).await?;
    super::meta::insert_if_absent(db, SEALED_FLAG, "1").await?;
    Ok(changed)
}

/// Seals the numbers an older version stored in clear (devices, wizards, calls, simulated
/// texts) and hashes the numbers of the text budget. Each row is one conditional update, so a
/// crash half-way leaves every row either clear (done on the next start) or sealed, never lost.
/// Returns how many rows changed.
pub async fn seal_stored(db: &Db, keys: &Keys) -> Result<u64, StoreError> {
    let mut changed = 0;
    // (table, number column, owner column, hash column)
    let sealed: [(&str, &str, &str, Option<&str>); 4] = [
        ("devices", "phone", "user_id", Some("phone_hash")),
        ("enrollments", "phone", "user_id", None),
        ("phone_calls", "to_number", "user_id", None),
        ("phone_texts", "to_number", "user_id", None),
    ];
    for (table, column, owner, hash_column) in sealed {
        let sql = format!("SELECT id, {owner}, {column} FROM {table} WHERE {column} LIKE '+%'");
        let rows: Vec<(String, Option<String>, String)> = sqlx::query_as(&sql).fetch_all(db.pool()).await?;
        for (id, user_id, clear) in rows {
            let phone = seal(keys, user_id.as_deref(), &clear)?;
            let sql = match hash_column {
                Some(h) => format!("UPDATE {table} SET {column} = $1, {h} = $2 WHERE id = $3 AND {column} = $4"),
                None => format!("UPDATE {table} SET {column} = $1 WHERE id = $2 AND {column} = $3"),
            };
            let q = sqlx::query(&sql).bind(&phone.sealed);
            let q = if hash_column.is_some() { q.bind(&phone.hash) } else { q };
            changed += q.bind(&id).bind(&clear).execute(db.writes()).await?.rows_affected();
        }
    }
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, to_number FROM phone_sends WHERE to_number LIKE '+%'").fetch_all(db.pool()).await?;
    for (id, clear) in rows {
        changed += sqlx::query("UPDATE phone_sends SET to_number = $1 WHERE id = $2 AND to_number = $3")
            .bind(hash(keys, &clear))
            .bind(&id)
            .bind(&clear)
            .execute(db.writes())
            .await?
            .rows_affected();
    }
    Ok(changed)
}
