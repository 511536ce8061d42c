//! Administrators limit a help-desk member to the users of some groups (Duo's "administrative
//! units"); `Staff::managed` enforces it on every console action.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::Staff;
use super::users::audit;
use crate::domain::{AuditEvent, Role};
use crate::store;
use crate::web::error::{AppError, see_other};
use crate::web::session::UserSession;
use crate::web::state::AppState;

/// The form has a checkbox per group (`group:<name>`); one that is not ticked is simply absent.
pub async fn groups_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let form = form.into_inner();
    // This form's fields are dynamic, so the CSRF check is made here rather than by CsrfForm.
    if !UserSession::from_request(&req).csrf_matches(form.get("csrf_token").map(String::as_str).unwrap_or("")) {
        return Err(AppError::Csrf);
    }
    let user = store::users::by_id(&state.db, &id).await?.ok_or(AppError::NotFound)?;
    if user.role() != Role::Helpdesk {
        return Err(AppError::Explained {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "Groups not saved",
            message: "Only a help-desk member can be limited to groups.".into(),
        });
    }
    let chosen: Vec<String> = store::import::groups(&state.db)
        .await?
        .into_iter()
        .map(|(g, _)| g)
        .filter(|g| form.contains_key(&format!("group:{g}")))
        .collect();
    store::staff_scopes::set(&state.db, &user.id, &chosen).await?;
    let covers = if chosen.is_empty() { "every user".to_string() } else { chosen.join(", ") };
    let detail = format!("covers {covers} (by {})", staff.user.username);
    audit(&state, &req, &staff, &user, AuditEvent::StaffGroupsChanged, &detail).await?;
    Ok(see_other(&format!("/admin/users/{}#groups", user.id)))
}
