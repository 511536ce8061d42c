//! What the core answers: typed verdicts, never a page or JSON. Each door (adapter) turns a
//! verdict into its own words; the decision itself is the same at every door.

use crate::domain::AuditEvent;
use crate::domain::policy::Method;
use crate::store::users::UserRow;

/// What was accepted as the second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    /// A passcode from an authenticator app (TOTP).
    AppPasscode,
    /// A hardware token's passcode (HOTP, TOTP or Yubico OTP).
    HardwareToken,
    BackupCode,
    /// The help desk's temporary passcode.
    TemporaryPasscode,
    /// A passcode from "Lost your device?".
    RecoveryPasscode,
    /// A passcode sent by "Text Me".
    TextedPasscode,
    Push,
    PhoneCall,
    SecurityKey,
    /// "Trust this browser": remembered, not given now.
    TrustedBrowser,
}

impl Factor {
    /// The audit event of a sign-in with this factor.
    pub fn event(self) -> AuditEvent {
        match self {
            Factor::AppPasscode => AuditEvent::MfaPasscode,
            Factor::HardwareToken => AuditEvent::MfaToken,
            Factor::BackupCode => AuditEvent::MfaBackupCode,
            Factor::TemporaryPasscode => AuditEvent::MfaTemporaryPasscode,
            Factor::RecoveryPasscode => AuditEvent::MfaRecoveryPasscode,
            Factor::TextedPasscode => AuditEvent::MfaSmsPasscode,
            Factor::Push => AuditEvent::MfaPush,
            Factor::PhoneCall => AuditEvent::MfaPhoneCall,
            Factor::SecurityKey => AuditEvent::MfaSecurityKey,
            Factor::TrustedBrowser => AuditEvent::MfaTrustedBrowser,
        }
    }

    /// The policy's method; `None` for what is always allowed (the help desk's and recovery
    /// passcodes are how people get back in; a trusted browser was allowed when it was trusted).
    pub fn method(self) -> Option<Method> {
        Some(match self {
            Factor::AppPasscode => Method::Totp,
            Factor::HardwareToken => Method::HardwareToken,
            Factor::BackupCode => Method::BackupCodes,
            Factor::TextedPasscode => Method::Sms,
            Factor::Push => Method::Push,
            Factor::PhoneCall => Method::PhoneCall,
            Factor::SecurityKey => Method::SecurityKey,
            Factor::TemporaryPasscode | Factor::RecoveryPasscode | Factor::TrustedBrowser => return None,
        })
    }

    /// A temporary or recovery passcode: the person lost their device and goes on to add one.
    pub fn replaces_device(self) -> bool {
        matches!(self, Factor::TemporaryPasscode | Factor::RecoveryPasscode)
    }
}

/// A second factor the core accepted, with what the audit entry said about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub factor: Factor,
    pub detail: String,
}

/// The answer to an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accepted(Accepted),
    /// Nothing matched; `locked_now` when this failure locked the account.
    Wrong {
        locked_now: bool,
    },
    /// It matched something already used (a TOTP step, a single-use code).
    Replayed {
        locked_now: bool,
    },
    /// The policy does not allow this method for this user.
    Refused(Method),
    /// The account is locked (or the failure budget is taken by attempts being checked).
    Locked,
    /// The account is disabled or gone.
    Disabled,
    /// The session that asked ended while the request was on its way (logged out, revoked).
    SessionEnded,
}

impl Verdict {
    /// True when this verdict is the one that locked the account.
    pub fn locked_now(&self) -> bool {
        matches!(self, Verdict::Wrong { locked_now: true } | Verdict::Replayed { locked_now: true })
    }
}

/// The application a sign-in is for, as the audit log names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub name: String,
    pub integration_key: String,
    /// Whose access rules apply (`signin::access::registered_scope` / `radius_scope`).
    pub scope: String,
}

/// Who asks, from where, through which application and in which session.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub user: &'a UserRow,
    pub ip: Option<&'a str>,
    pub application: Option<&'a Application>,
    /// The session that asks (keyed hash of its id): its attempt is refused if it has ended.
    pub session: Option<&'a str>,
}

impl<'a> Caller<'a> {
    pub fn new(user: &'a UserRow, ip: Option<&'a str>) -> Self {
        Self { user, ip, application: None, session: None }
    }

    pub fn for_application(mut self, application: Option<&'a Application>) -> Self {
        self.application = application;
        self
    }

    pub fn in_session(mut self, session: Option<&'a str>) -> Self {
        self.session = session;
        self
    }
}
