//! "My Settings & Devices": the devices of the signed-in user. Full device management (rename,
//! remove, add, trusted browsers, backup codes) builds on this page.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::chrome::Chrome;
use super::html;
use super::session::FullyAuthed;
use super::state::AppState;
use crate::domain::{DeviceKind, Platform};
use crate::error::AppError;
use crate::store;

pub struct DeviceView {
    pub name: String,
    pub kind: String,
    pub added: String,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "settings/devices.html")]
struct DevicesPage {
    chrome: Chrome,
    devices: Vec<DeviceView>,
}

/// "22 Nov 2026, 08:29 UTC": dates shown to people.
pub fn format_time(ts: i64) -> String {
    let format = time::macros::format_description!("[day padding:none] [month repr:short] [year], [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "—".into())
}

pub async fn settings_get(auth: FullyAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let devices = store::devices::list_for_user(&state.db, &auth.user.id).await?;
    let devices = devices
        .into_iter()
        .map(|d| {
            let kind = DeviceKind::parse(&d.kind).map(DeviceKind::label).unwrap_or("Device");
            let platform = Platform::parse(&d.platform).map(Platform::label).unwrap_or("Other");
            DeviceView {
                name: d.name,
                kind: format!("{kind} · {platform} · Authenticator app"),
                added: format_time(d.created_at),
                last_used: d.last_used_at.map(format_time).unwrap_or_else(|| "Never".into()),
            }
        })
        .collect();
    let page = DevicesPage { chrome: Chrome::new(&state, Some(&auth.user.display_name), &auth.csrf), devices };
    html(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(super::format_time(1_795_336_140), "22 Nov 2026, 08:29 UTC");
    }
}
