//! What a device is: its kind, its operating system, its name and what happens "When I log in".
//! Only kinds whose method is built are offered by the wizard (no dead ends).

use super::InputError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    MobilePhone,
    Tablet,
    /// An OATH or Yubico OTP token from the institution's inventory (claimed with its serial).
    HardwareToken,
    /// A WebAuthn authenticator: a roaming key (YubiKey) or a platform one (Touch ID, Windows Hello).
    SecurityKey,
    /// A phone without apps: called ("Call Me"), never texted.
    Landline,
}

impl DeviceKind {
    /// The kinds the wizard offers, in the order shown.
    pub const OFFERED: [DeviceKind; 5] = [
        DeviceKind::MobilePhone,
        DeviceKind::Tablet,
        DeviceKind::Landline,
        DeviceKind::SecurityKey,
        DeviceKind::HardwareToken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::MobilePhone => "mobile",
            DeviceKind::Tablet => "tablet",
            DeviceKind::HardwareToken => "hardware_token",
            DeviceKind::SecurityKey => "security_key",
            DeviceKind::Landline => "landline",
        }
    }

    pub fn parse(value: &str) -> Result<Self, InputError> {
        match value {
            "mobile" => Ok(DeviceKind::MobilePhone),
            "tablet" => Ok(DeviceKind::Tablet),
            "hardware_token" => Ok(DeviceKind::HardwareToken),
            "security_key" => Ok(DeviceKind::SecurityKey),
            "landline" => Ok(DeviceKind::Landline),
            _ => Err(InputError::new("Choose the type of device you are adding.")),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DeviceKind::MobilePhone => "Mobile phone",
            DeviceKind::Tablet => "Tablet",
            DeviceKind::HardwareToken => "Hardware token",
            DeviceKind::SecurityKey => "Security key",
            DeviceKind::Landline => "Landline",
        }
    }

    pub fn platforms(self) -> &'static [Platform] {
        match self {
            DeviceKind::MobilePhone => &[Platform::Iphone, Platform::Android, Platform::Other],
            DeviceKind::Tablet => &[Platform::Ipad, Platform::Android, Platform::Other],
            DeviceKind::HardwareToken => &[Platform::Other],
            // No operating system to choose: the browser finds the key.
            DeviceKind::SecurityKey => &[Platform::Other],
            DeviceKind::Landline => &[Platform::Other],
        }
    }

    /// Kinds enrolled by phone number (and reached by "Call Me"; mobiles also by "Text Me").
    pub fn has_number(self) -> bool {
        matches!(self, DeviceKind::MobilePhone | DeviceKind::Landline)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Iphone,
    Ipad,
    Android,
    Other,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Iphone => "iphone",
            Platform::Ipad => "ipad",
            Platform::Android => "android",
            Platform::Other => "other",
        }
    }

    pub fn parse(value: &str) -> Result<Self, InputError> {
        match value {
            "iphone" => Ok(Platform::Iphone),
            "ipad" => Ok(Platform::Ipad),
            "android" => Ok(Platform::Android),
            "other" => Ok(Platform::Other),
            _ => Err(InputError::new("Choose your device's operating system.")),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Platform::Iphone => "iPhone",
            Platform::Ipad => "iPad",
            Platform::Android => "Android",
            Platform::Other => "Other",
        }
    }
}

/// What happens "When I log in" with this device as the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAction {
    /// "Ask me to choose an authentication method".
    Ask,
    /// Go straight to "Enter a Passcode" for passcode-only devices.
    Passcode,
    /// "Automatically call this device" (phones with a number).
    Call,
    /// "Automatically send this device a Push" (Twofold authenticator devices).
    Push,
}

impl LoginAction {
    /// What "When I log in" may offer for a device, by what it can really do: a push only to a
    /// device that receives them, a passcode only from one that shows them (an authenticator app
    /// or a hardware token; not a phone known by its number, nor a key), a call only to a phone.
    pub fn offered(kind: DeviceKind, push: bool, passcodes: bool) -> Vec<LoginAction> {
        [LoginAction::Ask, LoginAction::Push, LoginAction::Passcode, LoginAction::Call]
            .into_iter()
            .filter(|a| match a {
                LoginAction::Ask => true,
                LoginAction::Push => push,
                LoginAction::Passcode => passcodes && kind != DeviceKind::SecurityKey,
                LoginAction::Call => kind.has_number(),
            })
            .collect()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LoginAction::Ask => "ask",
            LoginAction::Passcode => "passcode",
            LoginAction::Call => "call",
            LoginAction::Push => "push",
        }
    }

    pub fn parse(value: &str) -> Result<Self, InputError> {
        match value {
            "ask" => Ok(LoginAction::Ask),
            "passcode" => Ok(LoginAction::Passcode),
            "call" => Ok(LoginAction::Call),
            "push" => Ok(LoginAction::Push),
            _ => Err(InputError::new("Choose what happens when you log in.")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceName(String);

impl DeviceName {
    pub const MAX_CHARS: usize = 60;

    pub fn parse(input: &str) -> Result<Self, InputError> {
        let value = input.trim();
        if value.is_empty() {
            return Err(InputError::new("Give the device a name, for example \"My phone\"."));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(InputError::new(format!("A device name can be at most {} characters.", Self::MAX_CHARS)));
        }
        if value.chars().any(char::is_control) {
            return Err(InputError::new("A device name cannot contain control characters."));
        }
        Ok(Self(value.to_string()))
    }

    /// The name the wizard suggests, e.g. "iPhone" or "Android tablet".
    pub fn suggested(kind: DeviceKind, platform: Platform) -> Self {
        let name = match (kind, platform) {
            (DeviceKind::MobilePhone, Platform::Other) => "My phone".to_string(),
            (DeviceKind::Tablet, Platform::Other) => "My tablet".to_string(),
            (DeviceKind::HardwareToken, _) => "Hardware token".to_string(),
            (DeviceKind::SecurityKey, _) => "Security key".to_string(),
            (DeviceKind::Tablet, Platform::Android) => "Android tablet".to_string(),
            (DeviceKind::Landline, _) => "Landline".to_string(),
            (_, p) => p.label().to_string(),
        };
        Self(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn when_i_log_in_offers_only_what_the_device_can_do() {
        use super::{DeviceKind as K, LoginAction as A};
        assert_eq!(A::offered(K::MobilePhone, true, true), [A::Ask, A::Push, A::Passcode, A::Call]);
        assert_eq!(A::offered(K::MobilePhone, false, false), [A::Ask, A::Call], "a number without an app");
        assert_eq!(A::offered(K::Landline, false, false), [A::Ask, A::Call]);
        assert_eq!(A::offered(K::Tablet, false, true), [A::Ask, A::Passcode]);
        assert_eq!(A::offered(K::HardwareToken, false, true), [A::Ask, A::Passcode]);
        assert_eq!(A::offered(K::SecurityKey, false, false), [A::Ask]);
    }

    use super::*;

    #[test]
    fn kinds_and_platforms_round_trip() {
        for kind in DeviceKind::OFFERED {
            assert_eq!(DeviceKind::parse(kind.as_str()).unwrap(), kind);
            for p in kind.platforms() {
                assert_eq!(Platform::parse(p.as_str()).unwrap(), *p);
            }
        }
        assert_eq!(DeviceKind::parse("landline").unwrap(), DeviceKind::Landline);
        assert!(DeviceKind::parse("pager").is_err());
        assert!(Platform::parse("symbian").is_err());
    }

    #[test]
    fn device_names_are_bounded_and_trimmed() {
        assert_eq!(DeviceName::parse("  Work phone ").unwrap().as_str(), "Work phone");
        assert!(DeviceName::parse("").is_err());
        assert!(DeviceName::parse(&"x".repeat(10_000)).is_err());
        assert!(DeviceName::parse("<script>alert(1)</script>").is_ok(), "escaped on output, not refused");
    }

    #[test]
    fn suggested_names_follow_the_platform() {
        assert_eq!(DeviceName::suggested(DeviceKind::MobilePhone, Platform::Iphone).as_str(), "iPhone");
        assert_eq!(DeviceName::suggested(DeviceKind::Tablet, Platform::Android).as_str(), "Android tablet");
    }

    #[test]
    fn login_actions_round_trip() {
        for a in [LoginAction::Ask, LoginAction::Passcode, LoginAction::Call, LoginAction::Push] {
            assert_eq!(LoginAction::parse(a.as_str()).unwrap(), a);
        }
        assert!(LoginAction::parse("sms").is_err());
    }
}

/// Stored values read back into their types (`#[sqlx(try_from = "String")]` on rows): an unknown
/// value is an error when the row is read, never a panic and never a silent default.
macro_rules! from_stored {
    ($($t:ty),*) => {$(
        impl TryFrom<String> for $t {
            type Error = InputError;
            fn try_from(value: String) -> Result<Self, InputError> {
                <$t>::parse(&value)
            }
        }
    )*};
}

from_stored!(DeviceKind, Platform, LoginAction);
