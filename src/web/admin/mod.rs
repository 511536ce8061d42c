//! The console for administrators and the help desk. Every page needs a staff role and a recent
//! second factor; administrators-only pages say so. Every action is audit-logged with the actor.

mod access;
mod applications;
mod audit;
mod dashboard;
mod directory;
mod fraud;
mod import;
mod invitations;
mod outbox;
mod passcodes;
mod phones;
mod policies;
mod radius;
mod scim;
mod staff_groups;
mod tokens;
mod user_tokens;
mod users;
mod verify;

pub use applications::{
    add_post as application_add_post, applications_get, delete_post as application_delete_post,
    redirect_uris_post as application_redirect_uris_post, rotate_post as application_rotate_post,
};
pub use audit::{audit_csv_get, audit_get};
pub use dashboard::dashboard_get;
pub use directory::{sync_all_post as directory_sync_post, sync_user_post as directory_sync_user_post};
pub use fraud::{fraud_get, fraud_post};
pub use import::{commit_post as import_commit_post, import_get, upload_post as import_upload_post};
pub use invitations::{group_invite_post, invitations_get, invite_post};
pub use outbox::outbox_get;
pub use passcodes::{passcode_get, passcode_post};
pub use policies::{policies_get, policies_post};
pub use radius::{
    add_post as radius_add_post, delete_post as radius_delete_post, radius_get, rotate_post as radius_rotate_post,
};
pub use tokens::{commit_post as tokens_commit_post, tokens_get, upload_post as tokens_upload_post};
pub use user_tokens::{assign_post as token_assign_post, release_post as token_release_post};
pub use users::{device_disable_post, status_post, unlock_post, user_get, users_get};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use std::future::Future;
use std::pin::Pin;

use crate::domain::Role;
use crate::store::users::UserRow;
use crate::web::chrome::Chrome;
use crate::web::error::AppError;
use crate::web::session::SteppedUp;
use crate::web::state::AppState;

/// An administrator or help-desk member with a recent second factor.
pub struct Staff {
    pub user: UserRow,
    pub role: Role,
    pub csrf: String,
    /// The groups a help-desk member is limited to (Duo's "administrative units"); empty: the
    /// whole institution (always, for administrators).
    pub groups: Vec<String>,
}

fn not_allowed(message: &str) -> AppError {
    AppError::Explained {
        status: actix_web::http::StatusCode::FORBIDDEN,
        title: "Not allowed on this account",
        message: message.into(),
    }
}

impl Staff {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Administrators only (help desk never changes roles, policy or accounts' status).
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin() { Ok(()) } else { Err(AppError::Forbidden) }
    }

    /// The staff id to limit lists to, when this help-desk member is limited to some groups.
    pub fn within(&self) -> Option<&str> {
        (!self.groups.is_empty()).then_some(self.user.id.as_str())
    }

    /// Whether the account `user_id` is within this staff member's groups (always, unless limited).
    pub async fn sees(&self, state: &AppState, user_id: &str) -> Result<bool, AppError> {
        Ok(match self.within() {
            None => true,
            Some(staff) => crate::store::staff_scopes::covers(&state.db, staff, user_id).await?,
        })
    }

    /// The account `id`, when this staff member may look at it (the user page).
    pub async fn viewed(&self, state: &AppState, id: &str) -> Result<UserRow, AppError> {
        let target = crate::store::users::by_id(&state.db, id).await?.ok_or(AppError::NotFound)?;
        if !self.sees(state, &target.id).await? {
            return Err(not_allowed(OUTSIDE_GROUPS));
        }
        Ok(target)
    }

    /// The account `id`, when this staff member may act on it: never their own, never a staff
    /// account of their role or higher (`Role::may_act_on`), never outside the groups a help-desk
    /// member is limited to. Every action on an account goes through here.
    pub async fn managed(&self, state: &AppState, id: &str) -> Result<UserRow, AppError> {
        let target = self.viewed(state, id).await?;
        if !self.may_manage(&target) {
            return Err(not_allowed(
                "The console's actions cannot be taken on your own account or on a staff account of your role \
                 or higher. Ask an administrator, or use the command line on the server.",
            ));
        }
        Ok(target)
    }

    /// Whether this staff member may act on `target`, groups included (for lists of accounts).
    pub async fn may_act_on(&self, state: &AppState, target: &UserRow) -> Result<bool, AppError> {
        Ok(self.may_manage(target) && self.sees(state, &target.id).await?)
    }

    /// The role part of `managed`, for an account already known to be within the groups (what
    /// the user page offers).
    pub fn may_manage(&self, target: &UserRow) -> bool {
        target.id != self.user.id && self.role.may_act_on(target.role())
    }

    pub fn chrome(&self, state: &AppState) -> Chrome {
        Chrome::new(state, Some(&self.user.display_name), &self.csrf)
    }
}

impl FromRequest for Staff {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let stepped_up = SteppedUp::from_request(req, payload);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let auth = stepped_up.await?;
            match auth.user.role() {
                Role::Admin => Ok(Staff { role: Role::Admin, user: auth.user, csrf: auth.csrf, groups: Vec::new() }),
                Role::Helpdesk => {
                    let state = state.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no application state")))?;
                    let groups = crate::store::staff_scopes::groups(&state.db, &auth.user.id).await?;
                    Ok(Staff { role: Role::Helpdesk, user: auth.user, csrf: auth.csrf, groups })
                }
                Role::User => Err(AppError::Forbidden),
            }
        })
    }
}

const OUTSIDE_GROUPS: &str = "This account is not in the groups your help-desk role covers. Ask a help desk \
                              that covers it, or an administrator.";

/// The console's navigation, shown on every admin page.
pub struct Nav {
    pub admin: bool,
    pub current: &'static str,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    let get = crate::web::get;
    cfg.route("/admin", get().to(|| async { crate::web::error::see_other("/admin/users") }))
        .route("/admin/dashboard", get().to(dashboard_get))
        .route("/admin/fraud", get().to(fraud_get))
        .route("/admin/fraud/{id}", web::post().to(fraud_post))
        .route("/admin/users", get().to(users_get))
        .route("/admin/users/{id}", get().to(user_get))
        .route("/admin/users/{id}/unlock", web::post().to(unlock_post))
        .route("/admin/users/{id}/sync", web::post().to(directory_sync_user_post))
        .route("/admin/directory/sync", web::post().to(directory_sync_post))
        .route("/admin/users/{id}/status", web::post().to(status_post))
        .route("/admin/users/{id}/invite", web::post().to(invite_post))
        .route("/admin/users/{id}/phone", web::post().to(phones::add_phone_post))
        .route("/admin/users/{id}/groups", web::post().to(staff_groups::groups_post))
        .route("/admin/users/{id}/passcode", get().to(passcode_get))
        .route("/admin/users/{id}/passcode", web::post().to(passcode_post))
        .route("/admin/users/{id}/verify", web::post().to(verify::verify_post))
        .route("/admin/users/{id}/verify/{request}", get().to(verify::verify_get))
        .route("/admin/users/{id}/devices/{device}/disable", web::get().to(users::device_disable_get))
        .route("/admin/users/{id}/devices/{device}/disable", web::post().to(device_disable_post))
        .route("/admin/users/{id}/tokens", web::post().to(token_assign_post))
        .route("/admin/users/{id}/tokens/{token}", web::post().to(token_release_post))
        .route("/admin/invitations", get().to(invitations_get))
        .route("/admin/invitations/group", web::post().to(group_invite_post))
        .route("/admin/audit", get().to(audit_get))
        .route("/admin/audit.csv", get().to(audit_csv_get))
        .route("/admin/outbox", get().to(outbox_get))
        .route("/admin/import", get().to(import_get))
        .route("/admin/import", web::post().to(import_upload_post))
        .route("/admin/import/{id}/commit", web::post().to(import_commit_post))
        .route("/admin/tokens", get().to(tokens_get))
        .route("/admin/tokens", web::post().to(tokens_upload_post))
        .route("/admin/tokens/{id}/commit", web::post().to(tokens_commit_post))
        .route("/admin/policies", get().to(policies_get))
        .route("/admin/policies", web::post().to(policies_post))
        .route("/admin/applications", get().to(applications_get))
        .route("/admin/applications", web::post().to(application_add_post))
        .route("/admin/applications/{ikey}/rotate", web::post().to(application_rotate_post))
        .route("/admin/applications/{ikey}/delete", web::post().to(application_delete_post))
        .route("/admin/applications/{ikey}/redirect-uris", web::post().to(application_redirect_uris_post))
        .route("/admin/radius", get().to(radius_get))
        .route("/admin/radius", web::post().to(radius_add_post))
        .route("/admin/radius/{id}/rotate", web::post().to(radius_rotate_post))
        .route("/admin/radius/{id}/delete", web::post().to(radius_delete_post))
        .route("/admin/scim", get().to(scim::scim_get))
        .route("/admin/scim", web::post().to(scim::add_post))
        .route("/admin/scim/{id}/rotate", web::post().to(scim::rotate_post))
        .route("/admin/scim/{id}/delete", web::post().to(scim::delete_post))
        .configure(access::routes);
}
