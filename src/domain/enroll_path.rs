//! The wizard's ways through, one list of pages per kind of device: "Step N of M" and the
//! progress bar are both read from it, so they are true on every page of every path (pure).

use super::{DeviceKind, EnrollStep};

/// A page of the wizard: a step of the state machine, or the token's claim page (a hardware token
/// is claimed from the first step, `EnrollEvent::ClaimedToken`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WizardPage {
    Step(EnrollStep),
    TokenClaim,
}

/// Where the person is: "Step `step` of `steps`".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub step: u8,
    pub steps: u8,
}

/// The pages of the way for `kind` ("Continue to Login" not counted). A mobile phone's way
/// includes the app's pages unless `number_only` (it was stored with its number: "Not now").
pub fn pages(kind: DeviceKind, number_only: bool) -> Vec<WizardPage> {
    use EnrollStep as S;
    let steps: &[S] = match kind {
        DeviceKind::MobilePhone if number_only => {
            &[S::DeviceType, S::Phone, S::PhoneConfirm, S::PhoneVerify, S::PhoneApp, S::Options]
        }
        DeviceKind::MobilePhone => &[
            S::DeviceType,
            S::Phone,
            S::PhoneConfirm,
            S::PhoneVerify,
            S::PhoneApp,
            S::Platform,
            S::Install,
            S::Activate,
            S::Options,
        ],
        DeviceKind::Landline => &[S::DeviceType, S::Phone, S::PhoneConfirm, S::PhoneVerify, S::Options],
        DeviceKind::Tablet => &[S::DeviceType, S::Platform, S::Install, S::Activate, S::Options],
        DeviceKind::SecurityKey => &[S::DeviceType, S::SecurityKey, S::Options],
        DeviceKind::HardwareToken => {
            return vec![WizardPage::Step(S::DeviceType), WizardPage::TokenClaim, WizardPage::Step(S::Options)];
        }
    };
    steps.iter().map(|s| WizardPage::Step(*s)).collect()
}

/// Where `page` is on the way for `kind`; `None` when the page is not on that way.
pub fn progress(kind: DeviceKind, number_only: bool, page: WizardPage) -> Option<Progress> {
    let pages = pages(kind, number_only);
    let at = pages.iter().position(|p| *p == page)?;
    Some(Progress { step: (at + 1) as u8, steps: pages.len() as u8 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use EnrollStep as S;

    fn at(kind: DeviceKind, number_only: bool, step: EnrollStep) -> (u8, u8) {
        let p = progress(kind, number_only, WizardPage::Step(step)).unwrap();
        (p.step, p.steps)
    }

    #[test]
    fn every_page_of_a_path_has_its_own_number_and_the_last_is_the_total() {
        for kind in [
            DeviceKind::MobilePhone,
            DeviceKind::Tablet,
            DeviceKind::Landline,
            DeviceKind::SecurityKey,
            DeviceKind::HardwareToken,
        ] {
            for number_only in [false, true] {
                let pages = pages(kind, number_only);
                for (i, page) in pages.iter().enumerate() {
                    let p = progress(kind, number_only, *page).unwrap();
                    assert_eq!((p.step as usize, p.steps as usize), (i + 1, pages.len()), "{kind:?} {page:?}");
                }
                assert_eq!(pages.last(), Some(&WizardPage::Step(S::Options)), "{kind:?} ends with Device options");
            }
        }
    }

    #[test]
    fn each_path_follows_the_transition_table() {
        // Each page's next page is where some event of the table leads from it.
        for kind in [DeviceKind::MobilePhone, DeviceKind::Tablet, DeviceKind::Landline, DeviceKind::SecurityKey] {
            for number_only in [false, true] {
                let steps: Vec<EnrollStep> = pages(kind, number_only)
                    .into_iter()
                    .map(|p| match p {
                        WizardPage::Step(s) => s,
                        WizardPage::TokenClaim => unreachable!(),
                    })
                    .collect();
                for pair in steps.windows(2) {
                    let reachable = crate::domain::EnrollEvent::ALL.iter().any(|e| pair[0].on(*e) == Some(pair[1]));
                    assert!(reachable, "{kind:?}: {:?} → {:?}", pair[0], pair[1]);
                }
            }
        }
    }

    #[test]
    fn the_paths_people_walk() {
        assert_eq!(at(DeviceKind::MobilePhone, false, S::PhoneVerify), (4, 9));
        assert_eq!(at(DeviceKind::MobilePhone, false, S::Activate), (8, 9));
        assert_eq!(at(DeviceKind::MobilePhone, true, S::Options), (6, 6));
        assert_eq!(at(DeviceKind::SecurityKey, false, S::SecurityKey), (2, 3));
        assert_eq!(at(DeviceKind::Tablet, false, S::Install), (3, 5));
        assert_eq!(at(DeviceKind::Landline, false, S::Options), (5, 5));
        assert_eq!(
            progress(DeviceKind::HardwareToken, false, WizardPage::TokenClaim),
            Some(Progress { step: 2, steps: 3 })
        );
        assert_eq!(progress(DeviceKind::Tablet, false, WizardPage::Step(S::Phone)), None);
    }
}
