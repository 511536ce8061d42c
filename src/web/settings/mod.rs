//! "My Settings & Devices": devices, trusted browsers, backup codes and recent activity, behind a
//! recent second factor (the step-up window). One file per part of the page.

mod activity;
mod backup_codes;
mod browsers;
mod devices;
pub(crate) mod numbers;
pub(crate) mod reactivate;
mod recovery;

pub use backup_codes::backup_codes_post;
pub use browsers::{revoke_all_post, revoke_post};
pub use devices::{default_post, options_get, options_post, remove_get, remove_post};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::clock::now;
use crate::domain::{DeviceKind, LoginAction, user_agent};
use crate::factors::codes::BACKUP_CODES_LOW;
use crate::store::{self, devices::DeviceRow};
use crate::web::chrome::Chrome;
use crate::web::error::AppError;
use crate::web::html;
use crate::web::session::SteppedUp;
use crate::web::state::AppState;

pub struct DeviceView {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub added: String,
    pub last_used: String,
    pub login_action: &'static str,
    pub is_default: bool,
    /// The phone number, for devices that have one (see `numbers`).
    pub number: Option<String>,
    /// Uses the Twofold authenticator: "Reactivate" is offered.
    pub twofold: bool,
}

pub struct RecoveryView {
    pub id: String,
    pub asked: String,
    pub works_from: Option<String>,
}

pub struct BrowserView {
    pub id: String,
    pub label: String,
    pub first_seen: String,
    pub last_seen: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "settings/devices.html")]
struct SettingsPage {
    chrome: Chrome,
    devices: Vec<DeviceView>,
    browsers: Vec<BrowserView>,
    backup_codes: i64,
    backup_codes_low: bool,
    activity: Vec<activity::ActivityView>,
    /// Recovery passcodes not used yet (working or still waiting): each can be cancelled here.
    recoveries: Vec<RecoveryView>,
    /// Administrators and the help desk get a link to the console.
    staff: bool,
}

/// "22 Nov 2026, 08:29 UTC": dates shown to people.
pub fn login_action_label(action: LoginAction) -> &'static str {
    match action {
        LoginAction::Passcode => "Automatically ask me for a passcode from this device",
        LoginAction::Call => "Automatically call this device",
        LoginAction::Push => "Automatically send this device a Push",
        LoginAction::Ask => "Ask me to choose an authentication method",
    }
}

pub fn device_view(d: DeviceRow) -> DeviceView {
    let (kind, platform) = (d.kind.label(), d.platform.label());
    DeviceView {
        login_action: login_action_label(d.login_action),
        id: d.id,
        name: d.name,
        kind: if matches!(d.kind, DeviceKind::HardwareToken | DeviceKind::SecurityKey) {
            kind.to_string()
        } else if d.totp_secret.is_empty() {
            format!("{kind} · Calls and texts")
        } else {
            format!("{kind} · {platform} · Authenticator app")
        },
        added: crate::clock::format(d.created_at),
        last_used: d.last_used_at.map(crate::clock::format).unwrap_or_else(|| "Never".into()),
        is_default: d.is_default == 1,
        number: None,
        twofold: false,
    }
}

pub async fn settings_get(auth: SteppedUp, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let t = now();
    let rows = store::devices::list_for_user(&state.db, &auth.user.id).await?;
    let mut devices: Vec<DeviceView> = rows.iter().cloned().map(device_view).collect();
    crate::web::settings::numbers::add_numbers(&state.keys, &rows, &mut devices, true)?;
    let twofold = store::push_devices::twofold_device_ids(&state.db, &auth.user.id).await?;
    devices.iter_mut().for_each(|d| d.twofold = twofold.contains(&d.id));
    let browsers = store::trusted_browsers::list_for_user(&state.db, &auth.user.id, t)
        .await?
        .into_iter()
        .map(|b| BrowserView {
            id: b.id,
            label: user_agent::describe(&b.user_agent),
            first_seen: crate::clock::format(b.created_at),
            last_seen: crate::clock::format(b.last_seen_at),
            expires: crate::clock::format(b.expires_at),
        })
        .collect();
    let backup_codes = store::backup_codes::count_unused(&state.db, &auth.user.id).await?;
    let page = SettingsPage {
        chrome: Chrome::new(&state, Some(&auth.user.display_name), &auth.csrf),
        devices,
        browsers,
        backup_codes,
        backup_codes_low: backup_codes > 0 && backup_codes <= BACKUP_CODES_LOW,
        activity: activity::recent(&state, &auth.user.id).await?,
        recoveries: store::one_time_codes::pending_recovery(&state.db, &auth.user.id, t)
            .await?
            .into_iter()
            .map(|r| RecoveryView {
                id: r.id,
                asked: crate::clock::format(r.created_at),
                works_from: r.not_before.filter(|n| *n > t).map(crate::clock::format),
            })
            .collect(),
        staff: auth.user.role() != crate::domain::Role::User,
    };
    html(StatusCode::OK, &page)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    let get = crate::web::get;
    cfg.route("/settings", get().to(settings_get))
        .route("/settings/devices/{id}", get().to(options_get))
        .route("/settings/devices/{id}", web::post().to(options_post))
        .route("/settings/devices/{id}/default", web::post().to(default_post))
        .route("/settings/devices/{id}/remove", get().to(remove_get))
        .route("/settings/devices/{id}/remove", web::post().to(remove_post))
        .route("/settings/devices/{id}/reactivate", get().to(reactivate::reactivate_get))
        .route("/settings/devices/{id}/reactivate", web::post().to(reactivate::reactivate_post))
        .route("/settings/trusted-browsers/{id}/revoke", web::post().to(revoke_post))
        .route("/settings/trusted-browsers/revoke-all", web::post().to(revoke_all_post))
        .route("/settings/backup-codes", web::post().to(backup_codes_post))
        .route("/settings/recovery/{id}/cancel", web::post().to(recovery::cancel_post));
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(crate::clock::format(1_795_336_140), "22 Nov 2026, 08:29 UTC");
    }
}
