//! Application keys in Duo's formats, which client libraries check: a 20-character integration
//! key ("DI" and 18 upper-case letters or digits) and a 40-character secret key.

use rand::RngExt;
use rand::distr::Alphanumeric;

pub const IKEY_LEN: usize = 20;
pub const SKEY_LEN: usize = 40;

pub fn new_integration_key() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..IKEY_LEN - 2).map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())])).collect();
    format!("DI{tail}")
}

/// 40 characters from 62 symbols: about 238 bits.
pub fn new_secret_key() -> String {
    rand::rng().sample_iter(Alphanumeric).take(SKEY_LEN).map(char::from).collect()
}

pub fn is_integration_key(value: &str) -> bool {
    value.len() == IKEY_LEN
        && value.starts_with("DI")
        && value.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_duos_shapes() {
        for _ in 0..100 {
            let ikey = new_integration_key();
            assert!(is_integration_key(&ikey), "{ikey}");
            let skey = new_secret_key();
            assert_eq!(skey.len(), SKEY_LEN);
            assert!(skey.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
        assert!(!is_integration_key("DIabc"));
    }
}
