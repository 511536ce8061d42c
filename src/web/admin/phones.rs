//! The help desk adds a phone number for a user (after checking who is calling): a mobile number
//! another account holds is allowed here, unlike in the wizard. Audit-logged; the user is told.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::Staff;
use crate::clock::now;
use crate::csrf_form;
use crate::domain::phone::parse_extension;
use crate::domain::{DeviceKind, DeviceName, PhoneNumber, Platform};
use crate::store::audit::{Event, Outcome};
use crate::store::phone_devices::{self, NumberDevice};
use crate::store::{self};
use crate::web::client_ip;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::notices::{self, Change};
use crate::web::state::AppState;

csrf_form!(AddPhoneForm { kind: String, number: String, extension: String });

fn explained(message: String) -> AppError {
    AppError::Explained { status: StatusCode::UNPROCESSABLE_ENTITY, title: "The phone was not added", message }
}

pub async fn add_phone_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    user_id: web::Path<String>,
    form: CsrfForm<AddPhoneForm>,
) -> Result<HttpResponse, AppError> {
    let user = staff.managed(&state, &user_id).await?;
    let form = form.0;
    let kind = match DeviceKind::parse(&form.kind) {
        Ok(k) if k.has_number() => k,
        _ => return Err(explained("Choose Mobile phone or Landline.".into())),
    };
    let number = PhoneNumber::parse(&form.number, "", &state.policy().await?.allowed_countries)
        .map_err(|e| explained(format!("{} Type the number with + and the country code.", e.0)))?;
    let extension = match kind {
        DeviceKind::Landline => parse_extension(&form.extension).map_err(|e| explained(e.0))?,
        _ => None,
    };
    let t = now();
    let name = DeviceName::suggested(kind, Platform::Other);
    let shared = kind == DeviceKind::MobilePhone
        && phone_devices::mobile_taken_by_other(&state.db, &state.keys, number.e164(), &user.id).await?;
    let device = NumberDevice { kind, name: name.as_str(), phone: number.e164(), extension: extension.as_deref() };
    let device_id = phone_devices::create_for_user(&state.db, &state.keys, &user.id, device, t).await?;
    let detail = format!(
        "{} {} added by {}{}",
        kind.as_str(),
        number.masked(),
        staff.user.username,
        if shared { " (number also on another account)" } else { "" }
    );
    let ip = client_ip(&req);
    let event = Event::new(AuditEvent::DevicePhoneAdded, Outcome::Success)
        .user(&user.id, &user.username)
        .actor(&staff.user.id)
        .ip(ip.as_deref())
        .detail(&detail);
    store::audit::record(&state.db, event, t).await?;
    if let Some(row) = store::devices::for_user(&state.db, &user.id, &device_id).await? {
        notices::device_changed(&state, &user, &row, Change::DeviceAdded, ip.as_deref(), t).await?;
    }
    Ok(see_other(&format!("/admin/users/{}", user.id)))
}
