//! "SCIM connectors": the identity providers (Entra ID, Okta, Google…) that provision users and
//! groups over `/scim/v2/`. Administrators add one (its token is shown once), give it a new token,
//! or delete it. The rules are in `scim::connectors`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Nav, Staff};
use crate::csrf_form;
use crate::scim::connectors::{self, By, Refused};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::state::AppState;
use crate::web::{client_ip, html};

/// A connector as the page lists it.
struct Row {
    id: String,
    name: String,
    created: String,
    created_by: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "admin/scim.html")]
struct ConnectorsPage {
    chrome: Chrome,
    nav: Nav,
    connectors: Vec<Row>,
    /// The address connectors are given.
    endpoint: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/scim_token.html")]
struct TokenPage {
    chrome: Chrome,
    nav: Nav,
    name: String,
    token: String,
    endpoint: String,
}

const NAV: Nav = Nav { admin: true, current: "scim" };

fn endpoint(state: &AppState) -> String {
    format!("{}/scim/v2", state.public_url.as_str().trim_end_matches('/'))
}

async fn list_page(state: &AppState, staff: &Staff, error: Option<String>) -> Result<ConnectorsPage, AppError> {
    let connectors = crate::store::scim_connectors::connectors(&state.db)
        .await?
        .into_iter()
        .map(|c| Row {
            id: c.id,
            name: c.name,
            created: crate::clock::format(c.created_at),
            created_by: c.created_by,
            last_used: c.last_used_at.map(crate::clock::format).unwrap_or_else(|| "Never".into()),
        })
        .collect();
    Ok(ConnectorsPage { chrome: staff.chrome(state), nav: NAV, connectors, endpoint: endpoint(state), error })
}

pub async fn scim_get(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    html(StatusCode::OK, &list_page(&state, &staff, None).await?)
}

csrf_form!(AddForm { name: String });
csrf_form!(ConnectorAction {});

fn token_page(state: &AppState, staff: &Staff, name: String, token: String) -> Result<HttpResponse, AppError> {
    let page = TokenPage { chrome: staff.chrome(state), nav: NAV, name, token, endpoint: endpoint(state) };
    html(StatusCode::OK, &page)
}

pub async fn add_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    form: CsrfForm<AddForm>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let ip = client_ip(&req);
    let by = By { id: &staff.user.id, username: &staff.user.username, ip: ip.as_deref() };
    match connectors::add(&state, by, &form.0.name).await {
        Ok((connector, token)) => token_page(&state, &staff, connector.name, token),
        Err(Refused::Input(e)) => html(StatusCode::UNPROCESSABLE_ENTITY, &list_page(&state, &staff, Some(e.0)).await?),
        Err(Refused::Store(e)) => Err(e.into()),
    }
}

pub async fn rotate_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _f: CsrfForm<ConnectorAction>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let ip = client_ip(&req);
    let by = By { id: &staff.user.id, username: &staff.user.username, ip: ip.as_deref() };
    match connectors::rotate(&state, by, &id).await? {
        Some((connector, token)) => token_page(&state, &staff, connector.name, token),
        None => Err(AppError::NotFound),
    }
}

pub async fn delete_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _f: CsrfForm<ConnectorAction>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let ip = client_ip(&req);
    let by = By { id: &staff.user.id, username: &staff.user.username, ip: ip.as_deref() };
    if connectors::delete(&state, by, &id).await? { Ok(see_other("/admin/scim")) } else { Err(AppError::NotFound) }
}
