//! "Trusted browsers": "Revoke" one or "Revoke all". Takes effect at once: the next sign-in from
//! a revoked browser gets the prompt.

use crate::domain::AuditEvent;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::clock::now;
use crate::csrf_form;
use crate::store::{
    self,
    audit::{Event, Outcome},
};
use crate::web::client_ip;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::session::SteppedUp;
use crate::web::state::AppState;

csrf_form!(RevokeForm {});

pub async fn revoke_post(
    req: HttpRequest,
    auth: SteppedUp,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _f: CsrfForm<RevokeForm>,
) -> Result<HttpResponse, AppError> {
    let t = now();
    if !store::trusted_browsers::revoke(&state.db, &auth.user.id, &id, t).await? {
        return Err(AppError::NotFound);
    }
    let ip = client_ip(&req);
    let e = Event::new(AuditEvent::TrustedBrowserRevoke, Outcome::Success)
        .user(&auth.user.id, &auth.user.username)
        .ip(ip.as_deref());
    store::audit::record(&state.db, e, t).await?;
    Ok(see_other("/settings"))
}

pub async fn revoke_all_post(
    req: HttpRequest,
    auth: SteppedUp,
    state: web::Data<AppState>,
    _f: CsrfForm<RevokeForm>,
) -> Result<HttpResponse, AppError> {
    let t = now();
    let n = store::trusted_browsers::revoke_all_for_user(&state.db, &auth.user.id, t).await?;
    let detail = format!("{n} browser(s)");
    let ip = client_ip(&req);
    let e = Event::new(AuditEvent::TrustedBrowserRevokeAll, Outcome::Success)
        .user(&auth.user.id, &auth.user.username)
        .ip(ip.as_deref())
        .detail(&detail);
    store::audit::record(&state.db, e, t).await?;
    Ok(see_other("/settings"))
}
