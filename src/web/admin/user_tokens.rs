//! Hardware tokens on a user's console page: the help desk assigns an available token by serial,
//! unassigns one (back to the inventory), marks it lost (it never verifies again) or resynchronises
//! an HOTP token with two consecutive passcodes the user reads out. Every action is audited.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::Staff;
use super::users::{audit, user_page};
use crate::clock::now;
use crate::csrf_form;
use crate::domain::Passcode;
use crate::domain::token::{TokenKind, parse_serial};
use crate::store::{self, tokens::Claim};
use crate::tokens::{TokenCheck, check_pair};
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::html;
use crate::web::state::AppState;

/// What the console shows of a token: never its secret.
pub struct TokenView {
    pub id: String,
    pub serial: String,
    pub kind: &'static str,
    pub status: String,
    /// HOTP tokens can be resynchronised.
    pub counter_based: bool,
}

pub async fn views(state: &AppState, user_id: &str) -> Result<Vec<TokenView>, AppError> {
    Ok(store::tokens::of_user(&state.db, user_id)
        .await?
        .into_iter()
        .map(|t| TokenView {
            kind: TokenKind::parse(&t.kind).map(TokenKind::label).unwrap_or("Token"),
            counter_based: t.kind == TokenKind::Hotp.as_str(),
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
    let user = staff.managed(&state, &id).await?;
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
    audit(&state, &req, &staff, &user, AuditEvent::TokenAssigned, &format!("serial {serial}, device {device_id}"))
        .await?;
    Ok(see_other(&format!("/admin/users/{}", user.id)))
}

csrf_form!(ReleaseForm { action: String, passcode: String, next_passcode: String });

/// "Unassign" (back to available) or "Mark lost" (never verifies again); the device goes with it.
pub async fn release_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: CsrfForm<ReleaseForm>,
) -> Result<HttpResponse, AppError> {
    let (user_id, token_id) = path.into_inner();
    let user = staff.managed(&state, &user_id).await?;
    let Some(token) =
        store::tokens::by_id(&state.db, &token_id).await?.filter(|t| t.user_id.as_deref() == Some(&user.id))
    else {
        return Err(AppError::NotFound);
    };
    let (status, event) = match form.0.action.as_str() {
        "unassign" => ("available", AuditEvent::TokenUnassigned),
        "lost" => ("lost", AuditEvent::TokenLost),
        "resync" => return resync(&req, &staff, &state, user, &token, &form.0).await,
        _ => return Err(AppError::NotFound),
    };
    if !store::tokens::release(&state.db, &token.id, &user.id, status, now()).await? {
        return Err(AppError::NotFound);
    }
    audit(&state, &req, &staff, &user, event, &format!("serial {}", token.serial)).await?;
    Ok(see_other(&format!("/admin/users/{}", user.id)))
}

/// Two consecutive passcodes within `tokens.hotp_resync_window` move the counter past them
/// (forward only: the same conditional update as at the prompt).
async fn resync(
    req: &HttpRequest,
    staff: &Staff,
    state: &AppState,
    user: crate::store::users::UserRow,
    token: &crate::store::tokens::TokenRow,
    form: &ReleaseForm,
) -> Result<HttpResponse, AppError> {
    let codes = Passcode::parse(&form.passcode).and_then(|a| Passcode::parse(&form.next_passcode).map(|b| (a, b)));
    let checked = match (&codes, token.status.as_str()) {
        (Ok((a, b)), "assigned") => check_pair(&state.keys, token, a, b, state.settings.tokens.hotp_resync_window)?,
        _ => TokenCheck::Wrong,
    };
    let moved = match checked {
        TokenCheck::Accepted { new_counter } => {
            store::tokens::advance_counter(&state.db, &token.id, new_counter, now()).await?
        }
        _ => false,
    };
    if !moved {
        let message = format!(
            "Those passcodes do not resynchronise token {}. Ask the user to press the button twice and read both new passcodes.",
            token.serial
        );
        return html(StatusCode::UNPROCESSABLE_ENTITY, &user_page(state, staff, user, Some(message)).await?);
    }
    audit(state, req, staff, &user, AuditEvent::TokenResynchronised, &format!("serial {}", token.serial)).await?;
    Ok(see_other(&format!("/admin/users/{}", user.id)))
}
