//! One-time codes typed at the prompt: backup codes (10 digits, ten at a time) and temporary
//! passcodes from the help desk or recovery (9 digits). Stored only as
//! HMAC-SHA-256 under the master-derived key with a per-code random salt (NIST 800-63B 5.1.2.2).

use rand::RngExt;

use crate::secrets::Keys;

pub const BACKUP_CODE_DIGITS: usize = 10;
/// Temporary (help desk) and recovery passcodes.
pub const TEMPORARY_CODE_DIGITS: usize = 9;
pub const BACKUP_CODES_PER_SET: usize = 10;
/// At or below this many unused codes, "My Settings & Devices" warns.
pub const BACKUP_CODES_LOW: i64 = 3;

/// A fresh code of `digits` decimal digits from the CSPRNG, uniformly distributed.
pub fn random_digits(digits: usize) -> String {
    let mut rng = rand::rng();
    (0..digits).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect()
}

/// A new set of backup codes.
pub fn new_backup_codes() -> Vec<String> {
    (0..BACKUP_CODES_PER_SET).map(|_| random_digits(BACKUP_CODE_DIGITS)).collect()
}

/// How a code is shown: "12345 67890" for ten digits, "123 456 789" for nine (easier to read
/// aloud on the phone). People may type it with or without the spaces.
pub fn display(code: &str) -> String {
    if code.len() == TEMPORARY_CODE_DIGITS {
        return format!("{} {} {}", &code[..3], &code[3..6], &code[6..]);
    }
    let (a, b) = code.split_at(code.len() / 2);
    format!("{a} {b}")
}

/// 64-bit random salt, base64.
pub fn new_salt() -> String {
    crate::secrets::random_token()[..11].to_string()
}

pub fn hash(keys: &Keys, salt: &str, code: &str) -> String {
    keys.hash_token(&format!("one-time-code:{salt}:{code}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::DataKey;

    #[test]
    fn codes_have_ten_digits_and_do_not_repeat() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            for code in new_backup_codes() {
                assert_eq!(code.len(), BACKUP_CODE_DIGITS);
                assert!(code.chars().all(|c| c.is_ascii_digit()));
                seen.insert(code);
            }
        }
        // 100 000 codes from 10^10: a repeat would be a one-in-twenty event for a perfect source;
        // many would mean a broken one.
        assert!(seen.len() >= 99_990, "{} distinct", seen.len());
    }

    #[test]
    fn every_digit_appears_in_every_position() {
        let codes: Vec<String> = (0..2000).map(|_| random_digits(10)).collect();
        for position in 0..10 {
            let digits: std::collections::HashSet<u8> = codes.iter().map(|c| c.as_bytes()[position]).collect();
            assert_eq!(digits.len(), 10, "position {position}");
        }
    }

    #[test]
    fn hashes_depend_on_salt_and_key() {
        let keys = Keys::new(&DataKey::generate());
        let other = Keys::new(&DataKey::generate());
        assert_eq!(hash(&keys, "s1", "1234567890"), hash(&keys, "s1", "1234567890"));
        assert_ne!(hash(&keys, "s1", "1234567890"), hash(&keys, "s2", "1234567890"));
        assert_ne!(hash(&keys, "s1", "1234567890"), hash(&other, "s1", "1234567890"));
    }

    #[test]
    fn codes_are_displayed_in_groups() {
        assert_eq!(display("1234567890"), "12345 67890");
        assert_eq!(display("123456789"), "123 456 789");
    }
}
