//! The enrolment wizard as an explicit state machine. Each step has one page; a request for any
//! other step is sent back to the step the wizard is at, so steps cannot be skipped.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollStep {
    /// "What type of device are you adding?"
    DeviceType,
    /// Phones: country, "Phone number" ("Extension" for landlines).
    Phone,
    /// "Is this the correct number?"
    PhoneConfirm,
    /// A texted code (mobile) or "Call me to verify" (landline).
    PhoneVerify,
    /// A verified mobile number: also set up the authenticator app, or finish with the number.
    PhoneApp,
    /// Phone or tablet operating system.
    Platform,
    /// "Install the authenticator app".
    Install,
    /// "Scan this QR code with the app", then "Passcode" + "Verify".
    Activate,
    /// "Use a security key": the browser's registration ceremony (security keys only).
    SecurityKey,
    /// "Device options": name and "When I log in".
    Options,
    /// "Continue to Login".
    Done,
}

impl EnrollStep {
    pub const FIRST: EnrollStep = EnrollStep::DeviceType;

    pub fn as_str(self) -> &'static str {
        match self {
            EnrollStep::DeviceType => "device_type",
            EnrollStep::Phone => "phone",
            EnrollStep::PhoneConfirm => "phone_confirm",
            EnrollStep::PhoneVerify => "phone_verify",
            EnrollStep::PhoneApp => "phone_app",
            EnrollStep::Platform => "platform",
            EnrollStep::Install => "install",
            EnrollStep::Activate => "activate",
            EnrollStep::SecurityKey => "security_key",
            EnrollStep::Options => "options",
            EnrollStep::Done => "done",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::DeviceType,
            Self::Phone,
            Self::PhoneConfirm,
            Self::PhoneVerify,
            Self::PhoneApp,
            Self::Platform,
            Self::Install,
            Self::Activate,
            Self::SecurityKey,
            Self::Options,
            Self::Done,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }

    /// The page that shows this step.
    pub fn path(self) -> &'static str {
        match self {
            EnrollStep::DeviceType => "/enroll/device-type",
            EnrollStep::Phone => "/enroll/phone",
            EnrollStep::PhoneConfirm => "/enroll/phone/confirm",
            EnrollStep::PhoneVerify => "/enroll/phone/verify",
            EnrollStep::PhoneApp => "/enroll/phone/app",
            EnrollStep::Platform => "/enroll/platform",
            EnrollStep::Install => "/enroll/install",
            EnrollStep::Activate => "/enroll/activate",
            EnrollStep::SecurityKey => "/enroll/security-key",
            EnrollStep::Options => "/enroll/options",
            EnrollStep::Done => "/enroll/done",
        }
    }

    /// The step after this one.
    pub fn next(self) -> EnrollStep {
        match self {
            EnrollStep::DeviceType => EnrollStep::Platform,
            EnrollStep::Phone => EnrollStep::PhoneConfirm,
            EnrollStep::PhoneConfirm => EnrollStep::PhoneVerify,
            EnrollStep::PhoneVerify => EnrollStep::PhoneApp,
            EnrollStep::PhoneApp => EnrollStep::Platform,
            EnrollStep::Platform => EnrollStep::Install,
            EnrollStep::Install => EnrollStep::Activate,
            EnrollStep::Activate | EnrollStep::SecurityKey => EnrollStep::Options,
            EnrollStep::Options | EnrollStep::Done => EnrollStep::Done,
        }
    }

    /// The step "Back" returns to; steps after a device is stored have no way back.
    pub fn back(self) -> Option<EnrollStep> {
        match self {
            EnrollStep::Platform => Some(EnrollStep::DeviceType),
            EnrollStep::Phone => Some(EnrollStep::DeviceType),
            EnrollStep::PhoneConfirm | EnrollStep::PhoneVerify => Some(EnrollStep::Phone),
            EnrollStep::PhoneApp => None,
            EnrollStep::Install => Some(EnrollStep::Platform),
            EnrollStep::Activate => Some(EnrollStep::Install),
            EnrollStep::SecurityKey => Some(EnrollStep::DeviceType),
            EnrollStep::DeviceType | EnrollStep::Options | EnrollStep::Done => None,
        }
    }

    /// 1-based position for "Step 2 of 5" (Done is not counted).
    pub fn number(self) -> u8 {
        match self {
            EnrollStep::DeviceType => 1,
            EnrollStep::Platform | EnrollStep::SecurityKey => 2,
            EnrollStep::Phone | EnrollStep::PhoneConfirm | EnrollStep::PhoneVerify | EnrollStep::PhoneApp => 2,
            EnrollStep::Install => 3,
            EnrollStep::Activate => 4,
            EnrollStep::Options | EnrollStep::Done => 5,
        }
    }

    pub const COUNT: u8 = 5;
    /// Steps in a security key's wizard: type, "Use a security key", options.
    pub const KEY_COUNT: u8 = 3;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_round_trip_and_run_in_order() {
        let mut step = EnrollStep::FIRST;
        let mut seen = vec![step];
        while step != EnrollStep::Done {
            assert_eq!(EnrollStep::parse(step.as_str()), Some(step));
            step = step.next();
            seen.push(step);
        }
        assert_eq!(seen.len(), 6);
        assert_eq!(EnrollStep::Done.next(), EnrollStep::Done);
    }

    #[test]
    fn there_is_no_way_back_once_a_device_is_stored() {
        assert_eq!(EnrollStep::Options.back(), None);
        assert_eq!(EnrollStep::Done.back(), None);
        assert_eq!(EnrollStep::Activate.back(), Some(EnrollStep::Install));
    }

    #[test]
    fn a_security_key_goes_from_its_ceremony_to_options_and_back_to_the_type() {
        assert_eq!(EnrollStep::parse("security_key"), Some(EnrollStep::SecurityKey));
        assert_eq!(EnrollStep::SecurityKey.next(), EnrollStep::Options);
        assert_eq!(EnrollStep::SecurityKey.back(), Some(EnrollStep::DeviceType));
        assert_eq!(EnrollStep::SecurityKey.path(), "/enroll/security-key");
    }

    #[test]
    fn unknown_steps_do_not_parse() {
        assert_eq!(EnrollStep::parse("admin"), None);
    }
}
