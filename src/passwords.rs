//! Password hashing with argon2id, and a verification that costs the same whether or not the
//! account exists (no user enumeration by timing).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::domain::Password;

/// An argon2id hash (default parameters) of a password nobody has, verified when there is no
/// real hash so that unknown users cost the same as known ones. A constant: nothing to compute
/// or fail on a request path.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$bXRUMlpQd1dZdXJnQ3pIWg$gOXzKKR6A3vDSEmsvhMDxXO2hZrQxDuCEEmrnE0Ln5E";

#[derive(Debug, thiserror::Error)]
#[error("the password could not be hashed")]
pub struct HashError;

/// Hashes a new password (argon2id, the crate's OWASP-recommended parameters, random salt).
pub fn hash(password: &Password) -> Result<String, HashError> {
    Argon2::default().hash_password(password.expose().as_bytes()).map(|h| h.to_string()).map_err(|_| HashError)
}

/// Verifies `candidate` against `stored`. With no stored hash (unknown user, or no local
/// password) or an unreadable one, the dummy hash is verified instead, so every path takes the
/// same time.
pub fn verify(candidate: &str, stored: Option<&str>) -> bool {
    let real = stored.and_then(|h| PasswordHash::new(h).ok());
    let checked = real.clone().or_else(|| PasswordHash::new(DUMMY_HASH).ok());
    let ok = checked.is_some_and(|h| Argon2::default().verify_password(candidate.as_bytes(), &h).is_ok());
    ok && real.is_some()
}

/// At most this many argon2 computations at once (one per core): each takes 19 MiB and tens of
/// milliseconds of a core, so a burst of sign-ins queues here instead of taking every blocking
/// thread and gigabytes of memory.
fn permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS
        .get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)))
}

/// Runs an argon2 computation off the async workers, no more than one per core at a time.
async fn off_the_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, HashError> {
    let _permit = permits().acquire().await.map_err(|_| HashError)?;
    tokio::task::spawn_blocking(work).await.map_err(|_| HashError)
}

/// `verify`, off the async workers and bounded (see `off_the_runtime`).
pub async fn verify_blocking(candidate: String, stored: Option<String>) -> Result<bool, HashError> {
    off_the_runtime(move || verify(&candidate, stored.as_deref())).await
}

/// `hash`, off the async workers and bounded (see `off_the_runtime`).
pub async fn hash_blocking(password: Password) -> Result<String, HashError> {
    off_the_runtime(move || hash(&password)).await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_password() {
        let h = hash(&Password::parse("correct horse").unwrap()).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse", Some(&h)));
        assert!(!verify("wrong horse", Some(&h)));
    }

    #[test]
    fn the_dummy_hash_is_a_readable_argon2id_hash() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify("twofold-dummy-password", None));
    }

    #[test]
    fn no_stored_hash_never_verifies() {
        assert!(!verify("twofold-dummy-password", None));
        assert!(!verify("anything", Some("not a hash")));
    }
}
