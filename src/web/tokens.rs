//! Routes for hardware tokens: claiming one in the wizard, the console's "Hardware tokens" page
//! (import, inventory) and the help desk's assign / unassign / mark lost on a user's page.

use actix_web::web::{self, get, post};

use super::{admin, enroll};

/// The wizard page that claims a token ("Serial number" + "Passcode").
pub const CLAIM_PATH: &str = "/enroll/token";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(CLAIM_PATH, get().to(enroll::token_get))
        .route(CLAIM_PATH, post().to(enroll::token_post))
        .route("/admin/tokens", get().to(admin::tokens_get))
        .route("/admin/tokens", post().to(admin::tokens_upload_post))
        .route("/admin/tokens/{id}/commit", post().to(admin::tokens_commit_post))
        .route("/admin/users/{id}/tokens", post().to(admin::token_assign_post))
        .route("/admin/users/{id}/tokens/{token}", post().to(admin::token_release_post));
}
