//! The lock on an account after too many failed second factors, as the pages show it. Whether an
//! attempt may be made is decided by the attempt's own guard (`store::attempts`), at the moment
//! it is made; this is for what a page says before anyone tries.

use crate::store::{self, users::UserRow};

use super::{Error, SignIn};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    Open,
    /// Locked; `unlocks_at` when the policy unlocks accounts by themselves.
    Locked {
        unlocks_at: Option<i64>,
    },
}

impl Lock {
    pub fn is_locked(self) -> bool {
        matches!(self, Lock::Locked { .. })
    }
}

impl SignIn {
    /// The account's lock now (a lock whose automatic unlock time has passed is lifted here).
    pub async fn lock(&self, user: &UserRow) -> Result<Lock, Error> {
        let Some(locked_at) = user.locked_at else { return Ok(Lock::Open) };
        let auto = i64::from(self.policy().await?.lockout_auto_unlock_minutes) * 60;
        if auto == 0 {
            return Ok(Lock::Locked { unlocks_at: None });
        }
        if store::users::unlock_if_locked_before(&self.db, &user.id, self.now() - auto).await? {
            return Ok(Lock::Open);
        }
        Ok(Lock::Locked { unlocks_at: Some(locked_at + auto) })
    }
}
