//! "Fraud reports": what users reported as not theirs, open ones first, with "Clear", "Lock
//! account" and a way to contact the user. Administrators only.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Nav, Staff};
use crate::clock::now;
use crate::csrf_form;
use crate::store::{
    self,
    audit::{Event, Outcome},
};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::state::AppState;
use crate::web::{client_ip, html};

pub struct ReportView {
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub email: String,
    pub when: String,
    pub method: &'static str,
    pub detail: String,
    pub ip: String,
    pub application: String,
    pub open: bool,
    pub status: String,
}

#[derive(Template)]
#[template(path = "admin/fraud.html")]
struct FraudPage {
    chrome: Chrome,
    nav: Nav,
    reports: Vec<ReportView>,
}

fn method_label(method: &str) -> &'static str {
    match method {
        "change_notice" => "\"This wasn't me\" in a change email",
        "push" => "Push denied as fraudulent",
        "call" => "Call reported as fraudulent",
        _ => "Other",
    }
}

pub async fn fraud_get(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let reports = store::fraud_reports::recent(&state.db, 200)
        .await?
        .into_iter()
        .map(|r| ReportView {
            when: crate::clock::format(r.at),
            method: method_label(&r.method),
            open: r.status == "open",
            ip: r.ip.unwrap_or_else(|| "—".into()),
            application: r.application.unwrap_or_else(|| state.settings.institution.product_name.clone()),
            id: r.id,
            user_id: r.user_id,
            username: r.username,
            email: r.email,
            detail: r.detail,
            status: r.status,
        })
        .collect();
    html(
        StatusCode::OK,
        &FraudPage { chrome: staff.chrome(&state), nav: Nav { admin: true, current: "fraud" }, reports },
    )
}

csrf_form!(ActionForm { action: String });

pub async fn fraud_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: CsrfForm<ActionForm>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let report = store::fraud_reports::by_id(&state.db, &id).await?.ok_or(AppError::NotFound)?;
    let t = now();
    let (event, status) = match form.0.action.as_str() {
        "clear" => (AuditEvent::FraudCleared, "cleared"),
        "lock" => {
            store::users::lock(&state.db, &report.user_id, t).await?;
            (AuditEvent::AccountLocked, "locked")
        }
        _ => return Err(AppError::Forbidden),
    };
    store::fraud_reports::set_status(&state.db, &report.id, status, &staff.user.id, t).await?;
    let detail = format!("fraud report {} {status} by {}", report.id, staff.user.username);
    let ip = client_ip(&req);
    let e = Event::new(event, Outcome::Info)
        .user(&report.user_id, &report.username)
        .actor(&staff.user.id)
        .ip(ip.as_deref())
        .detail(&detail);
    store::audit::record(&state.db, e, t).await?;
    Ok(see_other("/admin/fraud"))
}
