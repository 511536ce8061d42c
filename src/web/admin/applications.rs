//! "Applications": the integrations that ask Twofold for the second factor. Administrators add
//! them (the secret key is shown once), give them a new secret key, or delete them.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Nav, Staff};

/// The kind of an Admin API application (as `web::duo` checks it).
const ADMIN_API: &str = "admin-api";
use crate::clock::now;
use crate::csrf_form;
use crate::domain::{AdminPermission, AdminPermissions};
use crate::duo::keys::{new_integration_key, new_secret_key};
use crate::store::{
    self,
    audit::{Event, Outcome},
};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::state::AppState;
use crate::web::{client_ip, html};

pub struct AppView {
    pub integration_key: String,
    pub name: String,
    pub kind: String,
    pub created: String,
    /// Web applications: where the Universal Prompt may send users back, one per line.
    pub redirect_uris: String,
    /// Admin API applications: the permissions they hold, in words.
    pub permissions: String,
}

#[derive(Template)]
#[template(path = "admin/applications.html")]
struct ApplicationsPage {
    chrome: Chrome,
    nav: Nav,
    apps: Vec<AppView>,
    api_hostname: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/application_keys.html")]
struct KeysPage {
    chrome: Chrome,
    nav: Nav,
    name: String,
    integration_key: String,
    secret_key: String,
    api_hostname: String,
}

async fn list_page(state: &AppState, staff: &Staff, error: Option<String>) -> Result<ApplicationsPage, AppError> {
    let mut apps = Vec::new();
    for a in store::applications::list(&state.db).await? {
        let redirect_uris = store::applications::redirect_uris(&state.db, &a.id).await?.join("\n");
        let permissions = AdminPermissions::parse(&a.permissions);
        let permissions = AdminPermission::ALL
            .iter()
            .filter(|p| permissions.has(**p))
            .map(|p| p.label())
            .collect::<Vec<_>>()
            .join(", ");
        apps.push(AppView {
            permissions,
            integration_key: a.integration_key,
            name: a.name,
            kind: a.kind,
            created: crate::clock::format(a.created_at),
            redirect_uris,
        });
    }
    Ok(ApplicationsPage {
        chrome: staff.chrome(state),
        nav: Nav { admin: true, current: "applications" },
        apps,
        api_hostname: state.api_hostname(),
        error,
    })
}

pub async fn applications_get(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    html(StatusCode::OK, &list_page(&state, &staff, None).await?)
}

async fn audit(
    state: &AppState,
    req: &HttpRequest,
    staff: &Staff,
    event: AuditEvent,
    detail: &str,
) -> Result<(), AppError> {
    let ip = client_ip(req);
    let e = Event::new(event, Outcome::Info).actor(&staff.user.id).ip(ip.as_deref()).detail(detail);
    Ok(store::audit::record(&state.db, e, now()).await?)
}

fn keys_page(state: &AppState, staff: &Staff, name: String, integration_key: String, secret_key: String) -> KeysPage {
    KeysPage {
        chrome: staff.chrome(state),
        nav: Nav { admin: true, current: "applications" },
        name,
        integration_key,
        secret_key,
        api_hostname: state.api_hostname(),
    }
}

csrf_form!(AddForm {
    name: String,
    kind: String,
    redirect_uris: String,
    read_log: String,
    read_resource: String,
    write_resource: String,
    grant_bypass: String,
});

/// The permissions ticked for an Admin API application (none for other kinds).
fn permissions(form: &AddForm) -> AdminPermissions {
    if form.kind != ADMIN_API {
        return AdminPermissions::default();
    }
    let ticked = [
        (AdminPermission::ReadLog, &form.read_log),
        (AdminPermission::ReadResource, &form.read_resource),
        (AdminPermission::WriteResource, &form.write_resource),
        (AdminPermission::GrantBypass, &form.grant_bypass),
    ];
    AdminPermissions::from_list(&ticked.iter().filter(|(_, v)| !v.is_empty()).map(|(p, _)| *p).collect::<Vec<_>>())
}

pub async fn add_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    form: CsrfForm<AddForm>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let form = form.0;
    let name = form.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        let page =
            list_page(&state, &staff, Some("Give the application a name of 1 to 100 characters.".into())).await?;
        return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    if !matches!(form.kind.as_str(), "auth-api" | "web" | "oidc" | "entra" | ADMIN_API) {
        let page = list_page(&state, &staff, Some("Choose the kind of application.".into())).await?;
        return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let uris = match redirect_uris(&form.kind, &form.redirect_uris) {
        Ok(uris) => uris,
        Err(message) => {
            return html(StatusCode::UNPROCESSABLE_ENTITY, &list_page(&state, &staff, Some(message)).await?);
        }
    };
    let granted = permissions(&form);
    if form.kind == ADMIN_API && granted.is_empty() {
        let message = "Tick at least one permission for an Admin API application.".to_string();
        return html(StatusCode::UNPROCESSABLE_ENTITY, &list_page(&state, &staff, Some(message)).await?);
    }
    let id = crate::secrets::new_id();
    let (ikey, skey) = (new_integration_key(), new_secret_key());
    let sealed = state.keys.seal(&format!("app-secret:{id}"), skey.as_bytes())?;
    store::applications::insert(&state.db, &id, &name, &form.kind, &ikey, &sealed, now()).await?;
    store::applications::set_redirect_uris(&state.db, &id, &uris).await?;
    let mut detail = format!("{name} ({ikey}) by {}", staff.user.username);
    if form.kind == ADMIN_API {
        store::applications::set_permissions(&state.db, &id, &granted.as_stored()).await?;
        detail.push_str(&format!("; Admin API permissions: {}", granted.as_stored()));
    }
    audit(&state, &req, &staff, AuditEvent::ApplicationAdded, &detail).await?;
    html(StatusCode::OK, &keys_page(&state, &staff, name, ikey, skey))
}

csrf_form!(KeyForm {});

csrf_form!(RedirectUrisForm { redirect_uris: String });

pub async fn redirect_uris_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    ikey: web::Path<String>,
    form: CsrfForm<RedirectUrisForm>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let app = store::applications::by_integration_key(&state.db, &ikey).await?.ok_or(AppError::NotFound)?;
    let uris = match redirect_uris(&app.kind, &form.0.redirect_uris) {
        Ok(uris) if has_redirect_uris(&app.kind) => uris,
        Ok(_) => return Err(AppError::NotFound),
        Err(message) => {
            return html(StatusCode::UNPROCESSABLE_ENTITY, &list_page(&state, &staff, Some(message)).await?);
        }
    };
    store::applications::set_redirect_uris(&state.db, &app.id, &uris).await?;
    let detail = format!("{}: {} by {}", app.integration_key, uris.join(" "), staff.user.username);
    audit(&state, &req, &staff, AuditEvent::ApplicationRedirectUris, &detail).await?;
    Ok(see_other("/admin/applications"))
}

pub async fn rotate_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    ikey: web::Path<String>,
    _f: CsrfForm<KeyForm>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let app = store::applications::by_integration_key(&state.db, &ikey).await?.ok_or(AppError::NotFound)?;
    let skey = new_secret_key();
    store::applications::set_secret(
        &state.db,
        &app.id,
        &state.keys.seal(&format!("app-secret:{}", app.id), skey.as_bytes())?,
    )
    .await?;
    audit(
        &state,
        &req,
        &staff,
        AuditEvent::ApplicationRotated,
        &format!("{} by {}", app.integration_key, staff.user.username),
    )
    .await?;
    html(StatusCode::OK, &keys_page(&state, &staff, app.name, app.integration_key, skey))
}

pub async fn delete_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    ikey: web::Path<String>,
    _f: CsrfForm<KeyForm>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let app = store::applications::by_integration_key(&state.db, &ikey).await?.ok_or(AppError::NotFound)?;
    store::applications::delete(&state.db, &app.id).await?;
    store::application_policies::forget(&state.db, &crate::signin::access::registered_scope(&app.id)).await?;
    audit(
        &state,
        &req,
        &staff,
        AuditEvent::ApplicationDeleted,
        &format!("{} by {}", app.integration_key, staff.user.username),
    )
    .await?;
    Ok(see_other("/admin/applications"))
}

/// Web applications (Universal Prompt) and the OpenID provider's clients send users back.
fn has_redirect_uris(kind: &str) -> bool {
    matches!(kind, "web" | "oidc" | "entra")
}

/// The redirect URIs typed for a web application, one per line (none for an Auth API application).
fn redirect_uris(kind: &str, text: &str) -> Result<Vec<String>, String> {
    if !has_redirect_uris(kind) {
        return Ok(Vec::new());
    }
    let mut uris = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let uri =
            crate::duo::universal::parse_redirect_uri(line).map_err(|why| format!("Redirect URI {line}: {why}."))?;
        if !uris.contains(&uri) {
            uris.push(uri);
        }
    }
    if uris.is_empty() {
        return Err("A web application needs at least one redirect URI: where users return after the prompt.".into());
    }
    Ok(uris)
}
