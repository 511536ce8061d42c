//! Whether a user can be asked for a second factor now, before any door asks: disabled, locked,
//! left with no way in, never enrolled (then a single-use enrolment link), or ready with their
//! methods. The Auth API's preauth and RADIUS read this one rule.

use crate::secrets::random_token;
use crate::store::{self, users::UserRow};

use super::devices::Methods;
use super::{Error, SignIn};

/// Where a user stands before the second factor.
pub enum Readiness {
    Disabled,
    Locked,
    /// Enrolled once, but every device and code is gone: only the help desk can help.
    NoWayIn,
    /// Never enrolled and nothing to sign in with: enrol first.
    MustEnroll,
    Ready(Methods),
}

impl SignIn {
    pub async fn readiness(&self, user: &UserRow) -> Result<Readiness, Error> {
        if !user.is_active() {
            return Ok(Readiness::Disabled);
        }
        if self.lock(user).await?.is_locked() {
            return Ok(Readiness::Locked);
        }
        let methods = self.methods(&user.id).await?;
        Ok(match (methods.any(), user.enrolled_at.is_some()) {
            (false, true) => Readiness::NoWayIn,
            (false, false) => Readiness::MustEnroll,
            (true, _) => Readiness::Ready(methods),
        })
    }

    /// A single-use link to the enrolment wizard for `user` (an invitation), valid `seconds`.
    pub async fn invitation_link(
        &self,
        user: &UserRow,
        created_by: Option<&str>,
        seconds: i64,
    ) -> Result<String, Error> {
        let token = random_token();
        let t = self.now();
        let hash = self.keys.hash_token(&token);
        store::invitations::insert(&self.db, &hash, &user.id, created_by, &user.email, t, t + seconds).await?;
        let mut link = self.public_url.clone();
        link.set_path(&format!("/invite/{token}"));
        Ok(link.to_string())
    }
}
