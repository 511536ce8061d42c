//! Password hashing with argon2id, and a verification that costs the same whether or not the
//! account exists (no user enumeration by timing).

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::domain::Password;

/// Hashes a new password (argon2id, the crate's OWASP-recommended parameters, random salt).
pub fn hash(password: &Password) -> String {
    Argon2::default()
        .hash_password(password.expose().as_bytes())
        .expect("argon2 with default parameters cannot fail")
        .to_string()
}

/// Verifies `candidate` against `stored`. With no stored hash (unknown user, or no local
/// password) a dummy hash is verified instead, so both paths take the same time.
pub fn verify(candidate: &str, stored: Option<&str>) -> bool {
    let dummy = dummy_hash();
    let (hash, real) = match stored {
        Some(h) => (h, true),
        None => (dummy.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(hash) else {
        // An unreadable stored hash must not be faster than a real check.
        let _ = Argon2::default().verify_password(candidate.as_bytes(), &PasswordHash::new(dummy).expect("valid"));
        return false;
    };
    let ok = Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok();
    ok && real
}

fn dummy_hash() -> &'static String {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash(&Password::parse("twofold-dummy-password").expect("valid")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_password() {
        let h = hash(&Password::parse("correct horse").unwrap());
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse", Some(&h)));
        assert!(!verify("wrong horse", Some(&h)));
    }

    #[test]
    fn no_stored_hash_never_verifies() {
        assert!(!verify("twofold-dummy-password", None));
        assert!(!verify("anything", Some("not a hash")));
    }
}
