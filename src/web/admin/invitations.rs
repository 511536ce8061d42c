//! "Invitations": email a single-use enrolment link to a user who has not enrolled yet, and see
//! what was sent, used or expired. The help desk may (re)send them too.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::users::audit;
use super::{Nav, Staff};
use crate::csrf_form;
use crate::error::{AppError, see_other};
use crate::store;
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::state::{AppState, now};
use crate::web::{html, invite, settings_time};

pub struct InvitationView {
    pub user_id: String,
    pub username: String,
    pub sent_to: String,
    pub sent: String,
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "admin/invitations.html")]
struct InvitationsPage {
    chrome: Chrome,
    nav: Nav,
    invitations: Vec<InvitationView>,
}

csrf_form!(InviteForm {});

pub async fn invite_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _f: CsrfForm<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let user = store::users::by_id(&state.db, &id).await?.ok_or(AppError::NotFound)?;
    if user.enrolled_at.is_some() || !user.is_active() {
        return Err(AppError::Explained {
            status: StatusCode::CONFLICT,
            title: "No invitation sent",
            message:
                "This user has enrolled before or is disabled. Invitations are for a first device; to replace a lost \
                      one, issue a temporary passcode."
                    .into(),
        });
    }
    invite::send(&state, &user, Some(&staff.user.id)).await?;
    audit(&state, &req, &staff, &user, "invitation.sent", &format!("to {} by {}", user.email, staff.user.username))
        .await?;
    Ok(see_other("/admin/invitations"))
}

pub async fn invitations_get(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let t = now();
    let invitations = store::invitations::recent(&state.db, 200)
        .await?
        .into_iter()
        .map(|i| InvitationView {
            status: if i.used_at.is_some() {
                "used"
            } else if i.expires_at <= t {
                "expired"
            } else {
                "sent"
            },
            user_id: i.user_id,
            username: i.username,
            sent_to: i.sent_to,
            sent: settings_time(i.created_at),
        })
        .collect();
    let page = InvitationsPage {
        chrome: staff.chrome(&state),
        nav: Nav { admin: staff.is_admin(), current: "invitations" },
        invitations,
    };
    html(StatusCode::OK, &page)
}
