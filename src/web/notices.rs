//! Change notices: when a device is added or removed, or backup codes are made, the user gets an
//! email. Device changes carry a "This wasn't me" link that undoes the change and alerts admins.

use crate::channels::mail::{Mail, Mailer};
use crate::secrets::random_token;
use crate::store::{self, devices::DeviceRow, users::UserRow};
use crate::web::error::AppError;
use crate::web::state::AppState;

/// How long a "This wasn't me" link works.
pub const REPORT_DAYS: i64 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    DeviceAdded,
    DeviceRemoved,
    /// A recovery passcode was asked for ("Lost your device?"); the report's device is the code.
    RecoveryRequested,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::DeviceAdded => "device_added",
            Change::DeviceRemoved => "device_removed",
            Change::RecoveryRequested => "recovery_requested",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "device_added" => Some(Change::DeviceAdded),
            "device_removed" => Some(Change::DeviceRemoved),
            "recovery_requested" => Some(Change::RecoveryRequested),
            _ => None,
        }
    }
}

fn signature(state: &AppState) -> String {
    let inst = &state.settings.institution;
    format!("— {} for {}", inst.product_name, inst.name)
}

/// Emails the user about a device change, with a single-use "This wasn't me" link.
pub async fn device_changed(
    state: &AppState,
    user: &UserRow,
    device: &DeviceRow,
    change: Change,
    ip: Option<&str>,
    now: i64,
) -> Result<(), AppError> {
    // Not a device change: `recovery_requested` writes that mail.
    if !state.policy().await?.new_device_notifications || change == Change::RecoveryRequested {
        return Ok(());
    }
    let token = random_token();
    let expires = now + REPORT_DAYS * 86_400;
    let hash = state.keys.hash_token(&token);
    store::change_reports::insert(&state.db, &hash, &user.id, change.as_str(), Some(&device.id), now, expires).await?;
    let mut link = state.public_url.clone();
    link.set_path(&format!("/wasnt-me/{token}"));
    let institution = &state.settings.institution.name;
    let (subject, what, undo) = match change {
        Change::DeviceAdded => (
            format!("A device was added to your {institution} account"),
            "was added to your account for signing in",
            "remove the device and sign you out everywhere",
        ),
        Change::DeviceRemoved => (
            format!("A device was removed from your {institution} account"),
            "was removed from your account",
            "put the device back and sign you out everywhere",
        ),
        Change::RecoveryRequested => unreachable_change()?,
    };
    let body = format!(
        "Hello {name},\n\n\
         The device \"{device}\" {what} on {when}, from the address {ip}.\n\n\
         If this was you, there is nothing to do.\n\n\
         If this wasn't you, open this link within {days} days to {undo}:\n{link}\n\n\
         Then contact {help} and change your password.\n\n{sig}\n",
        name = user.display_name,
        device = device.name,
        when = crate::clock::format(now),
        ip = ip.unwrap_or("unknown"),
        days = REPORT_DAYS,
        help = state.settings.institution.help_desk,
        sig = signature(state),
    );
    let mail = Mail { to: &user.email, subject: &subject, body: &body, user_id: Some(&user.id) };
    Ok(state.mailer.queue(&state.db, &state.keys, mail, now).await?)
}

fn unreachable_change() -> Result<(String, &'static str, &'static str), AppError> {
    Err(AppError::Internal(anyhow::anyhow!("a device-change notice for a recovery request")))
}

/// A recovery passcode, sent to the address on file (never shown on the page that asked for it),
/// with when it works and a "This wasn't me" link that cancels it.
pub struct RecoveryMail<'a> {
    pub code_id: &'a str,
    pub code: &'a str,
    pub works_from: i64,
    pub until: i64,
    pub ip: Option<&'a str>,
}

pub async fn recovery_requested(
    state: &AppState,
    user: &UserRow,
    m: RecoveryMail<'_>,
    now: i64,
) -> Result<(), AppError> {
    let token = random_token();
    let hash = state.keys.hash_token(&token);
    let kind = Change::RecoveryRequested.as_str();
    store::change_reports::insert(&state.db, &hash, &user.id, kind, Some(m.code_id), now, m.until.max(now + 86_400))
        .await?;
    let mut link = state.public_url.clone();
    link.set_path(&format!("/wasnt-me/{token}"));
    let when = if m.works_from > now {
        format!(
            "It starts to work on {} (your institution waits before a recovered account can add a device) and works \
             once, until {}.",
            crate::clock::format(m.works_from),
            crate::clock::format(m.until)
        )
    } else {
        format!("It works once, until {}.", crate::clock::format(m.until))
    };
    let subject = format!("Your recovery passcode for {}", state.settings.institution.name);
    let body = format!(
        "Hello {name},\n\n\
         A recovery passcode was asked for on {asked}, from the address {ip}, after your identity details and \
         password were entered:\n\n    {code}\n\n{when}\n\n\
         Log in, enter it at \"Enter a Passcode\", then add your new device.\n\n\
         If this wasn't you, open this link to cancel it and sign you out everywhere:\n{link}\n\n\
         Then contact {help} and change your password.\n\n{sig}\n",
        name = user.display_name,
        asked = crate::clock::format(now),
        ip = m.ip.unwrap_or("unknown"),
        code = crate::factors::codes::display(m.code),
        help = state.settings.institution.help_desk,
        sig = signature(state),
    );
    let mail = Mail { to: &user.email, subject: &subject, body: &body, user_id: Some(&user.id) };
    state.mailer.queue(&state.db, &state.keys, mail, now).await?;
    // Every enrolled device is told too: the person who lost one phone may still hold another.
    let text = format!(
        "A recovery passcode was requested for your account and emailed to you. If this wasn't you, cancel it in \
         My Settings & Devices or contact {}.",
        state.settings.institution.help_desk
    );
    state.tell_devices_soon(user, "Recovery requested", &text);
    Ok(())
}

/// "a•••@example.edu": enough for people to recognise their own address, not to learn it.
pub fn masked_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            format!("{}•••@{domain}", local.chars().next().map(String::from).unwrap_or_default())
        }
        None => "•••".into(),
    }
}

/// Emails the user that new backup codes were made (the old ones stopped working).
pub async fn backup_codes_generated(
    state: &AppState,
    user: &UserRow,
    ip: Option<&str>,
    now: i64,
) -> Result<(), AppError> {
    let subject = format!("New backup codes for your {} account", state.settings.institution.name);
    let body = format!(
        "Hello {name},\n\n\
         New backup codes were made for your account on {when}, from the address {ip}. Earlier backup codes no \
         longer work.\n\n\
         If this wasn't you, contact {help} now and change your password.\n\n{sig}\n",
        name = user.display_name,
        when = crate::clock::format(now),
        ip = ip.unwrap_or("unknown"),
        help = state.settings.institution.help_desk,
        sig = signature(state),
    );
    let mail = Mail { to: &user.email, subject: &subject, body: &body, user_id: Some(&user.id) };
    Ok(state.mailer.queue(&state.db, &state.keys, mail, now).await?)
}

/// Tells every administrator that a user reported a change they did not make.
pub async fn alert_admins(state: &AppState, user: &UserRow, change: Change, now: i64) -> Result<(), AppError> {
    let what = match change {
        Change::DeviceAdded => "a device added to their account",
        Change::DeviceRemoved => "a device removed from their account",
        Change::RecoveryRequested => "a recovery passcode asked for with their identity details and password",
    };
    let subject = match change {
        Change::RecoveryRequested => format!("Reported: {} did not ask for a recovery passcode", user.username),
        _ => format!("Reported: {} did not make a device change", user.username),
    };
    for admin in store::users::admins(&state.db).await? {
        let body = format!(
            "{user} ({display}) reported {what} as not made by them, on {when}.\n\n\
             Twofold undid the change, signed the user out everywhere and stopped trusting their browsers. \
             Check the audit log and contact the user.\n\n{sig}\n",
            user = user.username,
            display = user.display_name,
            when = crate::clock::format(now),
            sig = signature(state),
        );
        let mail = Mail { to: &admin.email, subject: &subject, body: &body, user_id: Some(&admin.id) };
        state.mailer.queue(&state.db, &state.keys, mail, now).await?;
    }
    Ok(())
}

/// The simulator label shown with mail that was not really sent.
pub fn simulator_note(mailer: &Mailer) -> Option<&'static str> {
    mailer.is_simulator().then_some("Mail simulator: messages are kept in the Outbox and not sent.")
}
