//! Why a directory refused a password (pure): Active Directory's bind diagnostics
//! (`… data 52e …`) and OpenLDAP's password-policy response control (ppolicy), each mapped to one
//! of a few answers the doors put in words (`words::directory_refusal`).

/// The OID of the password-policy control (draft-behera-ldap-password-policy), asked for with
/// every user bind and read from its answer.
pub const PPOLICY_OID: &str = "1.3.6.1.4.1.42.2.27.8.5.1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Wrong password (or no such user): the same answer as for a local account.
    WrongPassword,
    /// The password has expired (AD 532, ppolicy passwordExpired).
    PasswordExpired,
    /// The password must be changed first (AD 773, ppolicy changeAfterReset).
    MustChangePassword,
    /// The account is disabled (AD 533) or has expired (AD 701).
    Disabled,
    /// Locked after too many wrong passwords (AD 775, ppolicy accountLocked).
    Locked,
}

impl Refusal {
    /// For the audit log.
    pub fn describe(self) -> &'static str {
        match self {
            Refusal::WrongPassword => "wrong username or password",
            Refusal::PasswordExpired => "directory: password expired",
            Refusal::MustChangePassword => "directory: password must be changed",
            Refusal::Disabled => "directory: account disabled",
            Refusal::Locked => "directory: account locked",
        }
    }
}

/// A bind's result code, diagnostic message and ppolicy control value → `None` when it succeeded
/// and nothing stands in the way.
pub fn of_bind(rc: u32, message: &str, ppolicy: Option<&[u8]>) -> Option<Refusal> {
    if let Some(refusal) = ppolicy.and_then(ppolicy_error) {
        return Some(refusal);
    }
    match rc {
        0 => None,
        49 => Some(ad_data(message).unwrap_or(Refusal::WrongPassword)),
        // 53 unwillingToPerform: some servers answer a disabled account so.
        53 => Some(Refusal::Disabled),
        _ => Some(Refusal::WrongPassword),
    }
}

/// AD's `AcceptSecurityContext error, data 52e, v4563`: the sub-code after "data".
fn ad_data(message: &str) -> Option<Refusal> {
    let lower = message.to_ascii_lowercase();
    let rest = &lower[lower.find("data ")? + 5..];
    let code: String = rest.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
    Some(match code.as_str() {
        "52e" | "525" => Refusal::WrongPassword,
        "532" => Refusal::PasswordExpired,
        "773" => Refusal::MustChangePassword,
        "533" | "701" => Refusal::Disabled,
        "775" => Refusal::Locked,
        _ => return None,
    })
}

/// The `error` of a PasswordPolicyResponseValue:
/// `SEQUENCE { warning [0] CHOICE {…} OPTIONAL, error [1] ENUMERATED OPTIONAL }`.
pub fn ppolicy_error(value: &[u8]) -> Option<Refusal> {
    let (tag, body, _) = tlv(value)?;
    if tag != 0x30 {
        return None;
    }
    let mut rest = body;
    while !rest.is_empty() {
        let (tag, content, next) = tlv(rest)?;
        if tag == 0x81 {
            let code = content.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b));
            return match code {
                0 => Some(Refusal::PasswordExpired),
                1 => Some(Refusal::Locked),
                2 => Some(Refusal::MustChangePassword),
                _ => None,
            };
        }
        rest = next;
    }
    None
}

/// One BER tag-length-value: (tag, content, what follows). Short and long definite lengths.
fn tlv(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |l, b| (l << 8) | usize::from(*b));
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_directory_sub_codes_are_told_apart() {
        let ad = |data: &str| {
            of_bind(
                49,
                &format!("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data {data}, v4563"),
                None,
            )
        };
        assert_eq!(ad("52e"), Some(Refusal::WrongPassword));
        assert_eq!(ad("532"), Some(Refusal::PasswordExpired));
        assert_eq!(ad("533"), Some(Refusal::Disabled));
        assert_eq!(ad("701"), Some(Refusal::Disabled));
        assert_eq!(ad("773"), Some(Refusal::MustChangePassword));
        assert_eq!(ad("775"), Some(Refusal::Locked));
        assert_eq!(ad("999"), Some(Refusal::WrongPassword));
        assert_eq!(of_bind(49, "", None), Some(Refusal::WrongPassword));
        assert_eq!(of_bind(0, "", None), None);
    }

    #[test]
    fn the_password_policy_control_is_read() {
        // error [1] = passwordExpired(0), accountLocked(1), changeAfterReset(2).
        assert_eq!(of_bind(49, "", Some(&[0x30, 0x03, 0x81, 0x01, 0x00])), Some(Refusal::PasswordExpired));
        assert_eq!(of_bind(49, "", Some(&[0x30, 0x03, 0x81, 0x01, 0x01])), Some(Refusal::Locked));
        assert_eq!(of_bind(0, "", Some(&[0x30, 0x03, 0x81, 0x01, 0x02])), Some(Refusal::MustChangePassword));
        // A warning only ([0] timeBeforeExpiration 100): the bind stands.
        assert_eq!(of_bind(0, "", Some(&[0x30, 0x05, 0xa0, 0x03, 0x80, 0x01, 0x64])), None);
        assert_eq!(ppolicy_error(&[0x30, 0x7f]), None);
        assert_eq!(ppolicy_error(&[]), None);
    }
}
