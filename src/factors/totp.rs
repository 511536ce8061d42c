//! TOTP (RFC 6238) for authenticator apps: seeds, the `otpauth://` URI, and verification with
//! ±1 step of drift where the last accepted step only moves forward (no replay, no older step).

use base64::Engine;
use rand::RngExt;
use totp_rs::{Algorithm, Builder, Secret, Totp};
use zeroize::Zeroizing;

use crate::domain::Passcode;

pub const STEP_SECONDS: u64 = 30;
pub const DIGITS: u8 = 6;
/// Steps accepted on either side of the server's current step.
pub const DRIFT_STEPS: u16 = 1;
/// 160 bits: the RFC 4226 recommendation, above NIST's 112-bit floor.
pub const SEED_BYTES: usize = 20;

/// A TOTP seed. `Debug` never prints it; memory is wiped on drop.
pub struct TotpSeed(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for TotpSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSeed(..)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The code matches this time step, which is newer than any accepted before.
    Accepted { step: i64 },
    /// The code matches a step at or before the last accepted one: a replay.
    Replayed,
    /// The code matches no step in the window.
    Wrong,
}

impl TotpSeed {
    pub fn generate() -> Self {
        let bytes: [u8; SEED_BYTES] = rand::rng().random();
        Self(Zeroizing::new(bytes.to_vec()))
    }

    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(Zeroizing::new(bytes.to_vec()))
    }

    /// Reads a base32 key as people and apps write it (spaces and lower case allowed).
    pub fn from_base32(text: &str) -> Option<Self> {
        let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
        let secret = Secret::try_from_base32(clean).ok()?;
        Some(Self(Zeroizing::new(secret.as_ref().to_vec())))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Base32 without padding, in groups of four for people typing it ("Can't scan the QR code?").
    pub fn base32_grouped(&self) -> String {
        let plain = Secret::from(self.0.to_vec()).to_base32();
        let chars: Vec<char> = plain.trim_end_matches('=').chars().collect();
        chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
    }

    fn totp(&self, issuer: Option<&str>, account: &str) -> Totp {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(DRIFT_STEPS)
            .with_step_duration(STEP_SECONDS)
            .with_secret(self.0.to_vec())
            .with_issuer(issuer.map(sanitize_label))
            .with_account_name(sanitize_label(account))
            .build_noncompliant()
    }

    /// `otpauth://totp/Issuer:account?secret=…&issuer=Issuer` (SHA1, 6 digits, 30 s: the parameters
    /// every authenticator app supports).
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> Result<String, totp_rs::TotpError> {
        self.totp(Some(issuer), account).to_url()
    }

    /// The code for `time` (used by tests and by nothing that is shown to users).
    pub fn code_at(&self, time: u64) -> String {
        self.totp(None, "x").generate(time).to_string()
    }

    /// Checks `code` against the server's clock `now` (never a client-supplied time).
    pub fn verify(&self, code: &Passcode, now: u64, last_step: Option<i64>) -> Verification {
        let totp = self.totp(None, "x");
        match totp.check(code.as_str(), now) {
            None => Verification::Wrong,
            Some(counter) => {
                let step = i64::try_from(counter).unwrap_or(i64::MAX);
                match last_step {
                    Some(last) if step <= last => Verification::Replayed,
                    _ => Verification::Accepted { step },
                }
            }
        }
    }
}

/// Hardware TOTP tokens: the same check with the token's own digits (6 or 8) and period (30 or 60 s).
pub fn verify_token(
    seed: &[u8],
    digits: u8,
    period: u64,
    code: &Passcode,
    now: u64,
    last_step: Option<i64>,
) -> Verification {
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(digits)
        .with_skew(DRIFT_STEPS)
        .with_step_duration(period.max(1))
        .with_secret(seed.to_vec())
        .build_noncompliant();
    match totp.check(code.as_str(), now) {
        None => Verification::Wrong,
        Some(counter) => {
            let step = i64::try_from(counter).unwrap_or(i64::MAX);
            match last_step {
                Some(last) if step <= last => Verification::Replayed,
                _ => Verification::Accepted { step },
            }
        }
    }
}

/// `:` separates issuer from account in otpauth labels; replace it rather than fail.
fn sanitize_label(value: &str) -> String {
    value.replace(':', " ")
}

/// The standard SVG QR code of `text`, as a `data:` URI for an `<img>` (no inline script or style).
pub fn qr_svg_data_uri(text: &str) -> Result<String, qrcode::types::QrError> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)?;
    let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(240, 240).quiet_zone(true).build();
    Ok(format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_totp(algorithm: Algorithm, seed: &[u8]) -> Totp {
        Builder::new()
            .with_algorithm(algorithm)
            .with_digits(8)
            .with_step_duration(30)
            .with_secret(seed.to_vec())
            .build_noncompliant()
    }

    /// RFC 6238 Appendix B, with the per-algorithm seeds of the reference code.
    #[test]
    fn rfc6238_vectors_all_match() {
        let sha1 = b"12345678901234567890".to_vec();
        let sha256 = b"12345678901234567890123456789012".to_vec();
        let sha512 = [b"1234567890".repeat(6), b"1234".to_vec()].concat();
        let rows: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (time, s1, s256, s512) in rows {
            assert_eq!(rfc_totp(Algorithm::SHA1, &sha1).generate(time).to_string(), s1, "SHA1 t={time}");
            assert_eq!(rfc_totp(Algorithm::SHA256, &sha256).generate(time).to_string(), s256, "SHA256 t={time}");
            assert_eq!(rfc_totp(Algorithm::SHA512, &sha512).generate(time).to_string(), s512, "SHA512 t={time}");
        }
    }

    #[test]
    fn grouped_base32_reads_back() {
        let seed = TotpSeed::generate();
        let again = TotpSeed::from_base32(&seed.base32_grouped().to_lowercase()).unwrap();
        assert_eq!(seed.as_bytes(), again.as_bytes());
        assert!(TotpSeed::from_base32("not base32 !").is_none());
    }

    #[test]
    fn six_digit_codes_are_the_last_six_digits() {
        let seed = TotpSeed::from_bytes(b"12345678901234567890");
        assert_eq!(seed.code_at(59), "287082");
        assert_eq!(seed.code_at(20000000000), "353130", "64-bit time does not overflow");
    }

    #[test]
    fn the_rfc_seed_has_the_documented_base32_form() {
        let seed = TotpSeed::from_bytes(b"12345678901234567890");
        assert_eq!(seed.base32_grouped().replace(' ', ""), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    fn code(s: &str) -> Passcode {
        Passcode::parse(s).unwrap()
    }

    #[test]
    fn the_current_and_neighbouring_steps_are_accepted() {
        let seed = TotpSeed::generate();
        let now = 1_800_000_015;
        let step = (now / STEP_SECONDS) as i64;
        for (offset, expected) in [(-30i64, step - 1), (0, step), (30, step + 1)] {
            let c = code(&seed.code_at((now as i64 + offset) as u64));
            assert_eq!(seed.verify(&c, now, None), Verification::Accepted { step: expected });
        }
    }

    #[test]
    fn codes_outside_the_drift_window_are_wrong() {
        let seed = TotpSeed::generate();
        let now = 1_800_000_015;
        assert_eq!(seed.verify(&code(&seed.code_at(now - 60)), now, None), Verification::Wrong);
        assert_eq!(seed.verify(&code(&seed.code_at(now + 60)), now, None), Verification::Wrong);
    }

    #[test]
    fn a_code_is_never_accepted_twice() {
        let seed = TotpSeed::generate();
        let now = 1_800_000_015;
        let c = code(&seed.code_at(now));
        let Verification::Accepted { step } = seed.verify(&c, now, None) else { panic!() };
        assert_eq!(seed.verify(&c, now, Some(step)), Verification::Replayed);
    }

    #[test]
    fn an_earlier_step_is_refused_after_a_later_one() {
        let seed = TotpSeed::generate();
        let now = 1_800_000_015;
        let last = (now / STEP_SECONDS) as i64;
        let previous = code(&seed.code_at(now - 30));
        assert_eq!(seed.verify(&previous, now, Some(last)), Verification::Replayed);
    }

    #[test]
    fn token_codes_with_eight_digits_and_a_sixty_second_period_verify() {
        let seed = b"12345678901234567890";
        // RFC 6238 SHA1 at t=59 with a 30 s period is step 1 → 94287082; with 60 s, t=119 is step 1 too.
        assert_eq!(verify_token(seed, 8, 30, &code("94287082"), 59, None), Verification::Accepted { step: 1 });
        assert_eq!(verify_token(seed, 8, 60, &code("94287082"), 119, None), Verification::Accepted { step: 1 });
        assert_eq!(verify_token(seed, 6, 60, &code("287082"), 119, Some(1)), Verification::Replayed);
        assert_eq!(verify_token(seed, 6, 60, &code("287082"), 600, None), Verification::Wrong);
    }

    #[test]
    fn seeds_are_160_bits_and_hidden_in_debug() {
        let seed = TotpSeed::generate();
        assert_eq!(seed.as_bytes().len(), 20);
        assert_eq!(format!("{seed:?}"), "TotpSeed(..)");
    }

    #[test]
    fn otpauth_uri_names_issuer_and_account() {
        let seed = TotpSeed::from_bytes(b"12345678901234567890");
        let uri = seed.otpauth_uri("Example University", "ada").unwrap();
        assert!(uri.starts_with("otpauth://totp/Example%20University:ada?"), "{uri}");
        assert!(uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), "{uri}");
        assert!(uri.contains("issuer=Example%20University"), "{uri}");
    }

    #[test]
    fn qr_code_is_an_svg_data_uri() {
        let uri = qr_svg_data_uri("otpauth://totp/X:y?secret=ABC").unwrap();
        assert!(uri.starts_with("data:image/svg+xml;base64,"));
    }
}
