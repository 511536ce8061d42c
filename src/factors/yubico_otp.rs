//! Yubico OTP (YubiKey "touch" passcodes): modhex decoding, AES-128 decryption, the CRC-16 check,
//! the private id match and the counter, which must strictly increase (session and use counter).

use aes::Aes128;
use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};

use crate::secrets::constant_time_eq;

pub use crate::domain::modhex::{
    KEY_BYTES, PRIVATE_ID_BYTES, TOKEN_CHARS, looks_like_otp, modhex_decode, modhex_encode,
};

/// The usual OTP: 12 characters of public id then the encrypted part.
pub const OTP_CHARS: usize = 44;
/// What CRC-16 (ISO 13239) of a correct 16-byte token, CRC included, comes to.
const CRC_RESIDUE: u16 = 0xf0b8;

/// Splits an OTP into its public id (modhex, may be empty) and its encrypted part.
pub fn split(otp: &str) -> Option<(&str, &str)> {
    if !looks_like_otp(otp) {
        return None;
    }
    Some(otp.split_at(otp.len() - TOKEN_CHARS))
}

fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xffff;
    for b in data {
        crc ^= u16::from(*b);
        for _ in 0..8 {
            let carry = crc & 1;
            crc >>= 1;
            if carry != 0 {
                crc ^= 0x8408;
            }
        }
    }
    crc
}

/// The decrypted fields of one OTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// Non-volatile counter, raised at each power-up (15 bits).
    pub use_counter: u16,
    /// Counts touches within one power-up.
    pub session_counter: u8,
    pub timestamp: u32,
}

impl Decoded {
    /// One number that strictly increases with every OTP the token emits.
    pub fn counter(&self) -> i64 {
        (i64::from(self.use_counter) << 8) | i64::from(self.session_counter)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Accepted(Decoded),
    /// Decrypted and checked, but its counter is not above the last accepted one.
    Replayed,
    /// Not modhex, wrong key (CRC fails) or wrong private id.
    Wrong,
}

/// Decrypts the 32-character part with `key` and checks the CRC and the private id.
pub fn decode(encrypted: &str, key: &[u8], private_id: &[u8]) -> Option<Decoded> {
    let bytes: [u8; 16] = modhex_decode(encrypted)?.try_into().ok()?;
    let cipher = Aes128::new_from_slice(key).ok()?;
    let mut block = Array::from(bytes);
    cipher.decrypt_block(&mut block);
    let plain: [u8; 16] = block.into();
    if crc16(&plain) != CRC_RESIDUE {
        return None;
    }
    if !constant_time_eq(&hex::encode(&plain[..PRIVATE_ID_BYTES]), &hex::encode(private_id)) {
        return None;
    }
    Some(Decoded {
        use_counter: u16::from_le_bytes([plain[6], plain[7]]),
        timestamp: u32::from_le_bytes([plain[8], plain[9], plain[10], 0]),
        session_counter: plain[11],
    })
}

/// Verifies an OTP's encrypted part against the token's key and private id, and its counter
/// against the last accepted one (`last_counter`, from [`Decoded::counter`]).
pub fn verify(encrypted: &str, key: &[u8], private_id: &[u8], last_counter: i64) -> Verification {
    match decode(encrypted, key, private_id) {
        None => Verification::Wrong,
        Some(d) if d.counter() <= last_counter => Verification::Replayed,
        Some(d) => Verification::Accepted(d),
    }
}

/// What a token types for these counters (for tests and demonstrations; tokens do this themselves).
pub fn generate(public_id: &str, key: &[u8], private_id: &[u8], use_counter: u16, session_counter: u8) -> String {
    let mut plain = [0u8; 16];
    plain[..PRIVATE_ID_BYTES].copy_from_slice(&private_id[..PRIVATE_ID_BYTES]);
    plain[6..8].copy_from_slice(&use_counter.to_le_bytes());
    plain[8..11].copy_from_slice(&[0x12, 0x34, 0x56]);
    plain[11] = session_counter;
    plain[12..14].copy_from_slice(&[0x9a, 0xbc]);
    let crc = !crc16(&plain[..14]);
    plain[14..].copy_from_slice(&crc.to_le_bytes());
    let Ok(cipher) = Aes128::new_from_slice(key) else { return String::new() };
    let mut block = Array::from(plain);
    cipher.encrypt_block(&mut block);
    let encrypted: [u8; 16] = block.into();
    format!("{public_id}{}", modhex_encode(&encrypted))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// Yubico's published test vectors (developers.yubico.com/OTP/Specifications/Test_vectors.html).
    #[test]
    fn yubico_test_vectors_decrypt_to_their_published_fields() {
        let key = h("000102030405060708090a0b0c0d0e0f");
        let uid = h("010203040506");
        let rows = [
            ("dvgtiblfkbgturecfllberrvkinnctnn", 1u16, 1u8, 0x01_0001u32),
            ("rnibcnfhdninbrdebccrndfhjgnhftee", 1, 2, 0x01_0001),
            ("iikkijbdknrrdhfdrjltvgrbkkjblcbh", 0xfff, 1, 0x01_0001),
        ];
        for (otp, use_counter, session_counter, timestamp) in rows {
            let d = decode(otp, &key, &uid).unwrap_or_else(|| panic!("{otp} decodes"));
            assert_eq!(d, Decoded { use_counter, session_counter, timestamp }, "{otp}");
        }
        let d = decode("dcihgvrhjeucvrinhdfddbjhfjftjdei", &h(&"88".repeat(16)), &h(&"88".repeat(6))).unwrap();
        assert_eq!(d, Decoded { use_counter: 0x8888, session_counter: 0x88, timestamp: 0x88_8888 });
    }

    #[test]
    fn a_wrong_key_or_private_id_does_not_verify() {
        let key = h("000102030405060708090a0b0c0d0e0f");
        let uid = h("010203040506");
        let otp = "dvgtiblfkbgturecfllberrvkinnctnn";
        assert_eq!(verify(otp, &h(&"ff".repeat(16)), &uid, 0), Verification::Wrong);
        assert_eq!(verify(otp, &key, &h("010203040507"), 0), Verification::Wrong);
        assert_eq!(verify("cccccccccccccccccccccccccccccccc", &key, &uid, 0), Verification::Wrong);
    }

    #[test]
    fn counters_must_strictly_increase() {
        let key = h("000102030405060708090a0b0c0d0e0f");
        let uid = h("010203040506");
        let first = "dvgtiblfkbgturecfllberrvkinnctnn"; // use 1, session 1
        let second = "rnibcnfhdninbrdebccrndfhjgnhftee"; // use 1, session 2
        let Verification::Accepted(d) = verify(first, &key, &uid, 0) else { panic!() };
        assert_eq!(verify(first, &key, &uid, d.counter()), Verification::Replayed);
        let Verification::Accepted(d2) = verify(second, &key, &uid, d.counter()) else { panic!() };
        assert_eq!(verify(first, &key, &uid, d2.counter()), Verification::Replayed, "older OTP after a newer one");
    }

    #[test]
    fn generated_otps_read_back_and_split() {
        let key = h("c4422890653076cde73d449b191b416a");
        let uid = h("33c69e7f249e");
        let otp = generate("cccjgjgkhcbb", &key, &uid, 7, 3);
        assert_eq!(otp.len(), OTP_CHARS);
        let (public_id, encrypted) = split(&otp).unwrap();
        assert_eq!(public_id, "cccjgjgkhcbb");
        let d = decode(encrypted, &key, &uid).unwrap();
        assert_eq!((d.use_counter, d.session_counter), (7, 3));
    }

    #[test]
    fn modhex_round_trips_and_refuses_other_letters() {
        assert_eq!(modhex_decode("cbdefghijklnrtuv").unwrap(), h("0123456789abcdef"));
        assert_eq!(modhex_encode(&h("0123456789abcdef")), "cbdefghijklnrtuv");
        assert!(modhex_decode("ca").is_none());
        assert!(modhex_decode("c").is_none());
        assert!(!looks_like_otp("123456"));
        assert!(looks_like_otp("cccjgjgkhcbbdvgtiblfkbgturecfllberrvkinnctnn"));
    }
}
