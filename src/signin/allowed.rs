//! Allowed methods at the point of use: the access rules in force (`signin::access`: global,
//! groups, the application, groups at the application) for a user, read fresh from the policy.
//! The prompt, the wizard, the Auth API and RADIUS call these.

use crate::domain::policy::{Method, MethodSet};
use crate::signin::{Application, Caller, SignIn};
use crate::store::StoreError;

/// The methods this user may use now at `application` (none: the portal).
pub async fn methods_for_user(
    core: &SignIn,
    user_id: &str,
    application: Option<&Application>,
) -> Result<MethodSet, StoreError> {
    Ok(core.rules_for(user_id, application).await?.methods.0)
}

/// Whether `caller` may use `method` now. For the Auth API: refuse a factor when this is false.
pub async fn method_allowed(core: &SignIn, caller: &Caller<'_>, method: Method) -> Result<bool, StoreError> {
    Ok(methods_for_user(core, &caller.user.id, caller.application).await?.allows(method))
}
