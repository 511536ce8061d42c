//! Administrators limit a help-desk member to the users of some groups (Duo's "administrative
//! units"); `Staff::managed` enforces it on every console action.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::Staff;
use super::users::audit;
use crate::domain::{AuditEvent, Role};
use crate::store;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::state::AppState;

/// The form has a checkbox per group (`group:<name>`); one that is not ticked is simply absent.
pub async fn groups_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: CsrfForm<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let form = form.0;
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
