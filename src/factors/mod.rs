//! Second-factor methods, one module each. Pure: they take the current time and stored state,
//! and say what to store next; the store makes that change single-use.

pub mod codes;
pub mod hotp;
pub mod push;
pub mod totp;
pub mod webauthn;
pub mod yubico_otp;
