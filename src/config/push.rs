//! Settings for "Send Me a Push" and the Twofold authenticator app: timeouts, the number to
//! match, activation links and the per-user push cap.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushSettings {
    /// How long a push waits for an answer before it times out.
    pub timeout_seconds: u32,
    /// Digits of the number the user types in the app (number matching).
    pub number_digits: u32,
    /// How long an activation link (QR code or email) works.
    pub activation_hours: u32,
    /// At most this many pushes per user per window; more fall back to other methods.
    pub cap_per_window: u32,
    pub cap_window_minutes: u32,
}

impl Default for PushSettings {
    fn default() -> Self {
        Self { timeout_seconds: 60, number_digits: 3, activation_hours: 24, cap_per_window: 5, cap_window_minutes: 10 }
    }
}
