//! What a RADIUS client (a VPN, a network device) is set up to send, and how the text in its
//! User-Password field names the second factor. Pure: no packets, no I/O.

use super::{InputError, Passcode};

/// How a RADIUS client asks for the second factor (as Duo's Authentication Proxy users know them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `password` (then the default action), or `password,push` / `,phone` / `,sms` /
    /// `,push2` / `,123456`.
    Append,
    /// The password, then an Access-Challenge listing the user's options.
    Challenge,
    /// The VPN checked the password itself; the password field holds only the factor.
    SecondFactorOnly,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Append, Mode::Challenge, Mode::SecondFactorOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Append => "append",
            Mode::Challenge => "challenge",
            Mode::SecondFactorOnly => "second_factor_only",
        }
    }

    /// The console's words for the mode.
    pub fn label(self) -> &'static str {
        match self {
            Mode::Append => "Password and factor in one field (password,push)",
            Mode::Challenge => "Password, then a challenge with the user's options",
            Mode::SecondFactorOnly => "Second factor only (the VPN checks the password)",
        }
    }

    /// True when Twofold checks the password itself.
    pub fn checks_password(self) -> bool {
        self != Mode::SecondFactorOnly
    }

    pub fn parse(text: &str) -> Result<Mode, InputError> {
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str() == text.trim())
            .ok_or_else(|| InputError::new("Choose append, challenge or second_factor_only."))
    }
}

/// The second factor a user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Nothing named: the default action (a push to the default device, else a call).
    Auto,
    /// `push` (1) or `push2` (the second device that can receive pushes), …
    Push(usize),
    /// `phone`, `phone2`: a call.
    Phone(usize),
    /// `sms`, `sms2`: passcodes by text (the user signs in again with one).
    Sms(usize),
    Passcode(Passcode),
}

impl Choice {
    /// A factor as typed after the separator (or alone): a name, or a passcode of 6 to 10 digits
    /// (a Yubico OTP too). `None` when the text names no factor.
    pub fn parse(text: &str) -> Option<Choice> {
        let text = text.trim();
        let lower = text.to_ascii_lowercase();
        let named = |name: &str| -> Option<usize> {
            let rest = lower.strip_prefix(name)?;
            match rest {
                "" => Some(1),
                n if n.len() == 1 => n.parse::<usize>().ok().filter(|n| *n >= 1),
                _ => None,
            }
        };
        if let Some(n) = named("push") {
            return Some(Choice::Push(n));
        }
        if let Some(n) = named("phone") {
            return Some(Choice::Phone(n));
        }
        if let Some(n) = named("sms") {
            return Some(Choice::Sms(n));
        }
        if lower == "auto" {
            return Some(Choice::Auto);
        }
        let compact: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = compact.chars().all(|c| c.is_ascii_digit());
        if digits || super::modhex::looks_like_otp(&compact) {
            return Passcode::parse(text).ok().map(Choice::Passcode);
        }
        None
    }

    /// The method's name in the audit log and in messages.
    pub fn name(&self) -> &'static str {
        match self {
            Choice::Auto => "auto",
            Choice::Push(_) => "push",
            Choice::Phone(_) => "phone",
            Choice::Sms(_) => "sms",
            Choice::Passcode(_) => "passcode",
        }
    }
}

/// Append mode: splits `typed` at the last `separator` when what follows names a factor
/// (`secret,push`, `secret,123456`); otherwise the whole text is the password and the factor is
/// the default action. A password containing the separator still works with a factor appended.
pub fn split_append<'a>(typed: &'a str, separator: &str) -> (&'a str, Choice) {
    if let Some((password, factor)) = typed.rsplit_once(separator)
        && let Some(choice) = Choice::parse(factor)
    {
        return (password, choice);
    }
    (typed, Choice::Auto)
}

/// Second-factor-only mode: the whole field is the factor; an empty one means the default action.
pub fn second_factor(typed: &str) -> Option<Choice> {
    if typed.trim().is_empty() { Some(Choice::Auto) } else { Choice::parse(typed) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passcode(code: &str) -> Choice {
        Choice::Passcode(Passcode::parse(code).unwrap())
    }

    #[test]
    fn append_mode_splits_at_the_last_separator_only_for_a_factor() {
        assert_eq!(split_append("hunter2", ","), ("hunter2", Choice::Auto));
        assert_eq!(split_append("hunter2,push", ","), ("hunter2", Choice::Push(1)));
        assert_eq!(split_append("hunter2,PUSH2", ","), ("hunter2", Choice::Push(2)));
        assert_eq!(split_append("hunter2,phone", ","), ("hunter2", Choice::Phone(1)));
        assert_eq!(split_append("hunter2,sms", ","), ("hunter2", Choice::Sms(1)));
        assert_eq!(split_append("hunter2,123456", ","), ("hunter2", passcode("123456")));
        assert_eq!(split_append("hunter2,123456789", ","), ("hunter2", passcode("123456789")));
        // A password with the separator in it, with and without a factor after it.
        assert_eq!(split_append("a,b,c,push", ","), ("a,b,c", Choice::Push(1)));
        assert_eq!(split_append("a,b,c", ","), ("a,b,c", Choice::Auto));
        assert_eq!(split_append("secret,12345", ","), ("secret,12345", Choice::Auto), "too short for a passcode");
        assert_eq!(split_append("secret,pushy", ","), ("secret,pushy", Choice::Auto));
        assert_eq!(split_append("secret|push", "|"), ("secret", Choice::Push(1)));
        assert_eq!(split_append(",push", ","), ("", Choice::Push(1)));
    }

    #[test]
    fn second_factor_only_reads_the_whole_field() {
        assert_eq!(second_factor(""), Some(Choice::Auto));
        assert_eq!(second_factor("push"), Some(Choice::Push(1)));
        assert_eq!(second_factor(" 123 456 "), Some(passcode("123456")));
        assert_eq!(second_factor("hunter2"), None);
        assert_eq!(second_factor("push0"), None);
        assert_eq!(second_factor("push10"), None);
    }

    #[test]
    fn modes_parse_from_their_names() {
        for mode in Mode::ALL {
            assert_eq!(Mode::parse(mode.as_str()).unwrap(), mode);
        }
        assert!(Mode::parse("chap").is_err());
        assert!(!Mode::SecondFactorOnly.checks_password());
    }
}
