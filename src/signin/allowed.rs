//! Allowed methods at the point of use: the policy's rule (`domain::policy`) applied to a user's
//! groups, read fresh from `core.policy()`. The prompt, the wizard and the Auth API call these.

use crate::domain::policy::{Method, MethodSet};
use crate::signin::SignIn;
use crate::store::{self, StoreError};

/// The methods this user may use now (their groups' overrides, or the global default).
pub async fn methods_for_user(core: &SignIn, user_id: &str) -> Result<MethodSet, StoreError> {
    let policy = core.policy().await?;
    if !policy.has_group_rules() {
        return Ok(policy.methods_for(&[]));
    }
    let groups = store::import::groups_of(&core.db, user_id).await?;
    Ok(policy.methods_for(&groups))
}

/// Whether this user may use `method` now. For the Auth API: refuse a factor when this is false.
pub async fn method_allowed(core: &SignIn, user_id: &str, method: Method) -> Result<bool, StoreError> {
    Ok(methods_for_user(core, user_id).await?.allows(method))
}
