//! "RADIUS clients": the VPNs and network devices allowed to ask Twofold over RADIUS. Clients in
//! the configuration file are listed read-only; administrators add others here (the shared secret
//! is shown once), give them a new secret, or delete them. The rules are in `radius::clients`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Nav, Staff};
use crate::csrf_form;
use crate::domain::radius::Mode;
use crate::radius::clients::{self, By, ClientForm, Listed, Refused};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::state::AppState;
use crate::web::{client_ip, html};

#[derive(Template)]
#[template(path = "admin/radius.html")]
struct ClientsPage {
    chrome: Chrome,
    nav: Nav,
    clients: Vec<Listed>,
    modes: [Mode; 3],
    /// Where the server listens, or `None` when RADIUS is off.
    bind: Option<String>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/radius_secret.html")]
struct SecretPage {
    chrome: Chrome,
    nav: Nav,
    name: String,
    secret: String,
}

const NAV: Nav = Nav { admin: true, current: "radius" };

async fn list_page(state: &AppState, staff: &Staff, error: Option<String>) -> Result<ClientsPage, AppError> {
    let bind = state.radius_addr.map(|a| a.to_string());
    Ok(ClientsPage {
        chrome: staff.chrome(state),
        nav: NAV,
        clients: clients::listed(state).await?,
        modes: Mode::ALL,
        bind,
        error,
    })
}

pub async fn radius_get(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    html(StatusCode::OK, &list_page(&state, &staff, None).await?)
}

csrf_form!(AddForm { name: String, networks: String, secret: String, mode: String, groups: String, require_message_authenticator: Option<String> });

/// A refusal as the page shows it, or the failure as an error page.
async fn refused(state: &AppState, staff: &Staff, refusal: Refused) -> Result<HttpResponse, AppError> {
    match refusal {
        Refused::Input(e) => html(StatusCode::UNPROCESSABLE_ENTITY, &list_page(state, staff, Some(e.0)).await?),
        Refused::Failed(e) => Err(e.into()),
    }
}

pub async fn add_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    form: CsrfForm<AddForm>,
) -> Result<HttpResponse, AppError> {
    let f = form.0;
    let ip = admin_ip(&staff, &req)?;
    let by = By { id: &staff.user.id, ip: ip.as_deref() };
    let client = ClientForm {
        name: &f.name,
        networks: &f.networks,
        secret: &f.secret,
        mode: &f.mode,
        groups: &f.groups,
        require_message_authenticator: f.require_message_authenticator.is_some(),
    };
    match clients::add(&state, by, client).await {
        Ok((_, secret)) => {
            state.radius.forget();
            let page = SecretPage { chrome: staff.chrome(&state), nav: NAV, name: f.name.trim().into(), secret };
            html(StatusCode::OK, &page)
        }
        Err(refusal) => refused(&state, &staff, refusal).await,
    }
}

csrf_form!(ClientAction {});

/// Checks the administrator's role; their address, for the audit log.
fn admin_ip(staff: &Staff, req: &HttpRequest) -> Result<Option<String>, AppError> {
    staff.require_admin()?;
    Ok(client_ip(req))
}

pub async fn rotate_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _f: CsrfForm<ClientAction>,
) -> Result<HttpResponse, AppError> {
    let ip = admin_ip(&staff, &req)?;
    let by = By { id: &staff.user.id, ip: ip.as_deref() };
    match clients::rotate(&state, by, &id).await {
        Ok(Some((name, secret))) => {
            state.radius.forget();
            html(StatusCode::OK, &SecretPage { chrome: staff.chrome(&state), nav: NAV, name, secret })
        }
        Ok(None) => Err(AppError::NotFound),
        Err(refusal) => refused(&state, &staff, refusal).await,
    }
}

pub async fn delete_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _f: CsrfForm<ClientAction>,
) -> Result<HttpResponse, AppError> {
    let ip = admin_ip(&staff, &req)?;
    let by = By { id: &staff.user.id, ip: ip.as_deref() };
    match clients::delete(&state, by, &id).await {
        Ok(true) => {
            state.radius.forget();
            Ok(see_other("/admin/radius"))
        }
        Ok(false) => Err(AppError::NotFound),
        Err(refusal) => refused(&state, &staff, refusal).await,
    }
}
