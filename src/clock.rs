//! The one clock Twofold trusts: the server's, in Unix seconds. Everything below the web layer
//! takes the time as an argument; this is where the argument comes from.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, from the server's clock.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
