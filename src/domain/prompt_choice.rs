//! What the prompt shows first (Duo's Universal Prompt behaviour): the device and the method the
//! user last signed in with at this application, the rest under "Other options" (pure).

/// A way to sign in that the prompt offers for one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PromptMethod {
    Push,
    Call,
    Text,
    Passcode,
    SecurityKey,
}

impl PromptMethod {
    /// The order methods are offered in when nothing was used before: push first (Duo's), then
    /// what costs nothing to send (a key, an app's passcode), then calls and texts.
    pub const ALL: [PromptMethod; 5] =
        [PromptMethod::Push, PromptMethod::SecurityKey, PromptMethod::Passcode, PromptMethod::Call, PromptMethod::Text];

    /// The name stored in `last_methods.method`.
    pub fn as_str(self) -> &'static str {
        match self {
            PromptMethod::Push => "push",
            PromptMethod::Call => "call",
            PromptMethod::Text => "text",
            PromptMethod::Passcode => "passcode",
            PromptMethod::SecurityKey => "security_key",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// One device as the prompt can use it, with its methods in the default order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceMethods {
    pub id: String,
    pub methods: Vec<PromptMethod>,
}

/// A remembered sign-in: which device, which method, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastUse {
    pub device_id: String,
    pub method: PromptMethod,
    pub at: i64,
}

/// What the prompt shows: the device chosen (index into the devices given) and its methods, the
/// first one shown first, the rest under "Other options".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub device: Option<usize>,
    pub methods: Vec<PromptMethod>,
}

/// Chooses the device and orders its methods.
///
/// The device: the one asked for (the device chooser), else the one last used at this
/// application, else the default device (`default`), else the first. Its methods: `first` when
/// the situation decides it (an automatic push, a texted code waiting, the method that just
/// failed), else the one last used with that device at this application, else the default order.
pub fn choose(
    devices: &[DeviceMethods],
    asked: Option<&str>,
    remembered: &[LastUse],
    default: Option<&str>,
    first: Option<PromptMethod>,
) -> Choice {
    let usable = |id: &str| devices.iter().position(|d| d.id == id);
    let latest = remembered.iter().filter(|r| usable(&r.device_id).is_some()).max_by_key(|r| r.at);
    let device = asked
        .and_then(usable)
        .or_else(|| latest.and_then(|r| usable(&r.device_id)))
        .or_else(|| default.and_then(usable))
        .or(if devices.is_empty() { None } else { Some(0) });
    let mut methods = device.map(|i| devices[i].methods.clone()).unwrap_or_default();
    let last_here = device.and_then(|i| {
        remembered.iter().filter(|r| r.device_id == devices[i].id).max_by_key(|r| r.at).map(|r| r.method)
    });
    if let Some(m) = first.or(last_here)
        && let Some(at) = methods.iter().position(|x| *x == m)
    {
        let m = methods.remove(at);
        methods.insert(0, m);
    }
    Choice { device, methods }
}

#[cfg(test)]
mod tests {
    use super::PromptMethod::*;
    use super::*;

    fn phone() -> DeviceMethods {
        DeviceMethods { id: "phone".into(), methods: vec![Push, Passcode, Call, Text] }
    }
    fn desk() -> DeviceMethods {
        DeviceMethods { id: "desk".into(), methods: vec![Call] }
    }
    fn used(device: &str, method: PromptMethod, at: i64) -> LastUse {
        LastUse { device_id: device.into(), method, at }
    }

    #[test]
    fn nothing_used_yet_offers_push_on_the_first_device() {
        let c = choose(&[phone(), desk()], None, &[], None, None);
        assert_eq!(c, Choice { device: Some(0), methods: vec![Push, Passcode, Call, Text] });
    }

    #[test]
    fn the_last_used_method_comes_first() {
        let c = choose(&[phone()], None, &[used("phone", Call, 5)], None, None);
        assert_eq!(c.methods, vec![Call, Push, Passcode, Text]);
    }

    #[test]
    fn the_last_used_device_is_chosen_over_the_default() {
        let c = choose(&[phone(), desk()], None, &[used("phone", Push, 5), used("desk", Call, 9)], Some("phone"), None);
        assert_eq!(c.device, Some(1));
    }

    #[test]
    fn the_device_asked_for_wins_and_shows_its_own_last_method() {
        let remembered = [used("phone", Text, 5), used("desk", Call, 9)];
        let c = choose(&[phone(), desk()], Some("phone"), &remembered, None, None);
        assert_eq!(c, Choice { device: Some(0), methods: vec![Text, Push, Passcode, Call] });
    }

    #[test]
    fn an_unknown_device_asked_for_or_remembered_is_ignored() {
        let c = choose(&[phone(), desk()], Some("gone"), &[used("gone", Call, 9)], Some("desk"), None);
        assert_eq!(c.device, Some(1));
    }

    #[test]
    fn what_the_situation_decides_comes_before_the_last_used() {
        let c = choose(&[phone()], None, &[used("phone", Call, 5)], None, Some(Passcode));
        assert_eq!(c.methods[0], Passcode);
        // A method the device does not have changes nothing.
        let c = choose(&[desk()], None, &[], None, Some(Push));
        assert_eq!(c.methods, vec![Call]);
    }

    #[test]
    fn no_devices_no_choice() {
        assert_eq!(choose(&[], Some("x"), &[], None, None), Choice { device: None, methods: vec![] });
    }

    #[test]
    fn method_names_round_trip() {
        for m in PromptMethod::ALL {
            assert_eq!(PromptMethod::parse(m.as_str()), Some(m));
        }
        assert_eq!(PromptMethod::parse("fax"), None);
    }
}
