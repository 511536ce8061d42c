//! Which Twofold user a verified provider identity signs in: the user already linked to the
//! subject, else the user with the username claim (linked now), else a new user when allowed.
//! Invariant: a subject, once linked, only ever signs in its own user; a username claim that
//! names a user linked to another subject is refused (a rename at the provider hijacks nothing).

use crate::config::OidcProvider;
use crate::domain::{DisplayName, Email, Role};
use crate::oidc::{ClaimsProblem, Identity};
use crate::store::{self, Db, StoreError, users::NewUser, users::UserRow};

// Returned once per sign-in and matched at once: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Resolution {
    /// Sign this user in. `provisioned`: created just now; `linked`: first sign-in this way.
    SignIn {
        user: UserRow,
        provisioned: bool,
        linked: bool,
    },
    Refused(Refusal),
}

pub enum Refusal {
    /// The claims lack a usable username (or the groups claim lacks an allowed group).
    Claims(ClaimsProblem),
    /// No Twofold account has this username and this provider may not create one.
    NotSetUp { username: String },
    /// The account with this username is linked to another subject at this provider.
    Mismatch { user: Box<UserRow> },
    /// Creating the account needs an email address and the claims have none.
    NoEmail { username: String },
}

pub async fn resolve(
    db: &Db,
    provider: &OidcProvider,
    identity: &Identity,
    now: i64,
) -> Result<Resolution, StoreError> {
    let username = match identity.check(provider) {
        Ok(u) => u,
        Err(problem) => return Ok(Resolution::Refused(Refusal::Claims(problem))),
    };
    if let Some(user) = linked_user(db, provider, &identity.subject).await? {
        return Ok(Resolution::SignIn { user, provisioned: false, linked: false });
    }
    let mut provisioned = false;
    let user = match store::users::by_username(db, &username).await? {
        Some(user) => user,
        None if provider.provision_users => {
            let Some(email) = identity.email(provider).or_else(|| Email::parse(username.as_str()).ok()) else {
                return Ok(Resolution::Refused(Refusal::NoEmail { username: username.as_str().to_string() }));
            };
            let display_name = identity
                .display_name(provider)
                .or_else(|| DisplayName::parse(username.as_str()).ok())
                .ok_or(StoreError::Conflict)?;
            let new = NewUser {
                username: &username,
                email: &email,
                display_name: &display_name,
                password_hash: None,
                role: Role::User,
                source: store::users::Source::Oidc,
            };
            match store::users::insert(db, new, now).await {
                Ok(user) => {
                    provisioned = true;
                    user
                }
                // Another first sign-in created it a moment ago: use that account.
                Err(StoreError::Conflict) => {
                    store::users::by_username(db, &username).await?.ok_or(StoreError::Conflict)?
                }
                Err(e) => return Err(e),
            }
        }
        None => return Ok(Resolution::Refused(Refusal::NotSetUp { username: username.as_str().to_string() })),
    };
    if store::oidc::subject_for_user(db, &provider.id, &user.id).await?.is_some() {
        return Ok(Resolution::Refused(Refusal::Mismatch { user: Box::new(user) }));
    }
    match store::oidc::link(db, &provider.id, &identity.subject, &user.id, now).await {
        Ok(()) => Ok(Resolution::SignIn { user, provisioned, linked: true }),
        // A concurrent first sign-in linked first: accept only if it linked this same pair.
        Err(StoreError::Conflict) => match linked_user(db, provider, &identity.subject).await? {
            Some(linked) if linked.id == user.id => Ok(Resolution::SignIn { user, provisioned, linked: false }),
            _ => Ok(Resolution::Refused(Refusal::Mismatch { user: Box::new(user) })),
        },
        Err(e) => Err(e),
    }
}

async fn linked_user(db: &Db, provider: &OidcProvider, subject: &str) -> Result<Option<UserRow>, StoreError> {
    match store::oidc::user_for_subject(db, &provider.id, subject).await? {
        Some(id) => store::users::by_id(db, &id).await,
        None => Ok(None),
    }
}
