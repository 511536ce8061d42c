//! The console for administrators and the help desk. Every page needs a staff role and a recent
//! second factor; administrators-only pages say so. Every action is audit-logged with the actor.

mod applications;
mod audit;
mod dashboard;
mod fraud;
mod import;
mod invitations;
mod outbox;
mod passcodes;
mod policies;
mod tokens;
mod user_tokens;
mod users;

pub use applications::{
    add_post as application_add_post, applications_get, delete_post as application_delete_post,
    redirect_uris_post as application_redirect_uris_post, rotate_post as application_rotate_post,
};
pub use audit::{audit_csv_get, audit_get};
pub use dashboard::dashboard_get;
pub use fraud::{fraud_get, fraud_post};
pub use import::{commit_post as import_commit_post, import_get, upload_post as import_upload_post};
pub use invitations::{group_invite_post, invitations_get, invite_post};
pub use outbox::outbox_get;
pub use passcodes::{passcode_get, passcode_post};
pub use policies::{policies_get, policies_post};
pub use tokens::{commit_post as tokens_commit_post, tokens_get, upload_post as tokens_upload_post};
pub use user_tokens::{assign_post as token_assign_post, release_post as token_release_post};
pub use users::{device_disable_post, status_post, unlock_post, user_get, users_get};

use actix_web::{FromRequest, HttpRequest, dev::Payload};
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
}

impl Staff {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Administrators only (help desk never changes roles, policy or accounts' status).
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin() { Ok(()) } else { Err(AppError::Forbidden) }
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
        Box::pin(async move {
            let auth = stepped_up.await?;
            match auth.user.role() {
                role @ (Role::Admin | Role::Helpdesk) => Ok(Staff { role, user: auth.user, csrf: auth.csrf }),
                Role::User => Err(AppError::Forbidden),
            }
        })
    }
}

/// The console's navigation, shown on every admin page.
pub struct Nav {
    pub admin: bool,
    pub current: &'static str,
}
