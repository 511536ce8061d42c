//! HOTP (RFC 4226) for hardware tokens: codes for a counter, a look-ahead window, resynchronisation
//! with two consecutive codes, and replay refusal. The stored counter only moves forward (the store's
//! conditional UPDATE); this module only says which counter a code matched.

use totp_rs::{Algorithm, Builder, Totp};
use zeroize::Zeroizing;

use crate::domain::Passcode;
use crate::secrets::constant_time_eq;

/// An HOTP seed with its digit count. `Debug` never prints it; memory is wiped on drop.
pub struct HotpSeed {
    secret: Zeroizing<Vec<u8>>,
    digits: u8,
}

impl std::fmt::Debug for HotpSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HotpSeed({} digits, ..)", self.digits)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The code matches `counter` (at or after the next expected one): store `counter + 1`.
    Accepted {
        counter: u64,
    },
    /// The code matches a counter already used (within a window behind the next expected one).
    Replayed,
    Wrong,
}

impl HotpSeed {
    pub fn new(secret: &[u8], digits: u8) -> Self {
        Self { secret: Zeroizing::new(secret.to_vec()), digits }
    }

    /// HOTP is TOTP with a one-second step read at "time" = counter (RFC 6238 §4 defines TOTP as
    /// HOTP(K, floor(t / X))), so totp-rs computes it: no second HMAC implementation here.
    fn engine(&self) -> Totp {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(self.digits)
            .with_skew(0)
            .with_step_duration(1)
            .with_secret(self.secret.to_vec())
            .build_noncompliant()
    }

    /// The code for `counter`.
    pub fn code_at(&self, counter: u64) -> String {
        self.engine().generate(counter).to_string()
    }

    /// The first counter in `from..from + window` whose code is `code` (compared in constant time,
    /// and every counter in the window is computed so timing says nothing about where it matched).
    fn find(&self, engine: &Totp, code: &str, from: u64, window: u64) -> Option<u64> {
        let mut found = None;
        for counter in from..from.saturating_add(window) {
            if constant_time_eq(&engine.generate(counter).to_string(), code) && found.is_none() {
                found = Some(counter);
            }
        }
        found
    }

    /// Checks `code` against counters `next..next + window`, where `next` is the first unused counter.
    pub fn verify(&self, code: &Passcode, next: u64, window: u64) -> Verification {
        let engine = self.engine();
        if let Some(counter) = self.find(&engine, code.as_str(), next, window) {
            return Verification::Accepted { counter };
        }
        let behind = next.saturating_sub(window);
        if self.find(&engine, code.as_str(), behind, next - behind).is_some() {
            return Verification::Replayed;
        }
        Verification::Wrong
    }

    /// Resynchronisation: two codes typed one after the other must match consecutive counters
    /// `c, c + 1` within `next..next + window`. Gives the counter of the second code.
    pub fn resync(&self, first: &Passcode, second: &Passcode, next: u64, window: u64) -> Option<u64> {
        let engine = self.engine();
        let mut found = None;
        for counter in next..next.saturating_add(window) {
            let a = constant_time_eq(&engine.generate(counter).to_string(), first.as_str());
            let b = constant_time_eq(&engine.generate(counter.saturating_add(1)).to_string(), second.as_str());
            if a && b && found.is_none() {
                found = Some(counter + 1);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    fn code(s: &str) -> Passcode {
        Passcode::parse(s).unwrap()
    }

    /// RFC 4226 Appendix D (T01), and the 8-digit values of the same HMACs.
    #[test]
    fn rfc4226_appendix_d_values_all_match() {
        let six = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
        let eight = [
            "84755224", "94287082", "37359152", "26969429", "40338314", "68254676", "18287922", "82162583", "73399871",
            "45520489",
        ];
        let (s6, s8) = (HotpSeed::new(RFC_SECRET, 6), HotpSeed::new(RFC_SECRET, 8));
        for counter in 0..10u64 {
            assert_eq!(s6.code_at(counter), six[counter as usize], "6 digits, counter {counter}");
            assert_eq!(s8.code_at(counter), eight[counter as usize], "8 digits, counter {counter}");
        }
    }

    #[test]
    fn codes_inside_the_look_ahead_window_are_accepted() {
        let seed = HotpSeed::new(RFC_SECRET, 6);
        assert_eq!(seed.verify(&code("755224"), 0, 10), Verification::Accepted { counter: 0 });
        assert_eq!(seed.verify(&code("520489"), 0, 10), Verification::Accepted { counter: 9 });
        assert_eq!(seed.verify(&code("520489"), 0, 9), Verification::Wrong, "counter 9 is outside a window of 9");
    }

    #[test]
    fn a_used_counter_is_a_replay() {
        let seed = HotpSeed::new(RFC_SECRET, 6);
        // Counter 3 was accepted, so 4 is next: 3 and below are replays.
        assert_eq!(seed.verify(&code("969429"), 4, 10), Verification::Replayed);
        assert_eq!(seed.verify(&code("755224"), 4, 10), Verification::Replayed);
        assert_eq!(seed.verify(&code("338314"), 4, 10), Verification::Accepted { counter: 4 });
        assert_eq!(seed.verify(&code("000000"), 4, 10), Verification::Wrong);
    }

    #[test]
    fn resynchronisation_needs_two_consecutive_codes() {
        let seed = HotpSeed::new(RFC_SECRET, 6);
        let (c50, c51, c52) = (seed.code_at(50), seed.code_at(51), seed.code_at(52));
        assert_eq!(seed.verify(&code(&c50), 0, 10), Verification::Wrong, "far ahead: not in the normal window");
        assert_eq!(seed.resync(&code(&c50), &code(&c51), 0, 100), Some(51));
        assert_eq!(seed.resync(&code(&c50), &code(&c52), 0, 100), None, "not consecutive");
        assert_eq!(seed.resync(&code(&c51), &code(&c50), 0, 100), None, "wrong order");
        assert_eq!(seed.resync(&code(&c50), &code(&c51), 0, 40), None, "outside the resync window");
        assert_eq!(seed.resync(&code(&c50), &code(&c51), 51, 100), None, "already used");
    }

    #[test]
    fn debug_hides_the_seed() {
        assert_eq!(format!("{:?}", HotpSeed::new(RFC_SECRET, 6)), "HotpSeed(6 digits, ..)");
    }
}
