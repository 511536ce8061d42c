//! Settings for hardware tokens (`[tokens]`): how far ahead an HOTP token's counter is searched
//! at the prompt, and how far when two consecutive codes resynchronise it.

use serde::{Deserialize, Serialize};

/// Counters tried after the expected one at the prompt.
pub const DEFAULT_HOTP_WINDOW: u64 = 10;
/// Counters searched when two consecutive codes resynchronise a token.
pub const DEFAULT_HOTP_RESYNC_WINDOW: u64 = 100;

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
        Self { hotp_window: DEFAULT_HOTP_WINDOW, hotp_resync_window: DEFAULT_HOTP_RESYNC_WINDOW }
    }
}
