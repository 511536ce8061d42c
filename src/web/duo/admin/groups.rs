//! `groups` and a user's groups. Twofold's groups are names users carry (imported from the
//! directory, used by per-group policies): a group exists while it has members. Its Duo id is
//! its name in hex (`objects::group_id`).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::super::{Fail, ok};
use super::{answer, audit, authorized, managed_user_at, objects, page_of, required, user_at};
use crate::domain::{AdminPermission, AuditEvent};
use crate::store;
use crate::web::state::AppState;

fn name_of(id: &str) -> Result<String, Fail> {
    objects::group_name(id).ok_or_else(|| Fail::not_found("Resource not found"))
}

pub async fn list_get(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::ReadResource).await?;
            let groups = store::import::groups(&state.db).await?;
            page_of(&signed, groups.iter().map(|(name, _)| objects::group(name)).collect())
        }
        .await,
    )
}

/// A group with no members does not exist in Twofold: the answer is the group as it will be
/// once a user is put in it (nothing is stored).
pub async fn create_post(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::WriteResource).await?;
            let name = required(&signed, "name")?.trim().to_string();
            if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
                return Err(Fail::invalid("a group name has 1 to 100 characters"));
            }
            Ok(ok(objects::group(&name)))
        }
        .await,
    )
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
            let name = name_of(&id)?;
            if store::import::members_of(&state.db, &name).await?.is_empty() {
                return Err(Fail::not_found("Resource not found"));
            }
            Ok(ok(objects::group(&name)))
        }
        .await,
    )
}

pub async fn users_get(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::ReadResource).await?;
            let name = name_of(&id)?;
            let mut out = Vec::new();
            for uid in store::import::members_of(&state.db, &name).await? {
                if let Some(u) = store::users::by_id(&state.db, &uid).await? {
                    out.push(json!({ "user_id": u.id, "username": u.username }));
                }
            }
            page_of(&signed, out)
        }
        .await,
    )
}

pub async fn user_groups_get(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::ReadResource).await?;
            let user = user_at(&state, &id).await?;
            page_of(&signed, objects::groups_of(&state, &user).await?)
        }
        .await,
    )
}

pub async fn user_group_post(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::WriteResource).await?;
            let user = managed_user_at(&state, &id).await?;
            let name = name_of(required(&signed, "group_id")?)?;
            if user.source().owns_profile() {
                return Err(Fail::invalid(&user.source().refusal(&user.username)));
            }
            if store::import::add_to_group(&state.db, &user.id, &name).await? {
                let detail = format!("added to group {name}");
                audit(&state, &req, &signed, Some(&user), AuditEvent::UserGroupsChanged, &detail).await?;
            }
            Ok(ok(json!("")))
        }
        .await,
    )
}

pub async fn user_group_delete(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::WriteResource).await?;
            let (user_id, group_id) = path.into_inner();
            let user = managed_user_at(&state, &user_id).await?;
            let name = name_of(&group_id)?;
            if user.source().owns_profile() {
                return Err(Fail::invalid(&user.source().refusal(&user.username)));
            }
            if store::import::remove_from_group(&state.db, &user.id, &name).await? {
                let detail = format!("removed from group {name}");
                audit(&state, &req, &signed, Some(&user), AuditEvent::UserGroupsChanged, &detail).await?;
            }
            Ok(ok(json!("")))
        }
        .await,
    )
}
