//! "Recent activity": the user's own sign-ins, prompts, enrolments and device changes, in words.

use crate::store;
use crate::web::error::AppError;
use crate::web::state::AppState;

use crate::clock::format as format_time;

pub struct ActivityView {
    pub when: String,
    pub what: &'static str,
    pub address: String,
    pub ok: bool,
    /// "Twofold" for the portal itself, or the application's name.
    pub application: String,
}

/// The words for an audit event, or None for events the user's own list does not show.
fn describe(event: &str, outcome: &str) -> Option<&'static str> {
    let ok = outcome != "failure";
    Some(match (event, ok) {
        ("login.password", true) => "Signed in with your password",
        ("login.password", false) => "Wrong password or disabled account",
        ("mfa.passcode", true) => "Verified with a passcode",
        ("mfa.passcode", false) => "Wrong or reused passcode",
        ("mfa.security_key", true) => "Verified with a security key",
        ("mfa.security_key", false) => "Security key not accepted",
        ("security_key.clone_warning", _) => "A security key that may have been copied was refused",
        ("enroll.security_key", _) => "A security key could not be added",
        ("mfa.push", true) => "Verified with a push",
        ("mfa.push", false) => "Push not approved",
        ("mfa.phone_call", true) => "Verified with a phone call",
        ("mfa.phone_call", false) => "Phone call not answered or declined",
        ("mfa.sms_passcode", true) => "Verified with a texted passcode",
        ("mfa.sms_passcode", false) => "Wrong or reused texted passcode",
        ("fraud.reported", _) => "Reported a sign-in request you did not make; you were signed out everywhere",
        ("phone.call_fraud", _) => "Reported a call you did not ask for",
        ("mfa.backup_code", _) => "Verified with a backup code",
        ("mfa.token", _) => "Verified with a hardware token",
        ("enroll.token_claim", _) => "Hardware token not added (no match)",
        ("token.assigned", _) => "Help desk gave you a hardware token",
        ("token.unassigned", _) => "Help desk took back a hardware token",
        ("token.lost", _) => "Hardware token marked lost",
        ("mfa.temporary_passcode", _) => "Verified with a temporary passcode",
        ("mfa.recovery_passcode", _) => "Verified with a recovery passcode",
        ("recovery.issued", _) => "Got a recovery passcode",
        ("recovery.refused", _) => "Recovery details not confirmed",
        ("bypass.issued", _) => "The help desk issued a temporary passcode",
        ("device.disabled", _) => "The help desk disabled a device",
        ("change.reported", _) => "Reported a change as not made by you",
        ("api.preauth", _) => "An application asked how you sign in",
        ("mfa.trusted_browser", _) => "Trusted browser skipped the second step",
        ("account.locked", _) => "Account locked after failed attempts",
        ("account.unlocked", _) => "Account unlocked",
        ("enroll.start", _) => "Started adding a device",
        ("enroll.device_added", _) => "Added a device",
        ("enroll.complete", _) => "Finished adding a device",
        ("device.options", _) => "Changed device options",
        ("device.default", _) => "Changed the default device",
        ("device.removed", _) => "Removed a device",
        ("trusted_browser.add", _) => "Trusted a browser",
        ("trusted_browser.revoke", _) => "Stopped trusting a browser",
        ("trusted_browser.revoke_all", _) => "Stopped trusting all browsers",
        ("backup_codes.generated", _) => "Generated new backup codes",
        ("logout", _) => "Logged out",
        _ => return None,
    })
}

pub async fn recent(state: &AppState, user_id: &str) -> Result<Vec<ActivityView>, AppError> {
    // The newest 20 the user can read: the list leaves out events that mean nothing to them
    // (a sign-in writes several), so it reads well past 20.
    let rows = store::audit::for_user(&state.db, user_id, 200).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(ActivityView {
                what: describe(&r.event, &r.outcome)?,
                ok: r.outcome != "failure",
                when: format_time(r.at),
                address: r.ip.unwrap_or_else(|| "—".into()),
                application: r.application.unwrap_or_else(|| state.settings.institution.product_name.clone()),
            })
        })
        .take(20)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn failures_and_successes_read_differently() {
        assert_ne!(describe("mfa.passcode", "success"), describe("mfa.passcode", "failure"));
        assert_ne!(describe("mfa.security_key", "success"), describe("mfa.security_key", "failure"));
        assert_eq!(describe("mfa.push", "success"), Some("Verified with a push"));
        assert_eq!(describe("setup.admin_created", "success"), None);
    }
}
