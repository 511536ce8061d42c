//! The first factor: a password (and, for recovery, identity facts with it), behind the
//! throttle. Each guess is recorded before it is checked (`store::login_attempts`), per typed
//! username and per address, so a burst of parallel guesses gets no more checks than the limit.
//! The answer is the same for unknown usernames and wrong passwords.

use crate::directory::Check;
pub use crate::directory::Refusal;
use crate::domain::{AuditEvent, Role, Username};
use crate::passwords;
use crate::store::audit::{Event, Outcome};
use crate::store::{
    self,
    users::{Source, UserRow},
};

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
    /// The directory refused the account's password for a reason the user should hear (expired,
    /// must be changed, disabled or locked there); see `words::directory_refusal`.
    DirectoryRefused(UserRow, Refusal),
    /// The account's password is the directory's, and the directory did not answer.
    DirectoryUnavailable,
}

/// A directory user synced at their first sign-in.
enum Newcomer {
    Synced(Box<UserRow>),
    /// The sync ran but gave no directory account of that name.
    NotTaken,
    Failed,
}

/// What the directory said of a password, for `SignIn::password`.
enum Outside {
    /// Not a directory account (or no directory): the local password decides.
    No,
    Right(UserRow),
    Wrong,
    Refused(UserRow, Refusal),
    Unavailable,
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
        let t = self.now();
        let (user, right) = match self.directory_password(typed, user, &password, t).await? {
            (Outside::No, user) => {
                let stored = user.as_ref().and_then(|u| u.password_hash.clone());
                let right =
                    passwords::verify_blocking(password, stored).await.map_err(|e| Error::Other(e.to_string()))?;
                (user, right)
            }
            (Outside::Right(user), _) => (Some(user), true),
            (Outside::Wrong, user) => (user, false),
            (Outside::Refused(user, refusal), _) => {
                let e = Event::new(AuditEvent::LoginPassword, Outcome::Failure).ip(ip).detail(refusal.describe());
                store::audit::record(&self.db, e.user(&user.id, &user.username), t).await?;
                return Ok(PasswordVerdict::DirectoryRefused(user, refusal));
            }
            (Outside::Unavailable, _) => return Ok(PasswordVerdict::DirectoryUnavailable),
        };
        // The local-passwords switch is about local passwords; the directory's are not.
        let allowed = |u: &UserRow| {
            self.settings.login.local_passwords || u.role() == Role::Admin || u.source() == Source::Directory
        };
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

    /// The directory's word on a password, when the account is the directory's, or when no
    /// account has the name and the directory has it (then that one user is synced first, so a
    /// newcomer need not wait for the next scheduled sync). `Outside::No` otherwise.
    async fn directory_password(
        &self,
        typed: &str,
        user: Option<UserRow>,
        password: &str,
        t: i64,
    ) -> Result<(Outside, Option<UserRow>), Error> {
        let Some(directory) = &self.directory else { return Ok((Outside::No, user)) };
        let name = match &user {
            Some(u) if u.source() == Source::Directory => u.username.clone(),
            None => match Username::parse(typed) {
                Ok(name) => name.as_str().to_string(),
                Err(_) => return Ok((Outside::No, user)),
            },
            Some(_) => return Ok((Outside::No, user)),
        };
        let check = match directory.check_password(&name, password).await {
            Ok(check) => check,
            Err(e) => {
                tracing::warn!(error = %e, "the directory did not answer a password check");
                return Ok((Outside::Unavailable, user));
            }
        };
        let (user, refusal) = match (check, user) {
            (Check::Refused(Refusal::WrongPassword), user) => return Ok((Outside::Wrong, user)),
            (Check::Refused(refusal), Some(u)) => (u, Some(refusal)),
            (Check::Accepted(_), Some(u)) => (u, None),
            (check, None) => {
                let refusal = match check {
                    Check::Refused(refusal) => Some(refusal),
                    Check::Accepted(_) => None,
                };
                match self.sync_newcomer(directory, &name, t).await? {
                    Newcomer::Synced(u) => (*u, refusal),
                    Newcomer::NotTaken => return Ok((Outside::Wrong, None)),
                    Newcomer::Failed if refusal.is_some() => return Ok((Outside::Wrong, None)),
                    Newcomer::Failed => return Ok((Outside::Unavailable, None)),
                }
            }
        };
        Ok(match refusal {
            Some(refusal) => (Outside::Refused(user, refusal), None),
            None => (Outside::Right(user), None),
        })
    }

    /// A user the directory has and Twofold does not yet: synced now (alone).
    async fn sync_newcomer(
        &self,
        directory: &crate::directory::Directory,
        name: &str,
        t: i64,
    ) -> Result<Newcomer, Error> {
        let options = crate::directory::sync::Options { user: Some(name.to_string()), dry_run: false };
        let allowed = &self.settings.telephony.allowed_countries;
        let quiet = |_: usize, _: usize| {};
        if let Err(e) = directory.sync(&self.db, &self.keys, allowed, &options, t, &quiet).await {
            tracing::warn!(error = %e, "could not sync a new directory user at sign-in");
            return Ok(Newcomer::Failed);
        }
        let Ok(parsed) = Username::parse(name) else { return Ok(Newcomer::NotTaken) };
        Ok(match store::users::by_username(&self.db, &parsed).await? {
            Some(u) if u.source() == Source::Directory => Newcomer::Synced(Box::new(u)),
            // Outside the synced group, or the name belongs to another account.
            _ => Newcomer::NotTaken,
        })
    }
}
