//! "Reactivate" (My Settings & Devices): a new activation link for the same device entry, for a
//! new phone. Asking for it stops the old key at once; activating gives the device a new seed.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::clock::now;
use crate::csrf_form;
use crate::factors::totp::qr_svg_data_uri;
use crate::store::{
    self,
    audit::{Event, Outcome},
    devices::DeviceRow,
};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::session::SteppedUp;
use crate::web::state::AppState;
use crate::web::{client_ip, html};

#[derive(Template)]
#[template(path = "settings/reactivate.html")]
struct ReactivatePage {
    chrome: Chrome,
    id: String,
    name: String,
    /// The QR code and link, once a new link was issued.
    link: Option<(String, String)>,
}

async fn own_device(state: &AppState, auth: &SteppedUp, id: &str) -> Result<DeviceRow, AppError> {
    store::devices::for_user(&state.db, &auth.user.id, id).await?.ok_or(AppError::NotFound)
}

pub async fn reactivate_get(
    auth: SteppedUp,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let device = own_device(&state, &auth, &path).await?;
    let link = match store::push_devices::open_for_device(&state.db, &device.id, now()).await? {
        Some(a) => {
            let link = state.activation_link(&auth.user.id, &a.token_sealed)?;
            let qr = qr_svg_data_uri(&link).map_err(|e| AppError::Internal(anyhow::anyhow!("QR code: {e}")))?;
            Some((qr, link))
        }
        None => None,
    };
    let page = ReactivatePage {
        chrome: Chrome::new(&state, Some(&auth.user.display_name), &auth.csrf),
        id: device.id,
        name: device.name,
        link,
    };
    html(StatusCode::OK, &page)
}

csrf_form!(ReactivateForm {});

pub async fn reactivate_post(
    req: HttpRequest,
    auth: SteppedUp,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _f: CsrfForm<ReactivateForm>,
) -> Result<HttpResponse, AppError> {
    let device = own_device(&state, &auth, &path).await?;
    state.new_activation(&auth.user.id, None, Some(&device.id)).await?;
    // The old phone stops answering pushes now, before the new one is activated.
    store::push_devices::remove_key(&state.db, &device.id).await?;
    let detail = format!("device {}: new activation link; old key removed", device.id);
    let ip = client_ip(&req);
    let e = Event::new(AuditEvent::PushReactivation, Outcome::Info)
        .user(&auth.user.id, &auth.user.username)
        .ip(ip.as_deref())
        .detail(&detail);
    store::audit::record(&state.db, e, now()).await?;
    Ok(see_other(&format!("/settings/devices/{}/reactivate", device.id)))
}
