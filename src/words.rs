//! Words several doors share for the same outcome (the prompt, the wizard, the Auth API and
//! RADIUS say the same thing when the policy, the phone network or its budgets say no).

use crate::channels::telephony::PhoneError;
use crate::domain::access::Reason;
use crate::domain::policy::Method;
use crate::signin::SignIn;
use crate::signin::push::PushRefusal;

/// What a user is told when they try a method the policy does not allow them.
pub fn method_refused(core: &SignIn, method: Method) -> String {
    format!(
        "{} cannot be used to sign in to your account. Choose another method, or contact {}.",
        method.name(),
        core.settings.institution.help_desk
    )
}

/// Why a sign-in was denied by the access rules ("Access denied. …"); the same at every door.
pub fn access_denied(core: &SignIn, reason: &Reason) -> String {
    let institution = &core.settings.institution.name;
    match reason {
        Reason::Location { .. } => {
            format!("Access denied. Sign-ins from your current location are not allowed by {institution}.")
        }
        Reason::Network { .. } => {
            format!("Access denied. Sign-ins from your current network are not allowed by {institution}.")
        }
        Reason::Anonymous { .. } => format!(
            "Access denied. Sign-ins through anonymous networks (VPN services, proxies, Tor) are not allowed by {institution}."
        ),
        Reason::NewUser { .. } => format!(
            "Access denied. Your account is not set up for two-step sign-in, and {institution} requires it. Contact {}.",
            core.settings.institution.help_desk
        ),
    }
}

/// What an application is told when the access rules let a sign-in through without a second factor.
pub const ALLOWED_WITHOUT_MFA: &str = "Allowed without two-step verification by your institution's policy.";

/// Why no push was sent.
pub fn push_refused(core: &SignIn, refusal: PushRefusal) -> String {
    let help_desk = &core.settings.institution.help_desk;
    match refusal {
        PushRefusal::NotAllowed => method_refused(core, Method::Push),
        PushRefusal::NoDevice => "None of your devices can receive pushes. Enter a passcode instead.".into(),
        PushRefusal::FraudLock => format!(
            "Push is turned off for your account because a push was reported as fraudulent. Enter a passcode instead, or contact {help_desk}."
        ),
        PushRefusal::Capped { window_minutes } => format!(
            "Too many pushes were sent in the last {window_minutes} minutes. Enter a passcode instead, or try again later."
        ),
        PushRefusal::Locked => "Your account is locked.".into(),
        PushRefusal::Disabled => "Your account is disabled.".into(),
    }
}

/// What to tell the person when a text or call could not be made. Other methods stay available.
pub fn phone_problem(e: &PhoneError) -> Option<String> {
    match e {
        PhoneError::Budget(_) => Some(
            "We cannot send more texts or place more calls to this number right now. Try again later, or choose another method."
                .into(),
        ),
        PhoneError::Carrier(_) => Some(
            "We could not reach the phone network just now. Try again in a few minutes, or choose another method.".into(),
        ),
        PhoneError::Store(_) => None,
    }
}

/// Why the directory (LDAP/Active Directory) refused a password that it owns; the same words at
/// the portal's "Log in" and over RADIUS. A wrong password is not here: it reads as any other.
pub fn directory_refusal(core: &SignIn, refusal: crate::signin::password::Refusal) -> String {
    use crate::signin::password::Refusal;
    let help = &core.settings.institution.help_desk;
    match refusal {
        Refusal::WrongPassword => "Incorrect username or password. Check them and try again.".to_string(),
        Refusal::PasswordExpired => {
            format!("Your password has expired. Change it with your institution's password tool, or contact {help}.")
        }
        Refusal::MustChangePassword => format!(
            "You must change your password before you can sign in. Change it with your institution's password tool, or contact {help}."
        ),
        Refusal::Disabled => format!("Your account is disabled in the directory. Contact {help} for help."),
        Refusal::Locked => format!(
            "Your account is locked in the directory after too many wrong passwords. Wait, then try again, or contact {help}."
        ),
    }
}

/// The directory that checks this account's password did not answer.
pub const DIRECTORY_UNAVAILABLE: &str =
    "Your password cannot be checked right now (the directory does not answer). Try again in a few minutes.";
