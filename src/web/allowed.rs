//! Allowed methods at the point of use: the policy's rule (`domain::policy`) applied to a user's
//! groups, read fresh from `state.policy()`. The prompt, the wizard and the Auth API call these.

use crate::domain::policy::{Method, MethodSet};
use crate::store::{self, StoreError};
use crate::web::state::AppState;

/// The methods this user may use now (their groups' overrides, or the global default).
pub async fn methods_for_user(state: &AppState, user_id: &str) -> Result<MethodSet, StoreError> {
    let policy = state.policy().await?;
    if !policy.has_group_rules() {
        return Ok(policy.methods_for(&[]));
    }
    let groups = store::import::groups_of(&state.db, user_id).await?;
    Ok(policy.methods_for(&groups))
}

/// Whether this user may use `method` now. For the Auth API: refuse a factor when this is false.
pub async fn method_allowed(state: &AppState, user_id: &str, method: Method) -> Result<bool, StoreError> {
    Ok(methods_for_user(state, user_id).await?.allows(method))
}

/// What a user is told when they try a method the policy does not allow them.
pub fn refusal(state: &AppState, method: Method) -> String {
    format!(
        "{} cannot be used to sign in to your account. Choose another method, or contact {}.",
        method.name(),
        state.settings.institution.help_desk
    )
}
