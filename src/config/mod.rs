//! Typed settings: built-in defaults < `twofold.toml` (or `--config FILE`) < `TWOFOLD_*` environment.
//! Every key is documented in docs/configuration.md; a bad value fails at start with its key and reason.

mod metrics;

pub use metrics::MetricsSettings;
pub mod directory;
pub mod geoip;
pub mod openid;
pub mod push;
pub mod radius;
pub mod webauthn;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use url::Url;

mod applications;
mod load;
mod logo;
mod mail;
pub use applications::ApplicationsSettings;
pub use load::read_secret;
pub use logo::Logo;
pub use mail::{MailMode, MailSettings, SmtpSecurity};
pub mod oidc;
pub use oidc::{OidcProvider, OidcSettings};
pub mod telephony;
pub mod tokens;
pub use telephony::{PhoneBudgets, TelephonyMode, TelephonySettings};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address and port the HTTP server listens on.
    pub bind: String,
    /// The address users type in their browser; defaults to `http://<bind>`.
    pub public_url: Option<String>,
    /// Directory for the SQLite database and the generated master key.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Base64 of 32 bytes. When absent, `data_dir/master.key` is used (generated on first run).
    pub master_key: Option<String>,
    /// Read `master_key` from this file (Docker/Kubernetes secrets).
    pub master_key_file: Option<PathBuf>,
    pub previous_master_key_file: Option<PathBuf>,
    /// Read `database_url` from this file.
    pub database_url_file: Option<PathBuf>,
    /// The master key before `twofold key rotate`, tried when `master_key` does not open the data
    /// key, so instances can be switched one by one. Remove it once every instance has the new key.
    pub previous_master_key: Option<String>,
    pub institution: InstitutionSettings,
    pub session: SessionSettings,
    pub login: LoginSettings,
    pub lockout: LockoutSettings,
    pub trusted_browser: TrustedBrowserSettings,
    pub enrollment: EnrollmentSettings,
    pub mail: MailSettings,
    pub recovery: RecoverySettings,
    pub duo: DuoSettings,
    pub metrics: MetricsSettings,
    #[serde(default)]
    pub applications: ApplicationsSettings,
    /// Sign in with the institution's OpenID Connect provider(s) (see docs/oidc.md).
    pub oidc: OidcSettings,
    #[serde(default)]
    pub tokens: tokens::TokenSettings,
    pub webauthn: webauthn::WebauthnSettings,
    #[serde(default)]
    pub telephony: TelephonySettings,
    #[serde(default)]
    pub push: push::PushSettings,
    /// The RADIUS server for VPNs (docs/radius.md); off until `radius.bind` is set.
    #[serde(default)]
    pub radius: radius::RadiusSettings,
    /// The OpenID provider and Microsoft Entra ID's External Authentication Methods.
    #[serde(default)]
    pub openid: openid::OpenidSettings,
    /// GeoIP databases for the location rules (docs/policy.md); none by default.
    #[serde(default)]
    pub geoip: geoip::GeoipSettings,
    /// The LDAP/Active Directory directory (docs/directory.md); off until `directory.url` is set.
    #[serde(default)]
    pub directory: directory::DirectorySettings,
    #[serde(default)]
    pub http: HttpSettings,
    /// Log filter in `tracing` syntax, e.g. `info` or `twofold=debug,info`.
    pub log: String,
    /// `text` (the default) or `json`: one JSON object per line, with the request's fields.
    #[serde(default)]
    pub log_format: LogFormat,
    /// `TWOFOLD_*` variables that name no setting (left out, warned about at start).
    #[serde(skip)]
    pub ignored_environment: Vec<String>,
    /// HTTP worker threads; defaults to the number of CPU cores.
    pub workers: Option<usize>,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed. Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

fn default_account_total() -> u32 {
    100
}

/// The HTTP server (`[http]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// A request's body must arrive within this many seconds (large uploads get a second more
    /// per 64 KiB); a body that trickles in is cut off with 408.
    pub body_timeout_seconds: u32,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self { body_timeout_seconds: 10 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstitutionSettings {
    pub name: String,
    pub product_name: String,
    /// A PNG, SVG, JPEG or WebP file shown in the page header (read at start, at most 256 KiB).
    pub logo_file: Option<PathBuf>,
    /// Shown to locked-out users ("Contact …").
    pub help_desk: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    pub idle_timeout_minutes: u32,
    pub absolute_timeout_hours: u32,
    /// "My Settings & Devices" and device changes need a second factor this recent.
    pub step_up_minutes: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginSettings {
    /// Wrong passwords for one username from one address within the window before sign-in with
    /// that username is paused from that address (others are not locked out by it).
    pub max_failures_per_account: u32,
    /// Wrong passwords for one username from all addresses together within the window before
    /// sign-in with it is paused everywhere, except from a browser the user trusted (a slower cap
    /// against guessing spread over many addresses).
    #[serde(default = "default_account_total")]
    pub max_failures_per_account_total: u32,
    /// Wrong passwords from one address within the window before sign-in is paused for it.
    pub max_failures_per_address: u32,
    pub window_minutes: u32,
    /// Sign-in with a Twofold password. Off: only OpenID Connect, except for administrators (break-glass).
    pub local_passwords: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockoutSettings {
    /// Failed second-factor attempts (all methods together) that lock the account.
    pub max_failures: u32,
    /// 0 keeps the account locked until the help desk unlocks it.
    pub auto_unlock_minutes: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedBrowserSettings {
    /// 0 turns "Trust this browser?" off.
    pub days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuoSettings {
    /// The API hostname applications are configured with and sign; defaults to `public_url`'s host.
    pub api_hostname: Option<String>,
    /// How far a signed request's date may be from the server's clock.
    pub clock_skew_seconds: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoverySettings {
    /// "Lost your device?" with imported identity facts; off hides the link and the page.
    pub enabled: bool,
    /// How long a recovery passcode works (from when it starts to work).
    pub passcode_minutes: u32,
    /// Hours between asking for a recovery passcode and its working (0: at once); the console's
    /// policy may change it.
    #[serde(default)]
    pub wait_hours: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentSettings {
    /// How long an unfinished enrolment wizard is kept.
    pub wizard_expiry_minutes: u32,
    /// How long an emailed enrolment invitation works.
    pub invitation_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            public_url: None,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            master_key: None,
            master_key_file: None,
            previous_master_key_file: None,
            database_url_file: None,
            previous_master_key: None,
            institution: InstitutionSettings {
                name: "Example University".into(),
                product_name: "Twofold".into(),
                logo_file: None,
                help_desk: "your help desk".into(),
            },
            session: SessionSettings { idle_timeout_minutes: 30, absolute_timeout_hours: 12, step_up_minutes: 5 },
            login: LoginSettings {
                max_failures_per_account: 10,
                max_failures_per_account_total: default_account_total(),
                max_failures_per_address: 100,
                window_minutes: 15,
                local_passwords: true,
            },
            lockout: LockoutSettings { max_failures: 10, auto_unlock_minutes: 0 },
            trusted_browser: TrustedBrowserSettings { days: 30 },
            enrollment: EnrollmentSettings { wizard_expiry_minutes: 60, invitation_days: 7 },
            recovery: RecoverySettings { enabled: true, passcode_minutes: 60, wait_hours: 0 },
            duo: DuoSettings { api_hostname: None, clock_skew_seconds: 300 },
            metrics: MetricsSettings::default(),
            applications: ApplicationsSettings::default(),
            oidc: OidcSettings::default(),
            tokens: tokens::TokenSettings::default(),
            webauthn: webauthn::WebauthnSettings::default(),
            telephony: TelephonySettings::default(),
            push: push::PushSettings::default(),
            radius: radius::RadiusSettings::default(),
            geoip: geoip::GeoipSettings::default(),
            openid: openid::OpenidSettings::default(),
            directory: directory::DirectorySettings::default(),
            http: HttpSettings::default(),
            mail: MailSettings {
                mode: MailMode::Simulator,
                from: "Twofold <twofold@localhost>".into(),
                smtp_host: String::new(),
                smtp_port: 587,
                smtp_security: SmtpSecurity::Starttls,
                smtp_username: None,
                requested_per_user_per_hour: mail::default_requested_mails(),
                requested_per_address_per_hour: mail::default_requested_mails(),
                smtp_password: None,
                smtp_password_file: None,
            },
            log: "info".into(),
            log_format: LogFormat::Text,
            ignored_environment: Vec::new(),
            workers: None,
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not `#[source]`: figment's message already says everything, and printing the chain would repeat it.
    #[error("configuration {0}")]
    Parse(String),
    #[error("configuration key `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key, reason: reason.into() }
}

impl Settings {
    /// Reads defaults, then the file (`path`, or `./twofold.toml` when it exists), then the environment.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match path {
            Some(p) if !p.exists() => {
                return Err(invalid("--config", format!("file {} does not exist", p.display())));
            }
            Some(p) => figment = figment.merge(Toml::file_exact(p)),
            None if Path::new("twofold.toml").exists() => figment = figment.merge(Toml::file_exact("twofold.toml")),
            None => {}
        }
        let (mut settings, ignored) = load::extract(figment)?;
        settings.ignored_environment = ignored;
        settings.secrets_from_files()?;
        settings.validate()?;
        Ok(settings)
    }

    /// `…_file` settings (`TWOFOLD_…_FILE`): secrets read from files, as container platforms mount them.
    fn secrets_from_files(&mut self) -> Result<(), ConfigError> {
        load::from_file("master_key_file", &mut self.master_key, &self.master_key_file)?;
        load::from_file("previous_master_key_file", &mut self.previous_master_key, &self.previous_master_key_file)?;
        load::from_file("database_url_file", &mut self.database_url, &self.database_url_file)?;
        load::from_file("mail.smtp_password_file", &mut self.mail.smtp_password, &self.mail.smtp_password_file)?;
        let directory = &mut self.directory;
        load::from_file("directory.bind_password_file", &mut directory.bind_password, &directory.bind_password_file)?;
        if let Some(path) = &self.telephony.auth_token_file {
            if !self.telephony.auth_token.is_empty() {
                return Err(invalid("telephony.auth_token_file", "set either the value or the file, not both"));
            }
            self.telephony.auth_token = load::read_secret("telephony.auth_token_file", path)?;
        }
        for provider in &mut self.oidc.providers {
            load::from_file(
                "oidc.providers.client_secret_file",
                &mut provider.client_secret,
                &provider.client_secret_file,
            )?;
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.bind_addr()?;
        self.public_url()?;
        if let Some(url) = &self.database_url
            && !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(invalid("database_url", "must start with sqlite:, postgres:// or postgresql://"));
        }
        if self.login.max_failures_per_account == 0
            || self.login.max_failures_per_address == 0
            || self.login.max_failures_per_account_total == 0
        {
            return Err(invalid(
                "login",
                "max_failures_per_account, max_failures_per_account_total and max_failures_per_address must be at least 1",
            ));
        }
        if self.login.window_minutes == 0 {
            return Err(invalid("login.window_minutes", "must be greater than 0"));
        }
        if self.lockout.max_failures == 0 {
            return Err(invalid("lockout.max_failures", "must be at least 1"));
        }
        if self.session.idle_timeout_minutes == 0
            || self.session.absolute_timeout_hours == 0
            || self.session.step_up_minutes == 0
        {
            return Err(invalid("session", "timeouts must be greater than 0"));
        }
        if self.enrollment.invitation_days == 0 || self.enrollment.invitation_days > 90 {
            return Err(invalid("enrollment.invitation_days", "must be from 1 to 90"));
        }
        if !(1..=300).contains(&self.http.body_timeout_seconds) {
            return Err(invalid("http.body_timeout_seconds", "must be from 1 to 300"));
        }
        if !(10..=600).contains(&self.webauthn.timeout_seconds) {
            return Err(invalid("webauthn.timeout_seconds", "must be from 10 to 600"));
        }
        if self.enrollment.wizard_expiry_minutes == 0 {
            return Err(invalid("enrollment.wizard_expiry_minutes", "must be greater than 0"));
        }
        if self.institution.name.trim().is_empty() {
            return Err(invalid("institution.name", "must not be empty"));
        }
        if self.recovery.passcode_minutes == 0 || self.recovery.passcode_minutes > 24 * 60 {
            return Err(invalid("recovery.passcode_minutes", "must be from 1 to 1440"));
        }
        if self.recovery.wait_hours > 168 {
            return Err(invalid("recovery.wait_hours", "must be from 0 to 168"));
        }
        if self.mail.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid("mail.from", "must be an address like `Example MFA <mfa@example.edu>`"));
        }
        if self.mail.mode == MailMode::Smtp && self.mail.smtp_host.trim().is_empty() {
            return Err(invalid("mail.smtp_host", "is required when mail.mode is \"smtp\""));
        }
        if let Some(path) = &self.institution.logo_file {
            Logo::load(path)?;
        }
        self.metrics.bind_addr().map_err(|reason| invalid("metrics.bind", reason))?;
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log) {
            return Err(invalid(
                "log",
                format!("`{}` is not a log filter ({e}); e.g. `info` or `twofold=debug,info`", self.log),
            ));
        }
        self.oidc.validate()?;
        if !self.login.local_passwords && self.oidc.providers.is_empty() {
            return Err(invalid(
                "login.local_passwords",
                "can be false only when an OpenID Connect provider is configured",
            ));
        }
        self.telephony.validate(self.public_url()?.as_ref())?;
        self.radius.validate()?;
        self.geoip.validate()?;
        self.openid.validate()?;
        self.directory.validate()?;
        Ok(())
    }

    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.bind.parse().map_err(|_| invalid("bind", format!("`{}` is not an address like 127.0.0.1:8080", self.bind)))
    }

    /// The configured public URL, if any (validated: http or https, no path other than `/`).
    pub fn public_url(&self) -> Result<Option<Url>, ConfigError> {
        let Some(raw) = &self.public_url else { return Ok(None) };
        let url = Url::parse(raw).map_err(|e| invalid("public_url", e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(invalid("public_url", "must be an http:// or https:// URL with a host"));
        }
        if url.path() != "/" || url.query().is_some() {
            return Err(invalid("public_url", "must not have a path or query (Twofold is served from the root)"));
        }
        Ok(Some(url))
    }

    /// The database URL in force: the configured one, or SQLite in `data_dir`.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("twofold.db").display()),
        }
    }
}

#[cfg(test)]
mod tests;
