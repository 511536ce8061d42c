//! Policy: the rules administrators change at run time from the console ("Policies"). Defaults
//! come from the configuration; values saved in the database override them and take effect on
//! the next request, on every instance, without a restart.

use std::collections::BTreeMap;

use crate::config::Settings;
use crate::config::telephony::{PhoneBudgets, TelephonySettings};
use crate::domain::InputError;
use crate::domain::access::{self, Action, Locations, Networks, NewUser};
use crate::domain::policy::{Method, MethodSet, allowed_for};

/// Stored key of the global allowed methods; a group's override is this plus `:group:NAME`.
pub const METHODS_KEY: &str = "allowed_methods";
pub const GROUP_PREFIX: &str = "allowed_methods:group:";
pub const COUNTRIES_KEY: &str = "allowed_countries";
/// The access rules' keys at the global level (the same keys as an application's rules).
pub const NEW_USER_KEY: &str = "new_user_policy";
pub const NETWORKS_KEY: &str = "networks";
pub const LOCATIONS_KEY: &str = "locations";
pub const ANONYMOUS_KEY: &str = "anonymous_networks";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Users with no device may enrol after the password alone ("Start setup"); otherwise only
    /// with an invitation or the help desk.
    pub self_enrollment: bool,
    /// "Trust this browser?" for this many days; 0 turns it off.
    pub trusted_browser_days: u32,
    /// Device changes need a second factor this recent.
    pub step_up_minutes: u32,
    /// Failed second-factor attempts that lock an account.
    pub lockout_max_failures: u32,
    /// Automatic unlock after this long; 0 keeps accounts locked until the help desk unlocks them.
    pub lockout_auto_unlock_minutes: u32,
    /// "Lost your device?" self-service recovery.
    pub recovery_enabled: bool,
    /// Hours between asking for a recovery passcode and its working (0: at once). Meanwhile it
    /// can be cancelled from any enrolled device or the emailed "This wasn't me".
    pub recovery_wait_hours: u32,
    /// Email users when a device is added or removed.
    pub new_device_notifications: bool,
    /// At most this many pushes per user per window (`[push]` cap).
    pub push_cap_per_window: u32,
    pub push_cap_window_minutes: u32,
    /// Digits of the number matched in the app.
    pub push_number_digits: u32,
    /// ISO 3166 codes of the countries whose numbers may be enrolled, called and texted.
    pub allowed_countries: Vec<String>,
    /// Texts and calls per hour (the prefix length stays in the configuration).
    pub phone_budgets: PhoneBudgets,
    /// Methods allowed to users none of whose groups has an override.
    pub allowed_methods: MethodSet,
    /// Per-group overrides, by group name.
    pub group_methods: BTreeMap<String, MethodSet>,
    /// Users who never enrolled, at applications (Duo's "new user policy").
    pub new_user: NewUser,
    /// Authorized networks (none: no network rule).
    pub networks: Option<Networks>,
    /// User locations by country (none: no location rule).
    pub locations: Option<Locations>,
    /// Anonymous networks (none: not judged).
    pub anonymous: Option<Action>,
}

/// (key, label, lowest, highest) of the numeric rules, as the form and the store name them.
pub const NUMBERS: [(&str, &str, u32, u32); 12] = [
    ("trusted_browser_days", "Trusted browser days (0 = off)", 0, 365),
    ("step_up_minutes", "Step-up window (minutes)", 1, 60),
    ("lockout_max_failures", "Lockout after failed attempts", 1, 100),
    ("lockout_auto_unlock_minutes", "Automatic unlock after (minutes, 0 = never)", 0, 1440),
    ("push_cap_per_window", "Pushes per user per window", 1, 100),
    ("push_cap_window_minutes", "Push window (minutes)", 1, 1440),
    ("push_number_digits", "Number-matching digits", 2, 6),
    ("phone_budget_per_user", "Texts and calls per user per hour", 1, 1000),
    ("phone_budget_per_number", "Texts and calls per number per hour", 1, 1000),
    ("phone_budget_per_prefix", "Texts and calls per prefix per hour", 1, 100_000),
    ("phone_budget_global", "Texts and calls in all per hour", 1, 1_000_000),
    ("recovery_wait_hours", "Recovery passcodes work after (hours, 0 = at once)", 0, 168),
];

/// (key, label) of the on/off rules.
pub const SWITCHES: [(&str, &str); 3] = [
    ("self_enrollment", "Users may set up their first device after their password"),
    ("recovery_enabled", "\"Lost your device?\" self-service recovery"),
    ("new_device_notifications", "Email users when a device is added or removed"),
];

impl Policy {
    pub fn defaults(settings: &Settings) -> Self {
        Self {
            self_enrollment: true,
            trusted_browser_days: settings.trusted_browser.days,
            step_up_minutes: settings.session.step_up_minutes,
            lockout_max_failures: settings.lockout.max_failures,
            lockout_auto_unlock_minutes: settings.lockout.auto_unlock_minutes,
            recovery_enabled: settings.recovery.enabled,
            recovery_wait_hours: settings.recovery.wait_hours,
            new_device_notifications: true,
            push_cap_per_window: settings.push.cap_per_window,
            push_cap_window_minutes: settings.push.cap_window_minutes,
            push_number_digits: settings.push.number_digits,
            allowed_countries: settings.telephony.allowed_countries.clone(),
            phone_budgets: settings.telephony.budgets.clone(),
            allowed_methods: MethodSet::all(),
            group_methods: BTreeMap::new(),
            new_user: NewUser::Enroll,
            networks: None,
            locations: None,
            anonymous: None,
        }
    }

    /// The global level of the access rules (`domain::access::resolve`).
    pub fn global_access(&self) -> access::Global {
        access::Global {
            methods: self.allowed_methods.clone(),
            new_user: self.new_user,
            networks: self.networks.clone(),
            locations: self.locations.clone(),
            anonymous: self.anonymous,
            trusted_browser_days: self.trusted_browser_days,
        }
    }

    /// The global group level for a user in `groups`: their groups' own allowed methods.
    pub fn group_access(&self, groups: &[String]) -> Option<(access::Level, access::Rules)> {
        let named: Vec<&String> = groups.iter().filter(|g| self.group_methods.contains_key(*g)).collect();
        if named.is_empty() {
            return None;
        }
        let methods = self.methods_for(groups);
        let names = named.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(", ");
        Some((access::Level::Groups(names), access::Rules { methods: Some(methods), ..Default::default() }))
    }

    /// True when some group has methods of its own (otherwise everyone has the global default).
    pub fn has_group_rules(&self) -> bool {
        !self.group_methods.is_empty()
    }

    /// The methods a member of `groups` may use (see `domain::policy::allowed_for`).
    pub fn methods_for(&self, groups: &[String]) -> MethodSet {
        allowed_for(&self.allowed_methods, &self.group_methods, groups)
    }

    /// Whether a member of `groups` may use `method`: what the Auth API asks.
    pub fn allows(&self, groups: &[String], method: Method) -> bool {
        self.methods_for(groups).allows(method)
    }

    pub fn number(&self, key: &str) -> Option<u32> {
        Some(match key {
            "trusted_browser_days" => self.trusted_browser_days,
            "step_up_minutes" => self.step_up_minutes,
            "lockout_max_failures" => self.lockout_max_failures,
            "lockout_auto_unlock_minutes" => self.lockout_auto_unlock_minutes,
            "push_cap_per_window" => self.push_cap_per_window,
            "push_cap_window_minutes" => self.push_cap_window_minutes,
            "push_number_digits" => self.push_number_digits,
            "phone_budget_per_user" => self.phone_budgets.per_user_per_hour,
            "phone_budget_per_number" => self.phone_budgets.per_number_per_hour,
            "phone_budget_per_prefix" => self.phone_budgets.per_prefix_per_hour,
            "phone_budget_global" => self.phone_budgets.global_per_hour,
            "recovery_wait_hours" => self.recovery_wait_hours,
            _ => return None,
        })
    }

    pub fn switch(&self, key: &str) -> Option<bool> {
        Some(match key {
            "self_enrollment" => self.self_enrollment,
            "recovery_enabled" => self.recovery_enabled,
            "new_device_notifications" => self.new_device_notifications,
            _ => return None,
        })
    }

    /// Sets one rule from its stored text; out-of-range or unknown values are refused.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), InputError> {
        if key == METHODS_KEY {
            self.allowed_methods =
                MethodSet::parse(value).map_err(|e| InputError::new(format!("Allowed methods (everyone): {}", e.0)))?;
            return Ok(());
        }
        if let Some(group) = key.strip_prefix(GROUP_PREFIX) {
            // An empty list removes the override: the group follows the global default again.
            if value.trim().is_empty() {
                self.group_methods.remove(group);
            } else {
                let set = MethodSet::parse(value)
                    .map_err(|e| InputError::new(format!("Allowed methods for {group}: {}", e.0)))?;
                self.group_methods.insert(group.to_string(), set);
            }
            return Ok(());
        }
        if key == COUNTRIES_KEY {
            self.allowed_countries = parse_countries(value)?;
            return Ok(());
        }
        if [NEW_USER_KEY, NETWORKS_KEY, LOCATIONS_KEY, ANONYMOUS_KEY].contains(&key) {
            // The same parsing as an application's rules; empty means "no rule" (new users: enrol).
            let mut rules = access::Rules::default();
            rules.set(key, value)?;
            self.new_user = if key == NEW_USER_KEY { rules.new_user.unwrap_or(NewUser::Enroll) } else { self.new_user };
            match key {
                NETWORKS_KEY => self.networks = rules.networks,
                LOCATIONS_KEY => self.locations = rules.locations,
                ANONYMOUS_KEY => self.anonymous = rules.anonymous,
                _ => {}
            }
            return Ok(());
        }
        if let Some((_, label, lo, hi)) = NUMBERS.iter().find(|(k, ..)| *k == key) {
            let n: u32 =
                value.trim().parse().map_err(|_| InputError::new(format!("{label}: enter a whole number.")))?;
            if !(*lo..=*hi).contains(&n) {
                return Err(InputError::new(format!("{label}: must be from {lo} to {hi}.")));
            }
            match key {
                "trusted_browser_days" => self.trusted_browser_days = n,
                "step_up_minutes" => self.step_up_minutes = n,
                "lockout_max_failures" => self.lockout_max_failures = n,
                "lockout_auto_unlock_minutes" => self.lockout_auto_unlock_minutes = n,
                "push_cap_per_window" => self.push_cap_per_window = n,
                "push_cap_window_minutes" => self.push_cap_window_minutes = n,
                "push_number_digits" => self.push_number_digits = n,
                "phone_budget_per_user" => self.phone_budgets.per_user_per_hour = n,
                "phone_budget_per_number" => self.phone_budgets.per_number_per_hour = n,
                "phone_budget_per_prefix" => self.phone_budgets.per_prefix_per_hour = n,
                "recovery_wait_hours" => self.recovery_wait_hours = n,
                _ => self.phone_budgets.global_per_hour = n,
            }
            return Ok(());
        }
        let on = match value {
            "true" | "on" => true,
            "false" | "off" | "" => false,
            _ => return Err(InputError::new(format!("{key}: must be on or off."))),
        };
        match key {
            "self_enrollment" => self.self_enrollment = on,
            "recovery_enabled" => self.recovery_enabled = on,
            "new_device_notifications" => self.new_device_notifications = on,
            _ => return Err(InputError::new(format!("Unknown rule {key}."))),
        }
        Ok(())
    }

    /// Every rule as (key, stored text), in a stable order; groups without an override are absent.
    pub fn entries(&self) -> Vec<(String, String)> {
        let numbers = NUMBERS.iter().map(|(k, ..)| (k.to_string(), self.number(k).unwrap_or_default().to_string()));
        let switches = SWITCHES.iter().map(|(k, _)| (k.to_string(), self.switch(k).unwrap_or_default().to_string()));
        let lists = [
            (COUNTRIES_KEY.to_string(), self.allowed_countries.join(",")),
            (METHODS_KEY.to_string(), self.allowed_methods.to_stored()),
            (NEW_USER_KEY.to_string(), self.new_user.as_str().to_string()),
            (NETWORKS_KEY.to_string(), self.networks.as_ref().map(Networks::to_stored).unwrap_or_default()),
            (LOCATIONS_KEY.to_string(), self.locations.as_ref().map(Locations::to_stored).unwrap_or_default()),
            (ANONYMOUS_KEY.to_string(), self.anonymous.map(|a| a.as_str().to_string()).unwrap_or_default()),
        ];
        let groups = self.group_methods.iter().map(|(g, set)| (format!("{GROUP_PREFIX}{g}"), set.to_stored()));
        numbers.chain(switches).chain(lists).chain(groups).collect()
    }

    /// The rules that differ from `other`: (key, old, new); a group override that is added or
    /// removed has an empty old or new value (stored empty, it means "the global default").
    pub fn changes_from(&self, other: &Policy) -> Vec<(String, String, String)> {
        let old: BTreeMap<String, String> = other.entries().into_iter().collect();
        let new: BTreeMap<String, String> = self.entries().into_iter().collect();
        let mut all: Vec<String> = other.entries().into_iter().map(|(k, _)| k).collect();
        for (k, _) in self.entries() {
            if !all.contains(&k) {
                all.push(k);
            }
        }
        all.into_iter()
            .filter_map(|k| {
                let (o, n) = (old.get(&k).cloned().unwrap_or_default(), new.get(&k).cloned().unwrap_or_default());
                (o != n).then_some((k, o, n))
            })
            .collect()
    }
}

/// The hourly phone budgets in force: the configuration's with the saved rules applied. For
/// `Phones`, which spends the budgets without an `AppState`.
pub fn phone_budgets(telephony: &TelephonySettings, saved: &[(String, String)]) -> PhoneBudgets {
    let mut budgets = telephony.budgets.clone();
    for (key, value) in saved {
        let n = value.trim().parse::<u32>().ok().filter(|n| *n >= 1);
        let slot = match key.as_str() {
            "phone_budget_per_user" => &mut budgets.per_user_per_hour,
            "phone_budget_per_number" => &mut budgets.per_number_per_hour,
            "phone_budget_per_prefix" => &mut budgets.per_prefix_per_hour,
            "phone_budget_global" => &mut budgets.global_per_hour,
            _ => continue,
        };
        if let Some(n) = n {
            *slot = n;
        }
    }
    budgets
}

/// Parses a list of ISO 3166 country codes ("CH, de" → ["CH", "DE"]); unknown codes are named.
pub fn parse_countries(value: &str) -> Result<Vec<String>, InputError> {
    let mut codes: Vec<String> = Vec::new();
    for code in value.split([',', ' ', '\n', '\r', '\t']).filter(|s| !s.is_empty()) {
        let code = code.to_ascii_uppercase();
        let known = code.len() == 2
            && code.chars().all(|c| c.is_ascii_alphabetic())
            && phonenumber::metadata::DATABASE.by_id(&code).is_some();
        if !known {
            return Err(InputError::new(format!(
                "Allowed phone countries: \"{code}\" is not a two-letter ISO 3166 country code such as CH."
            )));
        }
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    if codes.is_empty() {
        return Err(InputError::new("Allowed phone countries: enter at least one country code, such as CH."));
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_configuration() {
        let mut settings = Settings::default();
        settings.lockout.max_failures = 7;
        let p = Policy::defaults(&settings);
        assert_eq!(p.lockout_max_failures, 7);
        assert!(p.self_enrollment && p.recovery_enabled);
    }

    #[test]
    fn values_are_checked_against_their_ranges() {
        let mut p = Policy::defaults(&Settings::default());
        assert!(p.set("lockout_max_failures", "0").is_err());
        assert!(p.set("lockout_max_failures", "101").is_err(), "ASVS: at most 100 guesses");
        assert!(p.set("step_up_minutes", "five").is_err());
        assert!(p.set("unknown", "1").is_err());
        p.set("lockout_max_failures", "5").unwrap();
        p.set("recovery_enabled", "false").unwrap();
        assert_eq!(p.lockout_max_failures, 5);
        assert!(!p.recovery_enabled);
    }

    #[test]
    fn changes_name_old_and_new_values() {
        let before = Policy::defaults(&Settings::default());
        let mut after = before.clone();
        after.set("trusted_browser_days", "0").unwrap();
        assert_eq!(after.changes_from(&before), vec![("trusted_browser_days".into(), "30".into(), "0".into())]);
        after.set("allowed_methods:group:staff", "push").unwrap();
        after.set("allowed_countries", "ch, de").unwrap();
        let changes = after.changes_from(&before);
        assert!(changes.contains(&("allowed_countries".into(), before.allowed_countries.join(","), "CH,DE".into())));
        assert!(changes.contains(&("allowed_methods:group:staff".into(), String::new(), "push".into())));
    }

    #[test]
    fn push_and_phone_rules_are_checked_and_countries_must_be_known() {
        let mut p = Policy::defaults(&Settings::default());
        assert_eq!(p.set("push_number_digits", "7").unwrap_err().0, "Number-matching digits: must be from 2 to 6.");
        p.set("phone_budget_global", "20").unwrap();
        assert_eq!(p.phone_budgets.global_per_hour, 20);
        assert!(p.set("allowed_countries", "CH,XX").unwrap_err().0.contains("\"XX\" is not a two-letter"));
        assert!(p.set("allowed_countries", "").is_err());
        assert!(p.set("allowed_methods", "").unwrap_err().0.contains("at least one method"));
    }

    #[test]
    fn a_group_override_replaces_the_default_for_its_members() {
        let mut p = Policy::defaults(&Settings::default());
        p.set("allowed_methods:group:staff", "push,totp").unwrap();
        assert!(!p.allows(&["staff".into()], Method::Sms));
        assert!(p.allows(&["students".into()], Method::Sms));
        p.set("allowed_methods:group:staff", "").unwrap();
        assert!(p.allows(&["staff".into()], Method::Sms), "an empty list removes the override");
    }
}
