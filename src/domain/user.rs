//! Account fields: username, email, display name, password and role.
//! Limits keep stored values small and printable; parsing trims what people add by accident.

use super::InputError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Lower-case letters, digits and `.`, `_`, `-`, `@`; 1–64 characters; case-insensitive.
    pub fn parse(input: &str) -> Result<Self, InputError> {
        let value = input.trim().to_lowercase();
        if value.is_empty() {
            return Err(InputError::new("Enter a username."));
        }
        if value.chars().count() > 64 {
            return Err(InputError::new("A username can be at most 64 characters."));
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@');
        if !value.chars().all(allowed) {
            return Err(InputError::new("A username can contain only letters, digits and the characters . _ - @"));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, InputError> {
        let value = input.trim();
        let invalid = || InputError::new("Enter an email address like name@example.edu.");
        if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        if local.is_empty() || local.contains('@') || domain.len() < 3 || !domain.contains('.') {
            return Err(invalid());
        }
        if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
            return Err(invalid());
        }
        Ok(Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(input: &str) -> Result<Self, InputError> {
        let value = input.trim();
        if value.is_empty() {
            return Err(InputError::new("Enter a name."));
        }
        if value.chars().count() > 100 {
            return Err(InputError::new("A name can be at most 100 characters."));
        }
        if value.chars().any(char::is_control) {
            return Err(InputError::new("A name cannot contain control characters."));
        }
        Ok(Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password as chosen by a person. `Debug` never shows it.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

impl Password {
    /// NIST SP 800-63B: at least 8 characters, at most 256; every character allowed.
    pub fn parse(input: &str) -> Result<Self, InputError> {
        let count = input.chars().count();
        if count < 8 {
            return Err(InputError::new("Choose a password of at least 8 characters."));
        }
        if count > 256 {
            return Err(InputError::new("A password can be at most 256 characters."));
        }
        Ok(Self(input.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Helpdesk,
    Admin,
}

impl Role {
    /// Whether staff of this role may take the console's actions on an account of `target`'s
    /// role (issue passcodes, add phones, unlock, disable devices, invite, assign tokens): only
    /// on roles below their own, so the help desk never acts on the help desk or administrators.
    pub fn may_act_on(self, target: Role) -> bool {
        self.rank() > target.rank()
    }

    fn rank(self) -> u8 {
        match self {
            Role::User => 0,
            Role::Helpdesk => 1,
            Role::Admin => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Helpdesk => "helpdesk",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "user" => Some(Role::User),
            "helpdesk" => Some(Role::Helpdesk),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[cfg(test)]
mod role_tests {
    use super::Role;

    #[test]
    fn staff_act_only_on_roles_below_their_own() {
        assert!(Role::Helpdesk.may_act_on(Role::User));
        assert!(!Role::Helpdesk.may_act_on(Role::Helpdesk));
        assert!(!Role::Helpdesk.may_act_on(Role::Admin));
        assert!(Role::Admin.may_act_on(Role::Helpdesk));
        assert!(!Role::Admin.may_act_on(Role::Admin));
        assert!(!Role::User.may_act_on(Role::User));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_and_lower_cased() {
        assert_eq!(Username::parse("  Alice.Smith ").unwrap().as_str(), "alice.smith");
    }

    #[test]
    fn usernames_reject_markup_sql_and_control_characters() {
        for bad in ["", "   ", "a b", "<script>", "o'brien", "x;drop table users", "tab\tname", "ünï"] {
            assert!(Username::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Username::parse(&"a".repeat(65)).is_err());
        assert!(Username::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(Email::parse("ada@example.edu").is_ok());
        for bad in ["", "ada", "ada@", "@example.edu", "ada@example", "a da@example.edu", "ada@.edu", "ada@x..edu"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn display_names_are_bounded() {
        assert!(DisplayName::parse("Ada Lovelace").is_ok());
        assert!(DisplayName::parse(" ").is_err());
        assert!(DisplayName::parse(&"x".repeat(101)).is_err());
        assert!(DisplayName::parse("a\u{0007}b").is_err());
    }

    #[test]
    fn passwords_follow_nist_lengths_and_hide_in_debug() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("long enough").is_ok());
        assert!(Password::parse(&"p".repeat(257)).is_err());
        assert_eq!(format!("{:?}", Password::parse("long enough").unwrap()), "Password(..)");
    }

    #[test]
    fn roles_round_trip() {
        for role in [Role::User, Role::Helpdesk, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
