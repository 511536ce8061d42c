//! A passcode as typed at the prompt or in the wizard: digits only, spaces and dashes ignored.

use super::InputError;

#[derive(Clone, PartialEq, Eq)]
pub struct Passcode(String);

impl std::fmt::Debug for Passcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passcode(..)")
    }
}

impl Passcode {
    /// 6 to 10 ASCII digits after removing spaces and dashes (people copy "123 456").
    pub fn parse(input: &str) -> Result<Self, InputError> {
        let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        // A YubiKey types 32 to 64 modhex letters (a Yubico OTP); checked as such at the prompt.
        if super::modhex::looks_like_otp(&digits) {
            return Ok(Self(digits));
        }
        if digits.is_empty() {
            return Err(InputError::new("Enter the passcode from your app."));
        }
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(InputError::new("A passcode contains only digits. Enter the number shown in your app."));
        }
        if !(6..=10).contains(&digits.len()) {
            return Err(InputError::new(
                "That passcode has the wrong number of digits. Enter the 6-digit code shown in your app.",
            ));
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_and_dashes_are_ignored() {
        assert_eq!(Passcode::parse(" 123 456 ").unwrap().as_str(), "123456");
        assert_eq!(Passcode::parse("123-456").unwrap().as_str(), "123456");
    }

    #[test]
    fn letters_unicode_digits_and_wrong_lengths_are_rejected() {
        for bad in ["", "12345", "abcdef", "１２３４５６", "12345678901", "12345x"] {
            assert!(Passcode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn yubico_otps_are_accepted_as_typed() {
        let otp = "cccjgjgkhcbbdvgtiblfkbgturecfllberrvkinnctnn";
        assert_eq!(Passcode::parse(otp).unwrap().as_str(), otp);
        assert!(Passcode::parse("cccjgjgkhcbb").is_err(), "too short for an OTP");
    }

    #[test]
    fn debug_hides_the_code() {
        assert_eq!(format!("{:?}", Passcode::parse("123456").unwrap()), "Passcode(..)");
    }
}
