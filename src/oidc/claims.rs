//! What Twofold reads from a verified ID token: the username, display name, email and groups,
//! from the claims each provider is configured to use. Pure: no I/O, unit-tested here.

use serde_json::{Map, Value};

use crate::config::OidcProvider;
use crate::domain::{DisplayName, Email, Username};

/// A signed-in person as the provider describes them (after the token was verified).
#[derive(Debug, Clone)]
pub struct Identity {
    /// The provider's stable id for the person (`sub`); never reassigned to someone else.
    pub subject: String,
    pub claims: Map<String, Value>,
}

/// Why the claims cannot sign anyone in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimsProblem {
    /// The username claim is missing or not a valid Twofold username.
    NoUsername,
    /// The groups claim lists none of the allowed groups.
    NotInAllowedGroup,
}

/// A claim as text: strings as they are, other scalars are not usernames.
fn text(claims: &Map<String, Value>, name: &str) -> Option<String> {
    match claims.get(name)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    }
}

impl Identity {
    /// The Twofold username from the configured claim, normalised like typed usernames.
    /// `sub` may be configured as the username claim too.
    pub fn username(&self, provider: &OidcProvider) -> Result<Username, ClaimsProblem> {
        let raw = if provider.username_claim == "sub" {
            Some(self.subject.clone())
        } else {
            text(&self.claims, &provider.username_claim)
        };
        raw.and_then(|r| Username::parse(&r).ok()).ok_or(ClaimsProblem::NoUsername)
    }

    pub fn display_name(&self, provider: &OidcProvider) -> Option<DisplayName> {
        text(&self.claims, &provider.display_name_claim).and_then(|n| DisplayName::parse(&n).ok())
    }

    pub fn email(&self, provider: &OidcProvider) -> Option<Email> {
        text(&self.claims, &provider.email_claim).and_then(|e| Email::parse(&e).ok())
    }

    /// The groups listed in the configured claim (an array of strings, or one string).
    pub fn groups(&self, provider: &OidcProvider) -> Vec<String> {
        let Some(claim) = &provider.groups_claim else { return Vec::new() };
        match self.claims.get(claim) {
            Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }

    /// Checks everything the configuration asks of the claims; gives the username to sign in.
    pub fn check(&self, provider: &OidcProvider) -> Result<Username, ClaimsProblem> {
        let username = self.username(provider)?;
        if !provider.allowed_groups.is_empty() {
            let groups = self.groups(provider);
            if !groups.iter().any(|g| provider.allowed_groups.contains(g)) {
                return Err(ClaimsProblem::NotInAllowedGroup);
            }
        }
        Ok(username)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn provider() -> OidcProvider {
        let toml = r#"
            id = "um"
            name = "UM"
            issuer = "https://login.example.edu"
            client_id = "twofold"
        "#;
        use figment::providers::Format;
        figment::Figment::from(figment::providers::Toml::string(toml)).extract().unwrap()
    }

    fn identity(claims: Value) -> Identity {
        Identity { subject: "sub-1".into(), claims: claims.as_object().unwrap().clone() }
    }

    #[test]
    fn the_username_is_normalised_like_a_typed_one() {
        let id = identity(json!({"preferred_username": "  Alice.Smith ", "name": "Alice Smith"}));
        assert_eq!(id.check(&provider()).unwrap().as_str(), "alice.smith");
        assert_eq!(id.display_name(&provider()).unwrap().as_str(), "Alice Smith");
    }

    #[test]
    fn a_missing_or_unusable_username_claim_signs_nobody_in() {
        assert_eq!(identity(json!({})).check(&provider()), Err(ClaimsProblem::NoUsername));
        assert_eq!(identity(json!({"preferred_username": 42})).check(&provider()), Err(ClaimsProblem::NoUsername));
        let bad = identity(json!({"preferred_username": "alice<script>"}));
        assert_eq!(bad.check(&provider()), Err(ClaimsProblem::NoUsername));
    }

    #[test]
    fn another_claim_or_the_subject_can_be_the_username() {
        let mut p = provider();
        p.username_claim = "upn".into();
        assert_eq!(identity(json!({"upn": "bob@example.edu"})).check(&p).unwrap().as_str(), "bob@example.edu");
        p.username_claim = "sub".into();
        assert_eq!(identity(json!({})).check(&p).unwrap().as_str(), "sub-1");
    }

    #[test]
    fn allowed_groups_need_a_matching_group() {
        let mut p = provider();
        p.groups_claim = Some("groups".into());
        p.allowed_groups = vec!["staff".into(), "students".into()];
        let member = identity(json!({"preferred_username": "a", "groups": ["library", "staff"]}));
        assert!(member.check(&p).is_ok());
        let single = identity(json!({"preferred_username": "a", "groups": "students"}));
        assert!(single.check(&p).is_ok());
        let outsider = identity(json!({"preferred_username": "a", "groups": ["alumni"]}));
        assert_eq!(outsider.check(&p), Err(ClaimsProblem::NotInAllowedGroup));
        let none = identity(json!({"preferred_username": "a"}));
        assert_eq!(none.check(&p), Err(ClaimsProblem::NotInAllowedGroup));
    }

    #[test]
    fn an_invalid_email_is_left_out() {
        let id = identity(json!({"email": "not an email"}));
        assert!(id.email(&provider()).is_none());
        assert_eq!(identity(json!({"email": "a@example.edu"})).email(&provider()).unwrap().as_str(), "a@example.edu");
    }
}
