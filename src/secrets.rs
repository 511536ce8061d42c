//! The master key, which only wraps the data key, and what is derived from the data key: sealing
//! secrets at rest (AES-256-GCM), keyed hashes of tokens and codes (HMAC-SHA-256), the cookie key.

use std::fs;
use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngExt;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

const KEY_FILE: &str = "master.key";
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("master key: {0}")]
    Invalid(String),
    #[error("master key file {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// The 32-byte master key. Never stored in the database; `Debug` never prints it.
pub struct MasterKey {
    bytes: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let raw =
            Zeroizing::new(STANDARD.decode(text.trim()).map_err(|_| KeyError::Invalid("not valid base64".into()))?);
        let bytes: [u8; 32] =
            raw.as_slice().try_into().map_err(|_| KeyError::Invalid(format!("must be 32 bytes, got {}", raw.len())))?;
        Ok(Self { bytes: Zeroizing::new(bytes) })
    }

    pub fn generate() -> Self {
        Self { bytes: Zeroizing::new(rand::rng().random()) }
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes.as_slice())
    }

    /// Reads `dir/master.key`, creating it (mode 0600) when it does not exist yet.
    pub fn load_or_create(dir: &Path) -> Result<Self, KeyError> {
        let path = dir.join(KEY_FILE);
        let io = |source| KeyError::Io { path: path.display().to_string(), source };
        match fs::read_to_string(&path) {
            Ok(text) => Self::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(dir).map_err(io)?;
                let key = Self::generate();
                key.write_new_file(&path)?;
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Writes the key (base64) to a file that must not exist yet, readable by its owner only.
    pub fn write_new_file(&self, path: &Path) -> Result<(), KeyError> {
        let io = |source| KeyError::Io { path: path.display().to_string(), source };
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io)?;
        file.write_all(self.to_base64().as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)
    }

    /// The data key encrypted under this master key, for the `data_key` row of `meta`.
    pub fn wrap(&self, data: &DataKey) -> Result<String, SealError> {
        seal_with(&self.wrapping_cipher(), WRAP_CONTEXT, data.bytes.as_slice())
    }

    /// The data key from its wrapped form; fails for another master key or a changed value.
    pub fn unwrap(&self, wrapped: &str) -> Result<DataKey, OpenError> {
        let plain = open_with(&self.wrapping_cipher(), WRAP_CONTEXT, wrapped)?;
        let bytes: [u8; 32] = plain.as_slice().try_into().map_err(|_| OpenError)?;
        Ok(DataKey { bytes: Zeroizing::new(bytes) })
    }

    fn wrapping_cipher(&self) -> Aes256Gcm {
        let key = Zeroizing::new(derive(&self.bytes, "wrap/data-key/aes-256-gcm/v1"));
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(*first_32(&key)))
    }
}

/// The 32-byte key every working key is derived from. It lives in the database wrapped by the
/// master key, so replacing the master key re-wraps 32 bytes instead of re-sealing every secret.
pub struct DataKey {
    bytes: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

impl DataKey {
    pub fn generate() -> Self {
        Self { bytes: Zeroizing::new(rand::rng().random()) }
    }

    /// The data key of a database from before envelope encryption, whose keys were derived from
    /// the master key itself: adopting those bytes keeps every sealed value and keyed hash valid.
    pub fn from_master(master: &MasterKey) -> Self {
        Self { bytes: master.bytes.clone() }
    }

    /// True when both are the same key (compared in constant time).
    pub fn same_as(&self, other: &DataKey) -> bool {
        self.bytes.as_slice().ct_eq(other.bytes.as_slice()).into()
    }
}

/// Associated data of a wrapped data key: a sealed value from any other row does not pass for one.
const WRAP_CONTEXT: &str = "twofold data key v1";

fn derive(key: &[u8; 32], purpose: &str) -> [u8; 64] {
    // The 32-byte key zero-padded to SHA-512's 128-byte block: what HMAC does with a short
    // key anyway, through the constructor that cannot fail.
    let mut padded = Zeroizing::new([0u8; 128]);
    padded[..32].copy_from_slice(key);
    let mut mac = <Hmac<Sha512> as KeyInit>::new(&(*padded).into());
    mac.update(b"twofold/");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

fn seal_with(cipher: &Aes256Gcm, context: &str, plaintext: &[u8]) -> Result<String, SealError> {
    let nonce_bytes: [u8; NONCE_LEN] = rand::rng().random();
    let nonce = Nonce::from(nonce_bytes);
    let ciphertext =
        cipher.encrypt(&nonce, Payload { msg: plaintext, aad: context.as_bytes() }).map_err(|_| SealError)?;
    let mut out = nonce_bytes.to_vec();
    out.extend_from_slice(&ciphertext);
    Ok(STANDARD.encode(out))
}

fn open_with(cipher: &Aes256Gcm, context: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    let raw = STANDARD.decode(sealed).map_err(|_| OpenError)?;
    if raw.len() < NONCE_LEN + 16 {
        return Err(OpenError);
    }
    let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
    cipher
        .decrypt(&Nonce::try_from(nonce).map_err(|_| OpenError)?, Payload { msg: ciphertext, aad: context.as_bytes() })
        .map(Zeroizing::new)
        .map_err(|_| OpenError)
}

fn first_32(bytes: &[u8; 64]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&bytes[..32]);
    out
}

/// Everything the running server needs, derived from the data key.
#[derive(Clone)]
pub struct Keys {
    seal: Aes256Gcm,
    token_hash: Zeroizing<[u8; 64]>,
    cookie: Zeroizing<[u8; 64]>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("sealed value could not be opened (wrong key or tampered data)")]
pub struct OpenError;

#[derive(Debug, thiserror::Error)]
#[error("value could not be sealed")]
pub struct SealError;

impl Keys {
    pub fn new(data: &DataKey) -> Self {
        let seal_key = Zeroizing::new(derive(&data.bytes, "seal/aes-256-gcm/v1"));
        let hash_key = Zeroizing::new(derive(&data.bytes, "token-hash/hmac-sha256/v1"));
        // HMAC pads a key shorter than the hash's block to the block size with zeros; padding it
        // here gives the same MACs and lets `hash_token` use the infallible fixed-size constructor.
        let mut token_hash = Zeroizing::new([0u8; 64]);
        token_hash[..32].copy_from_slice(&hash_key[..32]);
        Self {
            seal: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*first_32(&seal_key))),
            token_hash,
            cookie: Zeroizing::new(derive(&data.bytes, "session-cookie/v1")),
        }
    }

    /// Encrypts `plaintext`; `context` is bound as associated data, so a sealed value copied to
    /// another row (another user, another purpose) does not open.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, SealError> {
        seal_with(&self.seal, context, plaintext)
    }

    pub fn open(&self, context: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        open_with(&self.seal, context, sealed)
    }

    /// Keyed hash used to store tokens and codes: the database alone cannot confirm a guess.
    pub fn hash_token(&self, token: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&(*self.token_hash).into());
        mac.update(token.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Keyed hash of an identity fact, bound to the user (the same date of birth gives different
    /// stored values for different people, so equal facts cannot be spotted across users).
    pub fn hash_fact(&self, user_id: &str, fact: &str, value: &str) -> String {
        self.hash_token(&format!("identity-fact:{user_id}:{fact}:{value}"))
    }

    /// 64 bytes for signing the session cookie.
    pub fn cookie_key(&self) -> &[u8; 64] {
        &self.cookie
    }
}

/// A fresh random token of 32 bytes (256 bits), URL-safe.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh random identifier for database rows (128 bits, hex).
pub fn new_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time equality of two strings (length may leak; contents do not).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let keys = Keys::new(&DataKey::generate());
        let sealed = keys.seal("totp:u1", b"secret seed").unwrap();
        assert_eq!(keys.open("totp:u1", &sealed).unwrap().as_slice(), b"secret seed");
        assert!(keys.open("totp:u2", &sealed).is_err(), "context is bound");
        let other = Keys::new(&DataKey::generate());
        assert!(other.open("totp:u1", &sealed).is_err(), "another key does not open it");
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let keys = Keys::new(&DataKey::generate());
        assert_ne!(keys.seal("c", b"x").unwrap(), keys.seal("c", b"x").unwrap());
    }

    #[test]
    fn tampered_ciphertext_is_rejected() {
        let keys = Keys::new(&DataKey::generate());
        let mut raw = STANDARD.decode(keys.seal("c", b"seed").unwrap()).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert!(keys.open("c", &STANDARD.encode(raw)).is_err());
        assert!(keys.open("c", "not base64!").is_err());
        assert!(keys.open("c", "").is_err());
    }

    #[test]
    fn master_key_round_trips_and_rejects_bad_lengths() {
        let key = MasterKey::generate();
        let again = MasterKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(key.bytes.as_slice(), again.bytes.as_slice());
        assert!(MasterKey::from_base64(&STANDARD.encode([0u8; 16])).is_err());
        assert!(MasterKey::from_base64("%%%").is_err());
        assert_eq!(format!("{key:?}"), "MasterKey(..)");
    }

    #[test]
    fn master_key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = MasterKey::load_or_create(dir.path()).unwrap();
        let second = MasterKey::load_or_create(dir.path()).unwrap();
        assert_eq!(first.to_base64(), second.to_base64());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn random_tokens_do_not_repeat() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..100_000 {
            assert!(seen.insert(random_token()));
        }
        assert_eq!(random_token().len(), 43, "32 bytes in unpadded base64");
    }

    #[test]
    fn token_hashes_are_keyed() {
        let a = Keys::new(&DataKey::generate());
        let b = Keys::new(&DataKey::generate());
        assert_eq!(a.hash_token("t"), a.hash_token("t"));
        assert_ne!(a.hash_token("t"), b.hash_token("t"));
    }

    #[test]
    fn a_wrapped_data_key_opens_only_with_its_master_key() {
        let (master, other) = (MasterKey::generate(), MasterKey::generate());
        let data = DataKey::generate();
        let wrapped = master.wrap(&data).unwrap();
        assert!(master.unwrap(&wrapped).unwrap().same_as(&data));
        assert!(other.unwrap(&wrapped).is_err(), "another master key does not unwrap it");
        assert!(!wrapped.contains(&STANDARD.encode(data.bytes.as_slice())), "the data key is not in the clear");
        assert_ne!(master.wrap(&data).unwrap(), wrapped, "a fresh nonce each time");
        let mut raw = STANDARD.decode(&wrapped).unwrap();
        raw[20] ^= 1;
        assert!(master.unwrap(&STANDARD.encode(raw)).is_err(), "tampering is detected");
        let sealed_elsewhere = Keys::new(&DataKey::from_master(&master)).seal(WRAP_CONTEXT, &[0; 32]).unwrap();
        assert!(master.unwrap(&sealed_elsewhere).is_err(), "the wrapping key is not the sealing key");
        assert_eq!(format!("{data:?}"), "DataKey(..)");
    }

    #[test]
    fn rewrapping_under_a_new_master_key_keeps_every_derived_key() {
        let (old, new) = (MasterKey::generate(), MasterKey::generate());
        let data = old.unwrap(&old.wrap(&DataKey::generate()).unwrap()).unwrap();
        let before = Keys::new(&data);
        let sealed = before.seal("totp:u1", b"seed").unwrap();
        let rewrapped = new.wrap(&data).unwrap();
        let after = Keys::new(&new.unwrap(&rewrapped).unwrap());
        assert_eq!(after.open("totp:u1", &sealed).unwrap().as_slice(), b"seed");
        assert_eq!(after.hash_token("code"), before.hash_token("code"));
        assert_eq!(after.cookie_key(), before.cookie_key());
        assert!(old.unwrap(&rewrapped).is_err(), "the old master key no longer unwraps it");
    }

    #[test]
    fn a_pre_envelope_master_key_as_data_key_gives_the_keys_it_always_gave() {
        // Known answer computed with the derivation of releases before envelope encryption
        // (HMAC-SHA-512 of the master key itself), so adopted databases keep every keyed hash.
        let master = MasterKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        let keys = Keys::new(&DataKey::from_master(&master));
        assert_eq!(keys.hash_token("ada"), "-CeGViGUe5Tf-O3yM--GkhNWLhjp8nZIy9QU8fYf6AU");
    }

    #[test]
    fn a_new_master_key_file_is_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.key");
        let key = MasterKey::generate();
        key.write_new_file(&path).unwrap();
        assert!(MasterKey::from_base64(&fs::read_to_string(&path).unwrap()).unwrap().to_base64() == key.to_base64());
        assert!(MasterKey::generate().write_new_file(&path).is_err(), "an existing file is kept");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
