//! A user's phones, hardware tokens and WebAuthn credentials: list them, give the user a phone
//! (one created with `POST phones`) or an available token, take one away.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::super::{Fail, ok};
use super::phones::{Found, find, remove_owned};
use super::{answer, audit, authorized, managed_user_at, objects, page_of, required, user_at};
use crate::clock::now;
use crate::domain::{AdminPermission, AuditEvent};
use crate::store::{self, tokens::Claim};
use crate::web::state::AppState;

pub async fn phones_get(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::ReadResource).await?;
            let user = user_at(&state, &id).await?;
            page_of(&signed, objects::phones_of(&state, &user).await?)
        }
        .await,
    )
}

/// `users/{id}/phones` with `phone_id`: the phone becomes the user's device (same id).
pub async fn phone_post(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::WriteResource).await?;
            let user = managed_user_at(&state, &id).await?;
            match find(&state, required(&signed, "phone_id")?).await? {
                Found::Loose(phone) => {
                    if !store::admin_phones::give(&state.db, &state.keys, &phone, &user.id, now()).await? {
                        return Err(Fail::not_found("Resource not found"));
                    }
                    let detail =
                        format!("{} {} added (device {})", phone.kind.as_str(), phone.phone_masked(), phone.id);
                    audit(&state, &req, &signed, Some(&user), AuditEvent::DevicePhoneAdded, &detail).await?;
                }
                Found::Owned { user: owner, .. } if owner.id == user.id => {}
                Found::Owned { .. } => {
                    return Err(Fail::invalid("this phone belongs to another user; Twofold phones have one user"));
                }
            }
            Ok(ok(json!("")))
        }
        .await,
    )
}

pub async fn phone_delete(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::WriteResource).await?;
            let (user_id, phone_id) = path.into_inner();
            let user = managed_user_at(&state, &user_id).await?;
            match find(&state, &phone_id).await? {
                Found::Owned { user: owner, device, .. } if owner.id == user.id => {
                    remove_owned(&state, &req, &signed, &user, &device).await?
                }
                _ => return Err(Fail::not_found("Resource not found")),
            }
            Ok(ok(json!("")))
        }
        .await,
    )
}

pub async fn tokens_get(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::ReadResource).await?;
            let user = user_at(&state, &id).await?;
            page_of(&signed, objects::tokens_of(&state, &user).await?)
        }
        .await,
    )
}

/// `users/{id}/tokens` with `token_id`: an available token becomes the user's (as the console's
/// "Assign").
pub async fn token_post(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::WriteResource).await?;
            let user = managed_user_at(&state, &id).await?;
            let token = store::tokens::by_id(&state.db, required(&signed, "token_id")?)
                .await?
                .ok_or_else(|| Fail::not_found("Resource not found"))?;
            if token.user_id.as_deref() == Some(user.id.as_str()) && token.status == "assigned" {
                return Ok(ok(json!("")));
            }
            let name = format!("Token {}", token.serial);
            let claimed = if token.status == "available" {
                store::tokens::claim(&state.db, &token, &user.id, &name, Claim::HelpDesk, now()).await?
            } else {
                None
            };
            let Some(device_id) = claimed else {
                return Err(Fail::invalid("this token is not available (assigned to someone, or lost)"));
            };
            let detail = format!("serial {}, device {device_id}", token.serial);
            audit(&state, &req, &signed, Some(&user), AuditEvent::TokenAssigned, &detail).await?;
            Ok(ok(json!("")))
        }
        .await,
    )
}

/// Takes the token back into the inventory (the console's "Unassign").
pub async fn token_delete(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::WriteResource).await?;
            let (user_id, token_id) = path.into_inner();
            let user = managed_user_at(&state, &user_id).await?;
            let token =
                store::tokens::by_id(&state.db, &token_id).await?.filter(|t| t.user_id.as_deref() == Some(&user.id));
            let Some(token) = token else { return Err(Fail::not_found("Resource not found")) };
            if !store::tokens::release(&state.db, &token.id, &user.id, "available", now()).await? {
                return Err(Fail::not_found("Resource not found"));
            }
            let detail = format!("serial {}", token.serial);
            audit(&state, &req, &signed, Some(&user), AuditEvent::TokenUnassigned, &detail).await?;
            Ok(ok(json!("")))
        }
        .await,
    )
}

pub async fn webauthn_get(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::ReadResource).await?;
            let user = user_at(&state, &id).await?;
            page_of(&signed, objects::webauthn_of(&state, &user).await?)
        }
        .await,
    )
}
