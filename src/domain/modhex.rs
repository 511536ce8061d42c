//! Yubico's modhex: the alphabet a YubiKey types (the keys that sit in the same place on every
//! keyboard layout), and the shape of a Yubico OTP, so input can be recognised before any crypto.

/// The modhex alphabet: the keys that sit in the same place on every keyboard layout.
const MODHEX: &[u8; 16] = b"cbdefghijklnrtuv";
/// Encrypted part: 16 bytes, 32 modhex characters.
pub const TOKEN_CHARS: usize = 32;
pub const PRIVATE_ID_BYTES: usize = 6;
pub const KEY_BYTES: usize = 16;

/// Whether `text` looks like a Yubico OTP: only modhex, between 32 and 64 characters.
pub fn looks_like_otp(text: &str) -> bool {
    (TOKEN_CHARS..=64).contains(&text.len()) && text.bytes().all(|b| MODHEX.contains(&b))
}

pub fn modhex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |b: u8| MODHEX.iter().position(|m| *m == b).map(|p| p as u8);
    text.as_bytes().chunks(2).map(|pair| Some((nibble(pair[0])? << 4) | nibble(pair[1])?)).collect()
}

pub fn modhex_encode(bytes: &[u8]) -> String {
    bytes.iter().flat_map(|b| [MODHEX[(b >> 4) as usize] as char, MODHEX[(b & 15) as usize] as char]).collect()
}
