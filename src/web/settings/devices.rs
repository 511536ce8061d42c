//! "Device Options" (rename, "When I log in", default) and "Remove" with its confirmation.
//! Every action is scoped to the signed-in user's own devices: another id is "not found".

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::clock::now;
use crate::csrf_form;
use crate::domain::{DeviceName, LoginAction};
use crate::store::{
    self,
    audit::{Event, Outcome},
    devices::{DeviceRow, Removal},
};
use crate::web::chrome::Choice;
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::notices::{self, Change};
use crate::web::session::SteppedUp;
use crate::web::state::AppState;
use crate::web::{client_ip, html};

#[derive(Template)]
#[template(path = "settings/device_options.html")]
struct OptionsPage {
    chrome: Chrome,
    id: String,
    name: String,
    is_default: bool,
    choices: Vec<Choice>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "settings/remove.html")]
struct RemovePage {
    chrome: Chrome,
    id: String,
    name: String,
    error: Option<String>,
}

async fn own_device(state: &AppState, auth: &SteppedUp, id: &str) -> Result<DeviceRow, AppError> {
    store::devices::for_user(&state.db, &auth.user.id, id).await?.ok_or(AppError::NotFound)
}

async fn audit(
    state: &AppState,
    req: &HttpRequest,
    auth: &SteppedUp,
    event: AuditEvent,
    detail: &str,
) -> Result<(), AppError> {
    let ip = client_ip(req);
    let e =
        Event::new(event, Outcome::Success).user(&auth.user.id, &auth.user.username).ip(ip.as_deref()).detail(detail);
    Ok(store::audit::record(&state.db, e, now()).await?)
}

/// What "When I log in" may say for this device (`LoginAction::offered`: what it can really do).
fn choices(device: &DeviceRow, selected: LoginAction, push: bool) -> Vec<Choice> {
    let passcodes = !device.totp_secret.is_empty() || device.kind == crate::domain::DeviceKind::HardwareToken;
    LoginAction::offered(device.kind, push, passcodes)
        .into_iter()
        .map(|a| Choice { value: a.as_str(), label: super::login_action_label(a), hint: "", checked: a == selected })
        .collect()
}

pub async fn options_get(
    auth: SteppedUp,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let device = own_device(&state, &auth, &id).await?;
    let push = store::push_devices::key(&state.db, &device.id).await?.is_some();
    let page = OptionsPage {
        chrome: Chrome::new(&state, Some(&auth.user.display_name), &auth.csrf),
        choices: choices(&device, device.login_action, push),
        id: device.id,
        name: device.name,
        is_default: device.is_default == 1,
        error: None,
    };
    html(StatusCode::OK, &page)
}

csrf_form!(OptionsForm { name: String, login_action: String });

pub async fn options_post(
    req: HttpRequest,
    auth: SteppedUp,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: CsrfForm<OptionsForm>,
) -> Result<HttpResponse, AppError> {
    let device = own_device(&state, &auth, &id).await?;
    let form = form.0;
    let parsed = DeviceName::parse(&form.name).and_then(|n| LoginAction::parse(&form.login_action).map(|a| (n, a)));
    let (name, action) = match parsed {
        Ok(v) => v,
        Err(e) => {
            let push = store::push_devices::key(&state.db, &device.id).await?.is_some();
            let page = OptionsPage {
                chrome: Chrome::new(&state, Some(&auth.user.display_name), &auth.csrf),
                choices: choices(&device, LoginAction::parse(&form.login_action).unwrap_or(LoginAction::Ask), push),
                id: device.id,
                name: form.name.chars().take(DeviceName::MAX_CHARS * 2).collect(),
                is_default: device.is_default == 1,
                error: Some(e.0),
            };
            return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    store::devices::update_options(&state.db, &auth.user.id, &device.id, name.as_str(), action).await?;
    audit(&state, &req, &auth, AuditEvent::DeviceOptions, &format!("device {}", device.id)).await?;
    Ok(see_other("/settings"))
}

csrf_form!(DefaultForm {});

pub async fn default_post(
    req: HttpRequest,
    auth: SteppedUp,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _f: CsrfForm<DefaultForm>,
) -> Result<HttpResponse, AppError> {
    if !store::devices::set_default(&state.db, &auth.user.id, &id).await? {
        return Err(AppError::NotFound);
    }
    audit(&state, &req, &auth, AuditEvent::DeviceDefault, &format!("device {id}")).await?;
    Ok(see_other("/settings"))
}

pub async fn remove_get(
    auth: SteppedUp,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let device = own_device(&state, &auth, &id).await?;
    let page = RemovePage {
        chrome: Chrome::new(&state, Some(&auth.user.display_name), &auth.csrf),
        id: device.id,
        name: device.name,
        error: None,
    };
    html(StatusCode::OK, &page)
}

csrf_form!(RemoveForm {});

pub async fn remove_post(
    req: HttpRequest,
    auth: SteppedUp,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _f: CsrfForm<RemoveForm>,
) -> Result<HttpResponse, AppError> {
    let device = own_device(&state, &auth, &id).await?;
    match store::devices::remove(&state.db, &auth.user.id, &device.id, now()).await? {
        Removal::Removed => {
            audit(
                &state,
                &req,
                &auth,
                AuditEvent::DeviceRemoved,
                &format!("device {} ({})", device.id, device.kind.as_str()),
            )
            .await?;
            let ip = client_ip(&req);
            notices::device_changed(&state, &auth.user, &device, Change::DeviceRemoved, ip.as_deref(), now()).await?;
            Ok(see_other("/settings"))
        }
        Removal::NotFound => Err(AppError::NotFound),
        Removal::LastMethod => {
            let page = RemovePage {
                chrome: Chrome::new(&state, Some(&auth.user.display_name), &auth.csrf),
                id: device.id,
                name: device.name,
                error: Some(
                    "This is your only way to sign in, so it can't be removed yet. Add another device or \
                     generate backup codes first, then remove this one."
                        .into(),
                ),
            };
            html(StatusCode::CONFLICT, &page)
        }
    }
}
