//! Settings for hardware tokens (`[tokens]`): how far ahead an HOTP token's counter is searched
//! at the prompt, and how far when two consecutive codes resynchronise it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// Counters tried after the next expected one when an HOTP code is entered.
    pub hotp_window: u64,
    /// Counters searched for two consecutive HOTP codes (claiming a token, resynchronising it).
    pub hotp_resync_window: u64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            hotp_window: crate::factors::hotp::DEFAULT_WINDOW,
            hotp_resync_window: crate::factors::hotp::DEFAULT_RESYNC_WINDOW,
        }
    }
}
