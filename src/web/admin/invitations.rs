//! "Invitations": email a single-use enrolment link to a user who has not enrolled yet, and see
//! what was sent, used or expired. The help desk may (re)send them too.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::users::audit;
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
use crate::web::{client_ip, html, invite};

pub struct InvitationView {
    pub user_id: String,
    pub username: String,
    pub sent_to: String,
    pub sent: String,
    pub status: &'static str,
}

/// What "Invite a group" did, shown once on the page it returns to.
#[derive(Deserialize)]
pub struct GroupResult {
    group: Option<String>,
    sent: Option<u32>,
    skipped: Option<u32>,
}

#[derive(Template)]
#[template(path = "admin/invitations.html")]
struct InvitationsPage {
    chrome: Chrome,
    nav: Nav,
    invitations: Vec<InvitationView>,
    groups: Vec<(String, i64)>,
    result: Option<(String, u32, u32)>,
}

csrf_form!(InviteForm {});
csrf_form!(GroupInviteForm { group: String });

pub async fn invite_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _f: CsrfForm<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let user = staff.managed(&state, &id).await?;
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
    audit(
        &state,
        &req,
        &staff,
        &user,
        AuditEvent::InvitationSent,
        &format!("to {} by {}", user.email, staff.user.username),
    )
    .await?;
    Ok(see_other("/admin/invitations"))
}

/// "Invite a group": every active member of an imported group who never enrolled and holds no
/// usable invitation gets one. Sending again later reaches only the ones still missing.
pub async fn group_invite_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    form: CsrfForm<GroupInviteForm>,
) -> Result<HttpResponse, AppError> {
    let group = form.0.group.trim().to_string();
    if staff.within().is_some() && !staff.groups.contains(&group) {
        return Err(AppError::Explained {
            status: StatusCode::FORBIDDEN,
            title: "No invitations sent",
            message: "That group is not one your help-desk role covers. Choose one of your groups.".into(),
        });
    }
    let members = store::import::members_of(&state.db, &group).await?;
    if members.is_empty() {
        return Err(AppError::Explained {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "No invitations sent",
            message: "That group has no members. Choose a group from the list; groups come from imported users.".into(),
        });
    }
    let (mut sent, mut skipped) = (0u32, 0u32);
    for id in members {
        let Some(user) = store::users::by_id(&state.db, &id).await? else { continue };
        if !staff.may_act_on(&state, &user).await? {
            continue;
        }
        if user.enrolled_at.is_some()
            || !user.is_active()
            || user.email.is_empty()
            || store::invitations::has_usable(&state.db, &user.id, now()).await?
        {
            skipped += 1;
            continue;
        }
        invite::send(&state, &user, Some(&staff.user.id)).await?;
        sent += 1;
    }
    let detail = format!("group {group}: {sent} sent, {skipped} skipped, by {}", staff.user.username);
    let ip = client_ip(&req);
    let event = Event::new(AuditEvent::InvitationGroupSent, Outcome::Success)
        .actor(&staff.user.id)
        .ip(ip.as_deref())
        .detail(&detail);
    store::audit::record(&state.db, event, now()).await?;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("group", &group)
        .append_pair("sent", &sent.to_string())
        .append_pair("skipped", &skipped.to_string())
        .finish();
    Ok(see_other(&format!("/admin/invitations?{query}")))
}

pub async fn invitations_get(
    staff: Staff,
    state: web::Data<AppState>,
    result: web::Query<GroupResult>,
) -> Result<HttpResponse, AppError> {
    let t = now();
    let invitations = store::invitations::recent(&state.db, staff.within(), 200)
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
            sent: crate::clock::format(i.created_at),
        })
        .collect();
    let page = InvitationsPage {
        chrome: staff.chrome(&state),
        nav: Nav { admin: staff.is_admin(), current: "invitations" },
        invitations,
        groups: store::import::groups(&state.db)
            .await?
            .into_iter()
            .filter(|(g, _)| staff.within().is_none() || staff.groups.contains(g))
            .collect(),
        result: match result.into_inner() {
            GroupResult { group: Some(g), sent: Some(s), skipped: Some(k) } => Some((g, s, k)),
            _ => None,
        },
    };
    html(StatusCode::OK, &page)
}
