//! Hardware tokens on a user's console page: the help desk assigns an available token by serial,
//! unassigns one (back to the inventory) or marks it lost (it never verifies again). Audited.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::Staff;
use super::users::{audit, target, user_page};
use crate::csrf_form;
use crate::domain::token::{TokenKind, parse_serial};
use crate::error::{AppError, see_other};
use crate::store::{self, tokens::Claim};
use crate::web::csrf::CsrfForm;
use crate::web::html;
use crate::web::state::{AppState, now};

/// What the console shows of a token: never its secret.
pub struct TokenView {
    pub id: String,
    pub serial: String,
    pub kind: &'static str,
    pub status: String,
}

pub async fn views(state: &AppState, user_id: &str) -> Result<Vec<TokenView>, AppError> {
    Ok(store::tokens::of_user(&state.db, user_id)
        .await?
        .into_iter()
        .map(|t| TokenView {
            kind: TokenKind::parse(&t.kind).map(TokenKind::label).unwrap_or("Token"),
            id: t.id,
            serial: t.serial,
            status: t.status,
        })
        .collect())
}

csrf_form!(AssignForm { serial: String });

pub async fn assign_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: CsrfForm<AssignForm>,
) -> Result<HttpResponse, AppError> {
    let user = target(&state, &id).await?;
    let serial = match parse_serial(&form.0.serial) {
        Ok(s) => s,
        Err(e) => return html(StatusCode::UNPROCESSABLE_ENTITY, &user_page(&state, &staff, user, Some(e.0)).await?),
    };
    let token = store::tokens::by_serial(&state.db, &serial).await?.filter(|t| t.status == "available");
    let claimed = match &token {
        Some(t) => {
            store::tokens::claim(&state.db, t, &user.id, &format!("Token {serial}"), Claim::HelpDesk, now()).await?
        }
        None => None,
    };
    let Some(device_id) = claimed else {
        let message =
            format!("No available token has the serial number {serial}. Check the number, or import the token first.");
        return html(StatusCode::UNPROCESSABLE_ENTITY, &user_page(&state, &staff, user, Some(message)).await?);
    };
    audit(&state, &req, &staff, &user, "token.assigned", &format!("serial {serial}, device {device_id}")).await?;
    Ok(see_other(&format!("/admin/users/{}", user.id)))
}

csrf_form!(ReleaseForm { action: String });

/// "Unassign" (back to available) or "Mark lost" (never verifies again); the device goes with it.
pub async fn release_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: CsrfForm<ReleaseForm>,
) -> Result<HttpResponse, AppError> {
    let (user_id, token_id) = path.into_inner();
    let user = target(&state, &user_id).await?;
    let (status, event) = match form.0.action.as_str() {
        "unassign" => ("available", "token.unassigned"),
        "lost" => ("lost", "token.lost"),
        _ => return Err(AppError::NotFound),
    };
    let Some(token) =
        store::tokens::by_id(&state.db, &token_id).await?.filter(|t| t.user_id.as_deref() == Some(&user.id))
    else {
        return Err(AppError::NotFound);
    };
    if !store::tokens::release(&state.db, &token.id, &user.id, status, now()).await? {
        return Err(AppError::NotFound);
    }
    audit(&state, &req, &staff, &user, event, &format!("serial {}", token.serial)).await?;
    Ok(see_other(&format!("/admin/users/{}", user.id)))
}
