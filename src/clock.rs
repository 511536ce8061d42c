//! The one clock Twofold trusts: the server's, in Unix seconds, and how a time is shown.
//! Everything below the web layer takes the time as an argument; this is where it comes from.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, from the server's clock.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A time as pages, mails and the command line show it: "3 Dec 2026, 07:52 UTC".
pub fn format(ts: i64) -> String {
    let format = time::macros::format_description!("[day padding:none] [month repr:short] [year], [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "—".into())
}
