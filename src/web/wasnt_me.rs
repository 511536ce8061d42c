//! "This wasn't me": the link in a change notice. Opening it only asks (GET changes nothing);
//! confirming undoes the change, ends every session, stops trusting every browser and alerts
//! the administrators. The link works once and never signs anyone in.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::clock::now;
use crate::csrf_form;
use crate::store::{
    self,
    audit::{Event, Outcome},
};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppError;
use crate::web::notices::{self, Change};
use crate::web::session::UserSession;
use crate::web::state::AppState;
use crate::web::{client_ip, html};

#[derive(Template)]
#[template(path = "wasnt_me/confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    token: String,
    what: String,
}

#[derive(Template)]
#[template(path = "wasnt_me/done.html")]
struct DonePage {
    chrome: Chrome,
    undone: &'static str,
}

fn unusable() -> AppError {
    AppError::Explained {
        status: StatusCode::NOT_FOUND,
        title: "This link cannot be used",
        message: "It has expired or was already used. If you think someone else can get into your account, \
                  contact your help desk and change your password."
            .into(),
    }
}

pub async fn confirm_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let hash = state.keys.hash_token(&token);
    let report = store::change_reports::find_usable(&state.db, &hash, now()).await?.ok_or_else(unusable)?;
    let change = Change::parse(&report.kind).ok_or_else(unusable)?;
    let when = crate::clock::format(report.created_at);
    let what = match change {
        Change::DeviceAdded => format!("On {when}, a device was added to your account for signing in."),
        Change::DeviceRemoved => format!("On {when}, a device was removed from your account."),
        Change::RecoveryRequested => format!(
            "On {when}, a recovery passcode was asked for your account, with your identity details and password."
        ),
    };
    let csrf = UserSession::from_request(&req).csrf_token()?;
    html(StatusCode::OK, &ConfirmPage { chrome: Chrome::new(&state, None, &csrf), token: token.into_inner(), what })
}

csrf_form!(ReportForm {});

pub async fn report_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    _f: CsrfForm<ReportForm>,
) -> Result<HttpResponse, AppError> {
    let t = now();
    let hash = state.keys.hash_token(&token);
    let report = store::change_reports::find_usable(&state.db, &hash, t).await?.ok_or_else(unusable)?;
    let change = Change::parse(&report.kind).ok_or_else(unusable)?;
    // Single use: of two clicks at once, only one undoes the change.
    if !store::change_reports::consume(&state.db, &hash, t).await? {
        return Err(unusable());
    }
    let user = store::users::by_id(&state.db, &report.user_id).await?.ok_or_else(unusable)?;
    let device_id = report.device_id.unwrap_or_default();
    let undone = match change {
        Change::DeviceAdded => {
            store::devices::remove_reported(&state.db, &user.id, &device_id, t).await?;
            "We removed the device"
        }
        Change::DeviceRemoved => {
            store::devices::restore(&state.db, &user.id, &device_id).await?;
            "We put the device back"
        }
        Change::RecoveryRequested => {
            store::one_time_codes::cancel_recovery(&state.db, &user.id, Some(&device_id)).await?;
            "We cancelled the recovery passcode"
        }
    };
    let sessions = store::sessions::delete_for_user(&state.db, &user.id).await?;
    store::trusted_browsers::revoke_all_for_user(&state.db, &user.id, t).await?;
    let detail = format!("{} of device {device_id} reported; {sessions} session(s) ended", change.as_str());
    let ip = client_ip(&req);
    let event = Event::new(AuditEvent::ChangeReported, Outcome::Info)
        .user(&user.id, &user.username)
        .ip(ip.as_deref())
        .detail(&detail);
    store::audit::record(&state.db, event, t).await?;
    let what = match change {
        Change::DeviceAdded => "A device was added that the user did not add; it was removed.",
        Change::DeviceRemoved => "A device was removed that the user did not remove; it was put back.",
        Change::RecoveryRequested => {
            "A recovery passcode was asked for that the user did not ask for; it was cancelled. Someone may know \
             their password and identity details."
        }
    };
    let report = store::fraud_reports::NewReport {
        user_id: &user.id,
        method: "change_notice",
        detail: what,
        ip: ip.as_deref(),
        application: None,
    };
    store::fraud_reports::insert(&state.db, report, t).await?;
    notices::alert_admins(&state, &user, change, t).await?;
    UserSession::from_request(&req).logout();
    html(StatusCode::OK, &DonePage { chrome: Chrome::new(&state, None, ""), undone })
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/wasnt-me/{token}", crate::web::get().to(confirm_get))
        .route("/wasnt-me/{token}", web::post().to(report_post));
}
