//! "Users": search, a user's detail (devices, trusted browsers, activity), and the help-desk
//! actions on it: unlock, disable a lost device; administrators also disable or enable accounts.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Nav, Staff};
use crate::clock::now;
use crate::csrf_form;
use crate::store::{
    self,
    audit::{Event, Outcome},
    users::{Source, UserRow},
};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::settings::{DeviceView, device_view};
use crate::web::state::AppState;
use crate::web::{client_ip, html};

const PAGE_SIZE: i64 = 50;

pub struct UserListItem {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub status: &'static str,
    pub status_class: &'static str,
    /// Where the account comes from (local, directory, SCIM, OpenID Connect).
    pub source: &'static str,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    chrome: Chrome,
    nav: Nav,
    q: String,
    /// The groups a help-desk member is limited to (empty: everyone).
    groups: Vec<String>,
    users: Vec<UserListItem>,
    /// With a directory: the last sync's summary ("Sync now" is offered to administrators).
    directory: Option<String>,
    sync_started: bool,
    is_admin: bool,
    total: i64,
    page: i64,
    pages: i64,
}

pub struct ActivityItem {
    pub when: String,
    pub event: String,
    pub outcome: String,
    pub ip: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
pub(super) struct UserPage {
    chrome: Chrome,
    nav: Nav,
    user: UserRow,
    status: &'static str,
    status_class: &'static str,
    created: String,
    last_login: String,
    devices: Vec<DeviceView>,
    trusted_browsers: usize,
    backup_codes: i64,
    temporary_codes: usize,
    activity: Vec<ActivityItem>,
    tokens: Vec<super::user_tokens::TokenView>,
    can_change_status: bool,
    /// How the console names the account's source, and whether the source owns its profile.
    source: &'static str,
    source_owned: bool,
    /// "Sync now" for this user (a directory account, an administrator, a directory configured).
    can_sync: bool,
    /// The staff member may act on this account (not their own, not staff of their role or higher).
    manageable: bool,
    /// For an administrator looking at a help-desk member: every group, ticked when the member
    /// is limited to it.
    help_desk_groups: Option<Vec<(String, bool)>>,
    error: Option<String>,
}

/// The CSS class for a status label.
pub fn status_class(status: &str) -> &'static str {
    match status {
        "disabled" => "disabled",
        "locked out" => "locked-out",
        "not enrolled" => "not-enrolled",
        _ => "active",
    }
}

/// The status the console shows: disabled, locked out, not enrolled or active.
pub async fn status_of(state: &AppState, user: &UserRow) -> Result<&'static str, AppError> {
    Ok(if !user.is_active() {
        "disabled"
    } else if user.locked_at.is_some() {
        "locked out"
    } else if store::devices::count_for_user(&state.db, &user.id).await? == 0 && user.enrolled_at.is_none() {
        "not enrolled"
    } else {
        "active"
    })
}

#[derive(Deserialize)]
pub struct UsersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<i64>,
    #[serde(default)]
    sync: Option<String>,
}

pub async fn users_get(
    staff: Staff,
    state: web::Data<AppState>,
    query: web::Query<UsersQuery>,
) -> Result<HttpResponse, AppError> {
    let q: String = query.q.chars().take(100).collect();
    let page = query.page.unwrap_or(1).max(1);
    let (mut rows, mut total) =
        store::users::search(&state.db, &q, staff.within(), PAGE_SIZE, (page - 1) * PAGE_SIZE).await?;
    if total == 0 {
        rows = Vec::new();
        for user in crate::web::settings::numbers::users_by_number(&state, &q).await? {
            if staff.sees(&state, &user.id).await? {
                rows.push(user);
            }
        }
        total = rows.len() as i64;
    }
    let mut users = Vec::with_capacity(rows.len());
    for u in rows {
        let status = status_of(&state, &u).await?;
        let source = u.source().label();
        users.push(UserListItem {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            email: u.email,
            status,
            status_class: status_class(status),
            source,
        });
    }
    let page = UsersPage {
        chrome: staff.chrome(&state),
        nav: Nav { admin: staff.is_admin(), current: "users" },
        q,
        groups: staff.groups.clone(),
        users,
        directory: super::directory::last_sync(&state).await?,
        sync_started: query.sync.as_deref() == Some("started"),
        is_admin: staff.is_admin(),
        total,
        page,
        pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
    };
    html(StatusCode::OK, &page)
}

pub(super) async fn target(state: &AppState, id: &str) -> Result<UserRow, AppError> {
    store::users::by_id(&state.db, id).await?.ok_or(AppError::NotFound)
}

pub(super) async fn user_page(
    state: &AppState,
    staff: &Staff,
    user: UserRow,
    error: Option<String>,
) -> Result<UserPage, AppError> {
    let t = now();
    let rows = store::devices::list_for_user(&state.db, &user.id).await?;
    let mut devices: Vec<DeviceView> = rows.iter().cloned().map(device_view).collect();
    crate::web::settings::numbers::add_numbers(&state.keys, &rows, &mut devices, false)?;
    let activity = store::audit::for_user(&state.db, &user.id, 25)
        .await?
        .into_iter()
        .map(|r| ActivityItem {
            when: crate::clock::format(r.at),
            event: r.event,
            outcome: r.outcome,
            ip: r.ip.unwrap_or_else(|| "—".into()),
            detail: r.detail,
        })
        .collect();
    let status = status_of(state, &user).await?;
    let help_desk_groups = if staff.is_admin() && user.role() == crate::domain::Role::Helpdesk {
        let limited = store::staff_scopes::groups(&state.db, &user.id).await?;
        let all = store::import::groups(&state.db).await?;
        Some(all.into_iter().map(|(g, _)| (g.clone(), limited.contains(&g))).collect())
    } else {
        None
    };
    Ok(UserPage {
        help_desk_groups,
        manageable: staff.may_manage(&user),
        chrome: staff.chrome(state),
        nav: Nav { admin: staff.is_admin(), current: "users" },
        status,
        status_class: status_class(status),
        created: crate::clock::format(user.created_at),
        last_login: user.last_login_at.map(crate::clock::format).unwrap_or_else(|| "never".into()),
        devices,
        trusted_browsers: store::trusted_browsers::list_for_user(&state.db, &user.id, t).await?.len(),
        backup_codes: store::backup_codes::count_unused(&state.db, &user.id).await?,
        temporary_codes: store::one_time_codes::usable(&state.db, &user.id, t).await?.len(),
        activity,
        tokens: super::user_tokens::views(state, &user.id).await?,
        can_change_status: staff.is_admin() && staff.user.id != user.id,
        source: user.source().label(),
        source_owned: user.source().owns_profile(),
        can_sync: staff.is_admin() && state.directory.is_some() && user.source() == Source::Directory,
        user,
        error,
    })
}

pub async fn user_get(
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let user = staff.viewed(&state, &id).await?;
    html(StatusCode::OK, &user_page(&state, &staff, user, None).await?)
}

/// Records a console action against `user`, by the staff member.
pub(super) async fn audit(
    state: &AppState,
    req: &HttpRequest,
    staff: &Staff,
    user: &UserRow,
    event: AuditEvent,
    detail: &str,
) -> Result<(), AppError> {
    let ip = client_ip(req);
    let e = Event::new(event, Outcome::Info)
        .user(&user.id, &user.username)
        .actor(&staff.user.id)
        .ip(ip.as_deref())
        .detail(detail);
    Ok(store::audit::record(&state.db, e, now()).await?)
}

csrf_form!(PlainForm {});

pub async fn unlock_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _f: CsrfForm<PlainForm>,
) -> Result<HttpResponse, AppError> {
    let user = staff.managed(&state, &id).await?;
    store::users::unlock(&state.db, &user.id).await?;
    audit(&state, &req, &staff, &user, AuditEvent::AccountUnlocked, &format!("by {}", staff.user.username)).await?;
    Ok(see_other(&format!("/admin/users/{}", user.id)))
}

csrf_form!(StatusForm { status: String });

/// Administrators disable or enable an account; disabling ends its sessions at once.
pub async fn status_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: CsrfForm<StatusForm>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let user = target(&state, &id).await?;
    if user.id == staff.user.id {
        return Err(AppError::Forbidden);
    }
    let (status, event) = match form.0.status.as_str() {
        "disabled" => ("disabled", AuditEvent::UserDisabled),
        "active" => ("active", AuditEvent::UserEnabled),
        _ => return Err(AppError::Forbidden),
    };
    store::users::set_status(&state.db, &user.id, status).await?;
    if status == "disabled" {
        store::sessions::delete_for_user(&state.db, &user.id).await?;
    }
    audit(&state, &req, &staff, &user, event, &format!("by {}", staff.user.username)).await?;
    Ok(see_other(&format!("/admin/users/{}", user.id)))
}

/// The reason typed on the user's page, carried to the confirmation.
#[derive(serde::Deserialize)]
pub struct DisableQuery {
    reason: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "admin/device_disable.html")]
struct DisableDevicePage {
    chrome: crate::web::chrome::Chrome,
    nav: super::Nav,
    user: UserRow,
    device: String,
    device_id: String,
    reason: String,
}

/// "Disable device" asks first (a page, so it works without JavaScript): the device stops
/// working at once, and that cannot be undone from here.
pub async fn device_disable_get(
    staff: Staff,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<DisableQuery>,
) -> Result<HttpResponse, AppError> {
    let (user_id, device_id) = path.into_inner();
    let user = staff.managed(&state, &user_id).await?;
    let device = store::devices::for_user(&state.db, &user.id, &device_id).await?.ok_or(AppError::NotFound)?;
    let reason = query.reason.as_deref().unwrap_or_default().trim().chars().take(200).collect::<String>();
    if reason.is_empty() {
        let page = user_page(&state, &staff, user, Some("Give a reason for disabling the device.".into())).await?;
        return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let page = DisableDevicePage {
        chrome: staff.chrome(&state),
        nav: super::Nav { admin: staff.is_admin(), current: "users" },
        user,
        device: device.name,
        device_id: device.id,
        reason,
    };
    html(StatusCode::OK, &page)
}

csrf_form!(DisableDeviceForm { reason: String });

/// "Disable" a lost device: it stops working at once (removed, kept a week like any removal).
pub async fn device_disable_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: CsrfForm<DisableDeviceForm>,
) -> Result<HttpResponse, AppError> {
    let (user_id, device_id) = path.into_inner();
    let user = staff.managed(&state, &user_id).await?;
    // The device must belong to this user (no reaching another user's device through this one).
    let device = store::devices::for_user(&state.db, &user.id, &device_id).await?.ok_or(AppError::NotFound)?;
    let reason = form.0.reason.trim().chars().take(200).collect::<String>();
    if reason.is_empty() {
        let page = user_page(&state, &staff, user, Some("Give a reason for disabling the device.".into())).await?;
        return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    store::devices::remove_reported(&state.db, &user.id, &device.id, now()).await?;
    store::trusted_browsers::revoke_all_for_user(&state.db, &user.id, now()).await?;
    let detail = format!("device {} disabled by {}: {reason}", device.id, staff.user.username);
    audit(&state, &req, &staff, &user, AuditEvent::DeviceDisabled, &detail).await?;
    Ok(see_other(&format!("/admin/users/{}", user.id)))
}
