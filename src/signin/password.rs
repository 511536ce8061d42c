//! The first factor: a password (and, for recovery, identity facts with it), behind the
//! throttle. Each guess is recorded before it is checked (`store::login_attempts`), per typed
//! username and per address, so a burst of parallel guesses gets no more checks than the limit.
//! The answer is the same for unknown usernames and wrong passwords.

use crate::domain::{AuditEvent, Role, Username};
use crate::passwords;
use crate::store::audit::{Event, Outcome};
use crate::store::{self, users::UserRow};

use super::{Error, SignIn};

/// What a guess is for: each has its own count per username; the address's count is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Login,
    Recovery,
}

/// A guess the throttle let through; `succeeded` gives its place back.
#[derive(Debug)]
pub struct Reserved {
    attempt: String,
    /// The username's subjects (from this address, and from everywhere).
    account: [String; 2],
}

#[derive(Debug)]
pub enum PasswordVerdict {
    Accepted(UserRow),
    /// Unknown username or wrong password (one answer for both).
    Wrong,
    /// Too many guesses for this username or from this address in the window.
    Throttled,
    /// The password was right, but the account is disabled.
    Disabled(UserRow),
}

/// The username as a guess names it (normalised when it parses, so "Ada" and "ada" count together).
fn normalised(typed: &str) -> String {
    Username::parse(typed).map(|u| u.as_str().to_string()).unwrap_or_else(|_| typed.trim().to_lowercase())
}

impl SignIn {
    /// Reserves one guess by `typed` from `ip`; `None` when the throttle refuses it (then
    /// nothing may be checked). The same for existing and unknown usernames. Counted per
    /// username from this address (so nobody elsewhere can lock the real user out), per address,
    /// and per username from everywhere (a slower cap, waived for a browser the user trusted).
    pub async fn reserve_guess(
        &self,
        purpose: Purpose,
        typed: &str,
        ip: Option<&str>,
        trusted_browser: bool,
    ) -> Result<Option<Reserved>, Error> {
        let limits = &self.settings.login;
        let prefix = match purpose {
            Purpose::Login => "login-account",
            Purpose::Recovery => "recover-account",
        };
        let (name, address) = (normalised(typed), ip.unwrap_or("unknown"));
        let pair = self.keys.hash_token(&format!("{prefix}:{name}:from:{address}"));
        let everywhere = self.keys.hash_token(&format!("{prefix}:{name}"));
        let address = self.keys.hash_token(&format!("login-address:{address}"));
        let t = self.now();
        let since = t - i64::from(limits.window_minutes) * 60;
        let mut subjects = vec![
            (pair.as_str(), i64::from(limits.max_failures_per_account)),
            (address.as_str(), i64::from(limits.max_failures_per_address)),
        ];
        if !trusted_browser {
            subjects.push((everywhere.as_str(), i64::from(limits.max_failures_per_account_total)));
        }
        let attempt = store::login_attempts::reserve(&self.db, &subjects, since, t).await?;
        Ok(attempt.map(|attempt| Reserved { attempt, account: [pair, everywhere] }))
    }

    /// A guess was right: the username's counts start again and this guess no longer counts
    /// against the address.
    pub async fn guess_succeeded(&self, reserved: &Reserved) -> Result<(), Error> {
        Ok(store::login_attempts::succeeded(&self.db, &reserved.attempt, &reserved.account).await?)
    }

    /// "Log in": `typed` username and `password` from `ip`. One argon2 verification whatever
    /// the username (no timing difference for unknown ones). With local passwords off, only
    /// administrators may still use one (break-glass); everyone else gets the wrong-password
    /// answer, so the setting reveals nothing about accounts.
    /// `trust_cookie`: the browser's "Trust this browser" cookie, if it sent one; a browser the
    /// user trusted is not held back by the username's cap from everywhere.
    pub async fn password(
        &self,
        typed: &str,
        password: String,
        ip: Option<&str>,
        trust_cookie: Option<&str>,
    ) -> Result<PasswordVerdict, Error> {
        let user = match Username::parse(typed) {
            Ok(name) => store::users::by_username(&self.db, &name).await?,
            Err(_) => None,
        };
        let trusted = match (&user, trust_cookie) {
            (Some(u), Some(cookie)) => self.browser_trusted(&u.id, cookie).await?,
            _ => false,
        };
        let Some(reserved) = self.reserve_guess(Purpose::Login, typed, ip, trusted).await? else {
            return Ok(PasswordVerdict::Throttled);
        };
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        let right = passwords::verify_blocking(password, stored).await.map_err(|e| Error::Other(e.to_string()))?;
        let allowed = |u: &UserRow| self.settings.login.local_passwords || u.role() == Role::Admin;
        let t = self.now();
        let event = |u: Option<&UserRow>, outcome, detail: &str| {
            let mut e = Event::new(AuditEvent::LoginPassword, outcome).ip(ip).detail(detail);
            if let Some(u) = u {
                e = e.user(&u.id, &u.username);
            }
            crate::store::audit::Entry::from(e)
        };
        let user = match user {
            Some(u) if right && allowed(&u) => u,
            other => {
                let e = event(other.as_ref(), Outcome::Failure, "wrong username or password");
                store::audit::record_entry(&self.db, e, t).await?;
                return Ok(PasswordVerdict::Wrong);
            }
        };
        self.guess_succeeded(&reserved).await?;
        if !user.is_active() {
            store::audit::record_entry(&self.db, event(Some(&user), Outcome::Failure, "account disabled"), t).await?;
            return Ok(PasswordVerdict::Disabled(user));
        }
        store::audit::record_entry(&self.db, event(Some(&user), Outcome::Success, ""), t).await?;
        Ok(PasswordVerdict::Accepted(user))
    }
}
