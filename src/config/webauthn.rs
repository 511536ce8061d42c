//! Settings for security keys and passkeys (WebAuthn): user verification and what a key whose
//! signature counter went backwards (a possible clone) means. The relying party is `public_url`.

use serde::{Deserialize, Serialize};

/// Whether the key must also check who holds it (a PIN, fingerprint or face).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserVerification {
    /// Asked for when the key can; a touch alone is accepted (the password is the other factor).
    Preferred,
    /// Every registration and sign-in must carry the user-verified flag.
    Required,
}

/// What happens when a key's signature counter does not move forward (it may have been cloned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterRegression {
    /// Refuse that sign-in, flag the key and record it; the key keeps working afterwards.
    Reject,
    /// Refuse that sign-in and every later one with the key until the user removes it.
    Disable,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebauthnSettings {
    pub user_verification: UserVerification,
    pub counter_regression: CounterRegression,
    /// How long the browser waits for a touch, and how long a started ceremony stays valid.
    pub timeout_seconds: u32,
}

impl Default for WebauthnSettings {
    fn default() -> Self {
        Self {
            user_verification: UserVerification::Preferred,
            counter_regression: CounterRegression::Reject,
            timeout_seconds: 120,
        }
    }
}
