//! `[telephony]`: which carrier sends texts and places calls (the simulator or a Twilio-compatible
//! REST API), the countries that may be called, passcode batches and the anti-pumping budgets.

use serde::{Deserialize, Serialize};
use url::Url;

use super::{ConfigError, invalid};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TelephonyMode {
    /// Nothing leaves the machine: the simulator page lists texts and rings calls.
    Simulator,
    /// A Twilio-compatible REST API (Messages and Calls) with signed webhooks.
    Twilio,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelephonySettings {
    pub mode: TelephonyMode,
    /// The simulator is refused when `public_url` is https (a real deployment) unless this is true.
    pub allow_simulator: bool,
    pub account_sid: String,
    pub auth_token: String,
    /// Read `auth_token` from this file (Docker/Kubernetes secrets).
    pub auth_token_file: Option<std::path::PathBuf>,
    /// The number texts and calls come from, in E.164.
    pub from_number: String,
    /// The carrier's API root (Twilio: `https://api.twilio.com`).
    pub base_url: String,
    /// Seconds one request to the carrier may take.
    pub timeout_seconds: u64,
    /// Attempts per send; a retry happens only when the request never reached the carrier.
    pub max_attempts: u32,
    /// ISO 3166 codes of the countries whose numbers may be enrolled, called and texted.
    pub allowed_countries: Vec<String>,
    /// Passcodes per "Text Me" message.
    pub sms_batch_size: u32,
    /// How long a texted or spoken passcode works.
    pub code_minutes: u32,
    /// How long a call may ring and wait for a key before the sign-in gives up.
    pub call_timeout_seconds: u32,
    /// The key that reports a call as fraud ("press 9 if you did not request this").
    pub fraud_key: String,
    pub budgets: PhoneBudgets,
}

/// Texts and calls allowed per hour (SMS pumping and toll fraud). Past any of them, nothing is sent
/// and administrators are alerted in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PhoneBudgets {
    pub per_user_per_hour: u32,
    pub per_number_per_hour: u32,
    pub per_prefix_per_hour: u32,
    /// How many leading digits (country code and area) make a prefix.
    pub prefix_digits: u32,
    pub global_per_hour: u32,
}

impl Default for PhoneBudgets {
    fn default() -> Self {
        Self {
            per_user_per_hour: 6,
            per_number_per_hour: 6,
            per_prefix_per_hour: 30,
            prefix_digits: 5,
            global_per_hour: 500,
        }
    }
}

impl Default for TelephonySettings {
    fn default() -> Self {
        Self {
            mode: TelephonyMode::Simulator,
            allow_simulator: false,
            account_sid: String::new(),
            auth_token: String::new(),
            auth_token_file: None,
            from_number: String::new(),
            base_url: "https://api.twilio.com".into(),
            timeout_seconds: 10,
            max_attempts: 2,
            allowed_countries: crate::domain::phone::DEFAULT_ALLOWED.iter().map(|s| s.to_string()).collect(),
            sms_batch_size: 1,
            code_minutes: 10,
            call_timeout_seconds: 60,
            fraud_key: "9".into(),
            budgets: PhoneBudgets::default(),
        }
    }
}

/// The auth token never appears in `Debug` output (logs, error reports).
impl std::fmt::Debug for TelephonySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelephonySettings")
            .field("mode", &self.mode)
            .field("account_sid", &self.account_sid)
            .field("from_number", &self.from_number)
            .field("base_url", &self.base_url)
            .field("allowed_countries", &self.allowed_countries)
            .field("budgets", &self.budgets)
            .finish_non_exhaustive()
    }
}

impl TelephonySettings {
    pub fn validate(&self, public_url: Option<&Url>) -> Result<(), ConfigError> {
        let https = public_url.is_some_and(|u| u.scheme() == "https");
        if self.mode == TelephonyMode::Simulator && https && !self.allow_simulator {
            return Err(invalid(
                "telephony.mode",
                "is \"simulator\" on an https public_url: configure a carrier, or set telephony.allow_simulator = true",
            ));
        }
        if self.mode == TelephonyMode::Twilio {
            if self.account_sid.trim().is_empty() || self.auth_token.trim().is_empty() {
                return Err(invalid("telephony.account_sid", "account_sid and auth_token are required for \"twilio\""));
            }
            if !self.from_number.starts_with('+') {
                return Err(invalid("telephony.from_number", "must be an E.164 number such as +12045550123"));
            }
            Url::parse(&self.base_url).map_err(|e| invalid("telephony.base_url", e.to_string()))?;
        }
        if self.sms_batch_size == 0 || self.sms_batch_size > 10 {
            return Err(invalid("telephony.sms_batch_size", "must be from 1 to 10"));
        }
        if self.code_minutes == 0 || self.code_minutes > 60 {
            return Err(invalid("telephony.code_minutes", "must be from 1 to 60"));
        }
        if self.max_attempts == 0 || self.max_attempts > 5 {
            return Err(invalid("telephony.max_attempts", "must be from 1 to 5"));
        }
        if self.fraud_key.len() != 1 || !self.fraud_key.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#') {
            return Err(invalid("telephony.fraud_key", "must be one key: a digit, * or #"));
        }
        if self.allowed_countries.iter().any(|c| c.len() != 2) {
            return Err(invalid("telephony.allowed_countries", "must be two-letter ISO 3166 codes such as \"CH\""));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulator_is_refused_on_https_unless_allowed() {
        let https = Url::parse("https://mfa.example.edu").ok();
        let mut t = TelephonySettings::default();
        assert!(t.validate(None).is_ok());
        assert!(t.validate(https.as_ref()).unwrap_err().to_string().contains("allow_simulator"));
        t.allow_simulator = true;
        assert!(t.validate(https.as_ref()).is_ok());
    }

    #[test]
    fn twilio_needs_credentials_and_the_token_is_not_printed() {
        let mut t = TelephonySettings { mode: TelephonyMode::Twilio, ..Default::default() };
        assert!(t.validate(None).is_err());
        t.account_sid = "AC123".into();
        t.auth_token = "secret-token".into();
        t.from_number = "+12045550123".into();
        assert!(t.validate(None).is_ok());
        assert!(!format!("{t:?}").contains("secret-token"));
    }
}
