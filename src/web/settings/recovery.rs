//! Cancelling a recovery passcode from "My Settings & Devices": whoever has a device in hand can
//! stop a recovery they did not ask for (during the waiting period, or before it is used).

use actix_web::{HttpRequest, HttpResponse, web};

use crate::clock::now;
use crate::csrf_form;
use crate::domain::AuditEvent;
use crate::store::{
    self,
    audit::{Event, Outcome},
};
use crate::web::client_ip;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::session::SteppedUp;
use crate::web::state::AppState;

csrf_form!(CancelForm {});

pub async fn cancel_post(
    req: HttpRequest,
    auth: SteppedUp,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _f: CsrfForm<CancelForm>,
) -> Result<HttpResponse, AppError> {
    let cancelled = store::one_time_codes::cancel_recovery(&state.db, &auth.user.id, Some(&id)).await?;
    if cancelled > 0 {
        let ip = client_ip(&req);
        let e = Event::new(AuditEvent::RecoveryCancelled, Outcome::Info)
            .user(&auth.user.id, &auth.user.username)
            .ip(ip.as_deref())
            .detail("from My Settings & Devices");
        store::audit::record(&state.db, e, now()).await?;
    }
    Ok(see_other("/settings"))
}
