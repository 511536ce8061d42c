//! "Verify the caller": before a temporary passcode, the agent sends the caller a verification
//! push; approved on the caller's app, it shows a code the caller reads back, and this page shows
//! the agent the code to compare (`signin::verification`). The page refreshes itself while it
//! waits (no script needed).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Nav, Staff};
use crate::csrf_form;
use crate::signin::verification::VerifyStart;
use crate::store::users::UserRow;
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::state::AppState;
use crate::web::{client_ip, html};

#[derive(Template)]
#[template(path = "admin/verify.html")]
struct VerifyPage {
    chrome: Chrome,
    nav: Nav,
    user: UserRow,
    /// pending, approved, denied, fraud, timed_out, cancelled
    status: &'static str,
    /// "123 456", once approved.
    code: Option<String>,
}

csrf_form!(VerifyForm {});

pub async fn verify_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _form: CsrfForm<VerifyForm>,
) -> Result<HttpResponse, AppError> {
    let user = staff.managed(&state, &id).await?;
    let ip = client_ip(&req);
    let message = match state.send_verification_push(&user, &staff.user, ip.as_deref()).await? {
        VerifyStart::Sent { id } => return Ok(see_other(&format!("/admin/users/{}/verify/{id}", user.id))),
        VerifyStart::NoDevice => "None of this user's devices receives pushes. Verify the caller another way.",
        VerifyStart::FraudLock => {
            "This user reported a push as fraudulent and the report is still open. Review it under Fraud reports first."
        }
        VerifyStart::Disabled => "This account is disabled.",
    };
    Err(AppError::Explained {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        title: "No verification push sent",
        message: message.into(),
    })
}

pub async fn verify_get(
    staff: Staff,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (user_id, request_id) = path.into_inner();
    let user = staff.managed(&state, &user_id).await?;
    let v = state.verification(&staff.user.id, &user.id, &request_id).await?.ok_or(AppError::NotFound)?;
    let page = VerifyPage {
        chrome: staff.chrome(&state),
        nav: Nav { admin: staff.is_admin(), current: "users" },
        user,
        status: v.status.as_str(),
        code: v.code.map(|c| crate::factors::codes::display(&c)),
    };
    html(StatusCode::OK, &page)
}
