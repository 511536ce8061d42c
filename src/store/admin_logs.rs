//! The audit log read the way the Admin API's log endpoints page through it: a time window,
//! a set of event names, ordered by time then id (stable: an entry never moves between pages).

use sqlx::FromRow;

use super::{Db, StoreError};

/// One audit entry with its row id (the Admin API's `txid` and paging cursor) and, for entries
/// an administrator caused, the administrator's username.
#[derive(Debug, Clone, FromRow)]
pub struct LogRow {
    pub id: i64,
    pub at: i64,
    pub event: String,
    pub outcome: String,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
    pub application: Option<String>,
    pub actor: Option<String>,
}

/// Where a page starts: after (or, newest first, before) this entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: i64,
    pub id: i64,
}

/// A page of entries named `events` with `from <= at <= to` (seconds), oldest or newest first,
/// starting past `after`; and how many entries the window holds in all.
pub struct Window<'a> {
    pub events: &'a [&'a str],
    pub from: i64,
    pub to: i64,
    pub newest_first: bool,
    pub after: Option<Cursor>,
    pub limit: i64,
}

fn in_list(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

pub async fn page(db: &Db, w: Window<'_>) -> Result<(Vec<LogRow>, i64), StoreError> {
    if w.events.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let n = w.events.len();
    let filter = format!("l.event IN ({}) AND l.at >= ${} AND l.at <= ${}", in_list(1, n), n + 1, n + 2);
    let (cmp, order) = if w.newest_first { ("<", "DESC") } else { (">", "ASC") };
    let next = n + 3;
    let cursor = match w.after {
        Some(_) => format!(" AND (l.at {cmp} ${next} OR (l.at = ${} AND l.id {cmp} ${}))", next + 1, next + 2),
        None => String::new(),
    };
    let limit_at = if w.after.is_some() { next + 3 } else { next };
    let sql = format!(
        "SELECT l.id, l.at, l.event, l.outcome, l.user_id, l.username, l.ip, l.detail, l.application, \
         a.username AS actor FROM audit_log l LEFT JOIN users a ON a.id = l.actor_id \
         WHERE {filter}{cursor} ORDER BY l.at {order}, l.id {order} LIMIT ${limit_at}"
    );
    let mut q = sqlx::query_as::<_, LogRow>(&sql);
    for e in w.events {
        q = q.bind(*e);
    }
    q = q.bind(w.from).bind(w.to);
    if let Some(c) = w.after {
        q = q.bind(c.at).bind(c.at).bind(c.id);
    }
    let rows = q.bind(w.limit).fetch_all(db.pool()).await?;
    let count_sql = format!("SELECT COUNT(*) FROM audit_log l WHERE {filter}");
    let mut c = sqlx::query_as::<_, (i64,)>(&count_sql);
    for e in w.events {
        c = c.bind(*e);
    }
    let (total,) = c.bind(w.from).bind(w.to).fetch_one(db.pool()).await?;
    Ok((rows, total))
}
