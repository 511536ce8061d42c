//! Where to send someone back to after a step (e.g. the prompt before "My Settings & Devices").
//! Only a plain same-origin path is accepted: never a scheme, a host or a protocol-relative URL.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnPath(String);

impl ReturnPath {
    pub fn parse(input: &str) -> Option<Self> {
        let ok = input.starts_with('/')
            && !input.starts_with("//")
            && input.len() <= 200
            && !input.contains("..")
            && input.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'));
        ok.then(|| Self(input.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::ReturnPath;

    #[test]
    fn plain_paths_are_kept() {
        for ok in ["/settings", "/settings/devices/ab12", "/enroll/device-type"] {
            assert_eq!(ReturnPath::parse(ok).unwrap().as_str(), ok);
        }
    }

    /// SECURITY.md T34: open redirects in all their spellings.
    #[test]
    fn other_origins_and_tricks_are_refused() {
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "/%2F%2Fevil.example",
            "%2F%2Fevil.example",
            "/settings?next=//evil",
            "/../etc",
            "settings",
            "",
            "/ settings",
            "/\tsettings",
            "/settings\r\nLocation: //evil",
        ] {
            assert!(ReturnPath::parse(bad).is_none(), "{bad:?} must be refused");
        }
    }
}
