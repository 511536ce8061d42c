//! `phones`: list (or by number), get, create (a phone nobody holds yet), delete, and the
//! Twofold authenticator's activation link for a user's phone (returned, or texted to it).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::super::{ApiResult, Fail, ok};
use super::{answer, audit, authorized, objects, page_of, required};
use crate::clock::now;
use crate::domain::phone::parse_extension;
use crate::domain::{AdminPermission, AuditEvent, DeviceKind, DeviceName, PhoneNumber, Platform};
use crate::store::{
    self,
    admin_phones::{LoosePhone, NewLoosePhone},
    devices::DeviceRow,
    phone_devices::PhoneDevice,
    users::UserRow,
};
use crate::web::state::AppState;

/// What a phone id names: a phone nobody holds yet, or a user's device with a number.
pub(super) enum Found {
    Loose(LoosePhone),
    Owned { user: Box<UserRow>, device: Box<DeviceRow>, phone: PhoneDevice },
}

pub(super) async fn find(state: &AppState, id: &str) -> Result<Found, Fail> {
    let missing = || Fail::not_found("Resource not found");
    if let Some(p) = store::admin_phones::by_id(&state.db, &state.keys, id).await? {
        return Ok(Found::Loose(p));
    }
    let user_id = store::admin_phones::device_owner(&state.db, id).await?.ok_or_else(missing)?;
    let user = store::users::by_id(&state.db, &user_id).await?.ok_or_else(missing)?;
    let device = store::devices::for_user(&state.db, &user.id, id).await?.ok_or_else(missing)?;
    let phone = store::phone_devices::among(&state.keys, std::slice::from_ref(&device))?.pop().ok_or_else(missing)?;
    Ok(Found::Owned { user: Box::new(user), device: Box::new(device), phone })
}

async fn object(state: &AppState, found: &Found) -> Result<Value, Fail> {
    Ok(match found {
        Found::Loose(p) => objects::loose_phone(p),
        Found::Owned { user, device, phone } => {
            let activated = store::push_devices::key(&state.db, &device.id).await?.is_some();
            objects::phone(device, phone, activated, vec![objects::user_brief(user)])
        }
    })
}

pub async fn list_get(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    answer(list(&req, &body, &state).await)
}

async fn list(req: &HttpRequest, body: &[u8], state: &AppState) -> ApiResult {
    let signed = authorized(req, body, state, AdminPermission::ReadResource).await?;
    let wanted = match signed.param("number") {
        Some(n) => Some(PhoneNumber::parse(n, "", &[]).map_err(|e| Fail::invalid(&e.to_string()))?),
        None => None,
    };
    let mut ids: Vec<String> =
        store::admin_phones::list(&state.db, &state.keys).await?.into_iter().map(|p| p.id).collect();
    ids.extend(store::admin_phones::owned(&state.db).await?.into_iter().map(|(id, _)| id));
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let found = find(state, &id).await?;
        let number = match &found {
            Found::Loose(p) => p.phone.as_str(),
            Found::Owned { phone, .. } => phone.phone.as_str(),
        };
        if wanted.as_ref().is_none_or(|w| w.e164() == number) {
            out.push(object(state, &found).await?);
        }
    }
    page_of(&signed, out)
}

pub async fn get(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            authorized(&req, &body, &state, AdminPermission::ReadResource).await?;
            let found = find(&state, &id).await?;
            Ok(ok(object(&state, &found).await?))
        }
        .await,
    )
}

pub async fn create_post(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    answer(create(&req, &body, &state).await)
}

async fn create(req: &HttpRequest, body: &[u8], state: &AppState) -> ApiResult {
    let signed = authorized(req, body, state, AdminPermission::WriteResource).await?;
    let kind = match signed.param("type").map(str::to_ascii_lowercase).as_deref() {
        None | Some("mobile") => DeviceKind::MobilePhone,
        Some("landline") => DeviceKind::Landline,
        Some(_) => return Err(Fail::invalid("type must be mobile or landline (tablets have no number)")),
    };
    let allowed = state.policy().await?.allowed_countries;
    let number = PhoneNumber::parse(required(&signed, "number")?, "", &allowed)
        .map_err(|e| Fail::invalid(&format!("number: {e} Send it with + and the country code.")))?;
    let extension = match (kind, signed.param("extension")) {
        (DeviceKind::Landline, Some(x)) => parse_extension(x).map_err(|e| Fail::invalid(&e.0))?,
        (_, Some(_)) => return Err(Fail::invalid("only a landline has an extension")),
        (_, None) => None,
    };
    let suggested = DeviceName::suggested(kind, Platform::Other);
    let name = match signed.param("name") {
        Some(n) => DeviceName::parse(n).map_err(|e| Fail::invalid(&e.0))?,
        None => suggested,
    };
    let new = NewLoosePhone { kind, name: name.as_str(), phone: number.e164(), extension: extension.as_deref() };
    let id = store::admin_phones::insert(&state.db, &state.keys, new, now()).await?;
    let detail = format!("phone {id} ({} {})", kind.as_str(), number.masked());
    audit(state, req, &signed, None, AuditEvent::PhoneCreated, &detail).await?;
    let found = find(state, &id).await?;
    Ok(ok(object(state, &found).await?))
}

/// Removes a user's phone device (kept a week, like every removal) and records it.
pub(super) async fn remove_owned(
    state: &AppState,
    req: &HttpRequest,
    signed: &super::super::signed::Signed,
    user: &UserRow,
    device: &DeviceRow,
) -> Result<(), Fail> {
    store::devices::remove_reported(&state.db, &user.id, &device.id, now()).await?;
    let detail = format!("device {} removed", device.id);
    audit(state, req, signed, Some(user), AuditEvent::DeviceRemoved, &detail).await
}

pub async fn delete(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::WriteResource).await?;
            match find(&state, &id).await {
                Ok(Found::Loose(p)) => {
                    if store::admin_phones::delete(&state.db, &p.id).await? {
                        audit(&state, &req, &signed, None, AuditEvent::PhoneDeleted, &format!("phone {}", p.id))
                            .await?;
                    }
                }
                Ok(Found::Owned { user, device, .. }) => {
                    super::not_staff(&user)?;
                    remove_owned(&state, &req, &signed, &user, &device).await?
                }
                // Duo: deleting a phone that is already gone does nothing.
                Err(f) if f.code == 40401 => {}
                Err(f) => return Err(f),
            }
            Ok(ok(json!("")))
        }
        .await,
    )
}

/// A new single-use activation link for the user's phone (earlier ones stop working).
async fn activation(
    state: &AppState,
    req: &HttpRequest,
    signed: &super::super::signed::Signed,
    id: &str,
) -> Result<(UserRow, PhoneDevice, String), Fail> {
    let Found::Owned { user, device, phone } = find(state, id).await? else {
        return Err(Fail::invalid("give the phone to a user first (POST /admin/v1/users/{user_id}/phones)"));
    };
    super::not_staff(&user)?;
    if phone.kind != DeviceKind::MobilePhone {
        return Err(Fail::invalid("only a mobile phone runs the Twofold authenticator"));
    }
    state.new_activation(&user.id, None, Some(&device.id)).await.map_err(Fail::from_core)?;
    let row = store::push_devices::open_for_device(&state.db, &device.id, now()).await?.ok_or_else(Fail::internal)?;
    let link = state.activation_link(&user.id, &row.token_sealed).map_err(Fail::from_core)?;
    let detail = format!("device {}: new activation link", device.id);
    audit(state, req, signed, Some(&user), AuditEvent::PushReactivation, &detail).await?;
    Ok((*user, phone, link))
}

fn valid_secs(state: &AppState) -> i64 {
    i64::from(state.settings.push.activation_hours) * 3600
}

pub async fn activation_url_post(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::WriteResource).await?;
            let (_, _, link) = activation(&state, &req, &signed, &id).await?;
            Ok(ok(json!({ "activation_url": link, "activation_barcode": "", "valid_secs": valid_secs(&state) })))
        }
        .await,
    )
}

pub async fn send_sms_activation_post(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::WriteResource).await?;
            let (user, phone, link) = activation(&state, &req, &signed, &id).await?;
            let to = PhoneNumber::from_e164(&phone.phone).map_err(|_| Fail::internal())?;
            let message = format!("To activate the Twofold authenticator on this phone, open {link}");
            match state.phones.send_notice(&user.id, &user.username, &to, &message, now()).await {
                Ok(()) => {}
                Err(crate::channels::telephony::phones::PhoneError::Budget(_)) => {
                    return Err(Fail::too_many_requests());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Admin API activation text failed");
                    return Err(Fail::internal());
                }
            }
            Ok(ok(json!({ "activation_msg": message, "installation_msg": "", "valid_secs": valid_secs(&state) })))
        }
        .await,
    )
}
