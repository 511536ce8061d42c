//! Mail settings (`[mail]`): the simulator or an SMTP server, the sender, and the budgets of mails
//! people ask for.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailMode {
    /// The mail simulator: messages stay in the outbox and are shown on the Outbox page.
    Simulator,
    /// Real delivery through the SMTP server below.
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same machine.
    None,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    pub mode: MailMode,
    /// The sender, e.g. `Example University MFA <mfa@example.edu>`.
    pub from: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_security: SmtpSecurity,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<String>,
    /// Read `smtp_password` from this file.
    #[serde(default)]
    pub smtp_password_file: Option<PathBuf>,
    /// Mails a person asks for ("Email me an activation link") per user per hour.
    #[serde(default = "default_requested_mails")]
    pub requested_per_user_per_hour: u32,
    /// Mails people ask for to one address per hour, whoever asks.
    #[serde(default = "default_requested_mails")]
    pub requested_per_address_per_hour: u32,
}

pub(super) fn default_requested_mails() -> u32 {
    5
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("mode", &self.mode)
            .field("from", &self.from)
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_security", &self.smtp_security)
            .field("smtp_username", &self.smtp_username)
            .finish_non_exhaustive()
    }
}
