//! Allowed methods: which second factors a user may use, from the global default and the
//! per-group overrides. Pure: handlers (prompt, wizard, Auth API) ask `allowed_for` and `Method::allows`.

use std::collections::{BTreeMap, BTreeSet};

use super::{DeviceKind, InputError};

/// A way of verifying, as the policy names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// "Send Me a Push" to the Twofold authenticator.
    Push,
    /// Authenticator-app passcodes (TOTP).
    Totp,
    /// "Text Me" passcodes.
    Sms,
    /// "Call Me".
    PhoneCall,
    SecurityKey,
    HardwareToken,
    BackupCodes,
}

impl Method {
    pub const ALL: [Method; 7] = [
        Method::Push,
        Method::Totp,
        Method::Sms,
        Method::PhoneCall,
        Method::SecurityKey,
        Method::HardwareToken,
        Method::BackupCodes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Push => "push",
            Method::Totp => "totp",
            Method::Sms => "sms",
            Method::PhoneCall => "phone_call",
            Method::SecurityKey => "security_key",
            Method::HardwareToken => "hardware_token",
            Method::BackupCodes => "backup_codes",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Method::Push => "Push (Twofold authenticator)",
            Method::Totp => "Authenticator-app passcodes",
            Method::Sms => "Text messages (SMS)",
            Method::PhoneCall => "Phone calls",
            Method::SecurityKey => "Security keys",
            Method::HardwareToken => "Hardware tokens",
            Method::BackupCodes => "Backup codes",
        }
    }

    /// The method's name in a sentence ("… cannot be used to sign in").
    pub fn name(self) -> &'static str {
        match self {
            Method::Push => "Push",
            Method::Totp => "Passcodes from an authenticator app",
            Method::Sms => "Text messages",
            Method::PhoneCall => "Phone calls",
            Method::SecurityKey => "A security key",
            Method::HardwareToken => "A hardware token",
            Method::BackupCodes => "Backup codes",
        }
    }

    /// The method an accepted passcode or factor was, by its audit event name; `None` for the
    /// help desk's temporary and recovery passcodes, which are always allowed (how people recover).
    pub fn of_event(event: &str) -> Option<Method> {
        Some(match event {
            "mfa.passcode" => Method::Totp,
            "mfa.token" => Method::HardwareToken,
            "mfa.backup_code" => Method::BackupCodes,
            "mfa.sms_passcode" => Method::Sms,
            _ => return None,
        })
    }

    pub fn parse(value: &str) -> Result<Self, InputError> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str() == value.trim())
            .ok_or_else(|| InputError::new(format!("Unknown method \"{}\".", value.trim())))
    }

    /// The methods a device of this kind can give; the wizard offers a kind if any is allowed.
    pub fn of_kind(kind: DeviceKind) -> &'static [Method] {
        match kind {
            DeviceKind::MobilePhone => &[Method::Push, Method::Totp, Method::Sms, Method::PhoneCall],
            DeviceKind::Tablet => &[Method::Push, Method::Totp],
            DeviceKind::Landline => &[Method::PhoneCall],
            DeviceKind::SecurityKey => &[Method::SecurityKey],
            DeviceKind::HardwareToken => &[Method::HardwareToken],
        }
    }
}

/// A set of allowed methods, stored as a comma-separated list such as `push,totp`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MethodSet(BTreeSet<Method>);

impl MethodSet {
    pub fn all() -> Self {
        Self(Method::ALL.into_iter().collect())
    }

    pub fn of(methods: &[Method]) -> Self {
        Self(methods.iter().copied().collect())
    }

    /// Parses a stored list; an empty list is refused (nobody could sign in).
    pub fn parse(value: &str) -> Result<Self, InputError> {
        let set: BTreeSet<Method> =
            value.split(',').filter(|s| !s.trim().is_empty()).map(Method::parse).collect::<Result<_, _>>()?;
        if set.is_empty() {
            return Err(InputError::new("Allow at least one method."));
        }
        Ok(Self(set))
    }

    pub fn allows(&self, method: Method) -> bool {
        self.0.contains(&method)
    }

    /// True when a device of this kind gives at least one allowed method.
    pub fn offers_kind(&self, kind: DeviceKind) -> bool {
        Method::of_kind(kind).iter().any(|m| self.allows(*m))
    }

    pub fn union(&self, other: &MethodSet) -> MethodSet {
        MethodSet(self.0.union(&other.0).copied().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = Method> + '_ {
        self.0.iter().copied()
    }

    /// The stored form, in the canonical order.
    pub fn to_stored(&self) -> String {
        self.iter().map(Method::as_str).collect::<Vec<_>>().join(",")
    }
}

/// The rule: a user gets the union of the overrides of the groups they belong to; when none of
/// their groups has an override (or they have no group), the global default.
pub fn allowed_for(global: &MethodSet, overrides: &BTreeMap<String, MethodSet>, groups: &[String]) -> MethodSet {
    groups
        .iter()
        .filter_map(|g| overrides.get(g))
        .fold(None, |acc: Option<MethodSet>, set| Some(acc.map_or_else(|| set.clone(), |a| a.union(set))))
        .unwrap_or_else(|| global.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overrides() -> BTreeMap<String, MethodSet> {
        BTreeMap::from([
            ("staff".to_string(), MethodSet::of(&[Method::Push])),
            ("labs".to_string(), MethodSet::of(&[Method::SecurityKey, Method::HardwareToken])),
        ])
    }

    #[test]
    fn without_an_overriding_group_the_global_default_applies() {
        let global = MethodSet::of(&[Method::Totp, Method::BackupCodes]);
        assert_eq!(allowed_for(&global, &overrides(), &[]), global);
        assert_eq!(allowed_for(&global, &overrides(), &["students".to_string()]), global);
    }

    #[test]
    fn several_groups_give_the_union_of_their_overrides_only() {
        let global = MethodSet::all();
        let got = allowed_for(&global, &overrides(), &["labs".into(), "staff".into(), "students".into()]);
        assert_eq!(got, MethodSet::of(&[Method::Push, Method::SecurityKey, Method::HardwareToken]));
        assert!(!got.allows(Method::Sms), "the global default is not added to an override");
    }

    #[test]
    fn a_device_kind_is_offered_when_one_of_its_methods_is_allowed() {
        let sms_only = MethodSet::of(&[Method::Sms]);
        assert!(sms_only.offers_kind(DeviceKind::MobilePhone));
        assert!(!sms_only.offers_kind(DeviceKind::Tablet));
        assert!(!sms_only.offers_kind(DeviceKind::Landline));
        assert!(MethodSet::of(&[Method::PhoneCall]).offers_kind(DeviceKind::Landline));
    }

    #[test]
    fn stored_lists_round_trip_and_bad_ones_are_refused() {
        let set = MethodSet::parse("totp, push").unwrap();
        assert_eq!(set.to_stored(), "push,totp");
        assert_eq!(MethodSet::parse("").unwrap_err().0, "Allow at least one method.");
        assert!(MethodSet::parse("push,carrier_pigeon").unwrap_err().0.contains("carrier_pigeon"));
    }
}
