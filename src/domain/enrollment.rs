//! The enrolment wizard as an explicit state machine: its steps, what the person does at them
//! (events), and the one table of transitions (`EnrollStep::on`). Each step has one page; a
//! request for any other step is sent back to the step the wizard is at, so steps cannot be
//! skipped, and a move is stored only from the step it starts at (`Move`).

use super::DeviceKind;

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

/// What the person did at a step of the wizard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollEvent {
    /// "What type of device are you adding?" answered (a hardware token is claimed instead:
    /// `ClaimedToken`).
    ChoseKind(DeviceKind),
    /// "Phone number" given.
    EnteredNumber,
    /// "Is this the correct number?" — yes.
    ConfirmedNumber,
    /// A mobile number verified by a texted code or a call: the app question comes next.
    VerifiedMobileNumber,
    /// A landline verified by a call: the device is stored.
    VerifiedLandline,
    /// A verified mobile: also set up the authenticator app.
    WantsApp,
    /// A verified mobile: "Not now", the device is stored with its number only.
    KeepsNumberOnly,
    /// The phone's or tablet's operating system chosen.
    ChosePlatform,
    /// "Install the authenticator app": done.
    InstalledApp,
    /// The app proved itself (a passcode, or the Twofold authenticator's activation): stored.
    ActivatedApp,
    /// A security key registered: stored.
    RegisteredKey,
    /// A hardware token claimed from the inventory: stored.
    ClaimedToken,
    /// "Device options" saved.
    SavedOptions,
    /// "Back".
    Back,
}

impl EnrollEvent {
    /// Every event, for exhaustive tests (each kind once for `ChoseKind`).
    pub const ALL: [EnrollEvent; 18] = [
        EnrollEvent::ChoseKind(DeviceKind::MobilePhone),
        EnrollEvent::ChoseKind(DeviceKind::Tablet),
        EnrollEvent::ChoseKind(DeviceKind::Landline),
        EnrollEvent::ChoseKind(DeviceKind::SecurityKey),
        EnrollEvent::ChoseKind(DeviceKind::HardwareToken),
        EnrollEvent::EnteredNumber,
        EnrollEvent::ConfirmedNumber,
        EnrollEvent::VerifiedMobileNumber,
        EnrollEvent::VerifiedLandline,
        EnrollEvent::WantsApp,
        EnrollEvent::KeepsNumberOnly,
        EnrollEvent::ChosePlatform,
        EnrollEvent::InstalledApp,
        EnrollEvent::ActivatedApp,
        EnrollEvent::RegisteredKey,
        EnrollEvent::ClaimedToken,
        EnrollEvent::SavedOptions,
        EnrollEvent::Back,
    ];
}

/// A move of the wizard, stored only if it is still at `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    pub from: EnrollStep,
    pub to: EnrollStep,
}

impl EnrollStep {
    pub const FIRST: EnrollStep = EnrollStep::DeviceType;

    /// Every step, for exhaustive tests and parsing.
    pub const ALL: [EnrollStep; 11] = [
        EnrollStep::DeviceType,
        EnrollStep::Phone,
        EnrollStep::PhoneConfirm,
        EnrollStep::PhoneVerify,
        EnrollStep::PhoneApp,
        EnrollStep::Platform,
        EnrollStep::Install,
        EnrollStep::Activate,
        EnrollStep::SecurityKey,
        EnrollStep::Options,
        EnrollStep::Done,
    ];

    /// The transition table: where `event` at this step leads, `None` when it may not happen
    /// here. The only place the wizard's order is written down.
    pub fn on(self, event: EnrollEvent) -> Option<EnrollStep> {
        use EnrollEvent as E;
        use EnrollStep as S;
        Some(match (self, event) {
            (S::DeviceType, E::ChoseKind(DeviceKind::MobilePhone | DeviceKind::Landline)) => S::Phone,
            (S::DeviceType, E::ChoseKind(DeviceKind::Tablet)) => S::Platform,
            (S::DeviceType, E::ChoseKind(DeviceKind::SecurityKey)) => S::SecurityKey,
            (S::DeviceType, E::ClaimedToken) => S::Options,
            (S::Phone, E::EnteredNumber) => S::PhoneConfirm,
            (S::PhoneConfirm, E::ConfirmedNumber) => S::PhoneVerify,
            (S::PhoneVerify, E::VerifiedMobileNumber) => S::PhoneApp,
            (S::PhoneVerify, E::VerifiedLandline) => S::Options,
            (S::PhoneApp, E::WantsApp) => S::Platform,
            (S::PhoneApp, E::KeepsNumberOnly) => S::Options,
            (S::Platform, E::ChosePlatform) => S::Install,
            (S::Install, E::InstalledApp) => S::Activate,
            (S::Activate, E::ActivatedApp) => S::Options,
            (S::SecurityKey, E::RegisteredKey) => S::Options,
            (S::Options, E::SavedOptions) => S::Done,
            (step, E::Back) => return step.back(),
            _ => return None,
        })
    }

    /// The move `event` makes from this step, if it may happen here.
    pub fn moving(self, event: EnrollEvent) -> Option<Move> {
        self.on(event).map(|to| Move { from: self, to })
    }

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
        Self::ALL.into_iter().find(|s| s.as_str() == value)
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

    /// The step "Back" returns to; steps after a device is stored have no way back.
    fn back(self) -> Option<EnrollStep> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use EnrollEvent as E;
    use EnrollStep as S;

    /// The whole table: every (step, event) that moves, and nothing else.
    const TABLE: [(S, E, S); 21] = [
        (S::DeviceType, E::ChoseKind(DeviceKind::MobilePhone), S::Phone),
        (S::DeviceType, E::ChoseKind(DeviceKind::Landline), S::Phone),
        (S::DeviceType, E::ChoseKind(DeviceKind::Tablet), S::Platform),
        (S::DeviceType, E::ChoseKind(DeviceKind::SecurityKey), S::SecurityKey),
        (S::DeviceType, E::ClaimedToken, S::Options),
        (S::Phone, E::EnteredNumber, S::PhoneConfirm),
        (S::Phone, E::Back, S::DeviceType),
        (S::PhoneConfirm, E::ConfirmedNumber, S::PhoneVerify),
        (S::PhoneConfirm, E::Back, S::Phone),
        (S::PhoneVerify, E::VerifiedMobileNumber, S::PhoneApp),
        (S::PhoneVerify, E::VerifiedLandline, S::Options),
        (S::PhoneVerify, E::Back, S::Phone),
        (S::PhoneApp, E::WantsApp, S::Platform),
        (S::PhoneApp, E::KeepsNumberOnly, S::Options),
        (S::Platform, E::ChosePlatform, S::Install),
        (S::Platform, E::Back, S::DeviceType),
        (S::Install, E::InstalledApp, S::Activate),
        (S::Install, E::Back, S::Platform),
        (S::Activate, E::ActivatedApp, S::Options),
        (S::Activate, E::Back, S::Install),
        (S::SecurityKey, E::RegisteredKey, S::Options),
    ];
    /// Not in `TABLE` to keep it a fixed size: the two moves that end the wizard's way back.
    const MORE: [(S, E, S); 2] = [(S::SecurityKey, E::Back, S::DeviceType), (S::Options, E::SavedOptions, S::Done)];

    #[test]
    fn every_step_and_event_moves_exactly_as_the_table_says() {
        for step in S::ALL {
            for event in E::ALL {
                let expected = TABLE.iter().chain(MORE.iter()).find(|(s, e, _)| *s == step && *e == event).map(|t| t.2);
                assert_eq!(step.on(event), expected, "{step:?} on {event:?}");
                assert_eq!(step.moving(event), expected.map(|to| Move { from: step, to }));
            }
        }
    }

    #[test]
    fn steps_round_trip_through_their_stored_names() {
        for step in S::ALL {
            assert_eq!(S::parse(step.as_str()), Some(step));
        }
        assert_eq!(S::parse("admin"), None);
    }

    #[test]
    fn there_is_no_way_back_once_a_device_is_stored() {
        for stored in [S::PhoneApp, S::Options, S::Done] {
            assert_eq!(stored.on(E::Back), None, "{stored:?}");
        }
        assert_eq!(S::DeviceType.on(E::Back), None, "nothing before the first step");
    }

    #[test]
    fn every_way_through_the_wizard_reaches_done_from_the_first_step() {
        let ways: [&[E]; 6] = [
            &[E::ChoseKind(DeviceKind::Tablet), E::ChosePlatform, E::InstalledApp, E::ActivatedApp],
            &[
                E::ChoseKind(DeviceKind::MobilePhone),
                E::EnteredNumber,
                E::ConfirmedNumber,
                E::VerifiedMobileNumber,
                E::KeepsNumberOnly,
            ],
            &[
                E::ChoseKind(DeviceKind::MobilePhone),
                E::EnteredNumber,
                E::ConfirmedNumber,
                E::VerifiedMobileNumber,
                E::WantsApp,
                E::ChosePlatform,
                E::InstalledApp,
                E::ActivatedApp,
            ],
            &[E::ChoseKind(DeviceKind::Landline), E::EnteredNumber, E::ConfirmedNumber, E::VerifiedLandline],
            &[E::ChoseKind(DeviceKind::SecurityKey), E::RegisteredKey],
            &[E::ClaimedToken],
        ];
        for way in ways {
            let mut step = S::FIRST;
            for event in way.iter().chain([E::SavedOptions].iter()) {
                step = step.on(*event).unwrap_or_else(|| panic!("{event:?} at {step:?}"));
            }
            assert_eq!(step, S::Done, "{way:?}");
        }
    }

    #[test]
    fn a_hardware_token_is_claimed_not_chosen() {
        assert_eq!(S::DeviceType.on(E::ChoseKind(DeviceKind::HardwareToken)), None);
    }
}
