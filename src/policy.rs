//! Policy: the rules administrators change at run time from the console ("Policies"). Defaults
//! come from the configuration; values saved in the database override them and take effect on
//! the next request, on every instance, without a restart.

use crate::config::Settings;
use crate::domain::InputError;

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
    /// Email users when a device is added or removed.
    pub new_device_notifications: bool,
}

/// (key, label, lowest, highest) of the numeric rules, as the form and the store name them.
pub const NUMBERS: [(&str, &str, u32, u32); 4] = [
    ("trusted_browser_days", "Trusted browser days (0 = off)", 0, 365),
    ("step_up_minutes", "Step-up window (minutes)", 1, 60),
    ("lockout_max_failures", "Lockout after failed attempts", 1, 100),
    ("lockout_auto_unlock_minutes", "Automatic unlock after (minutes, 0 = never)", 0, 1440),
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
            new_device_notifications: true,
        }
    }

    pub fn number(&self, key: &str) -> Option<u32> {
        Some(match key {
            "trusted_browser_days" => self.trusted_browser_days,
            "step_up_minutes" => self.step_up_minutes,
            "lockout_max_failures" => self.lockout_max_failures,
            "lockout_auto_unlock_minutes" => self.lockout_auto_unlock_minutes,
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
                _ => self.lockout_auto_unlock_minutes = n,
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

    /// Every rule as (key, stored text), in a stable order.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        let numbers = NUMBERS.iter().map(|(k, ..)| (*k, self.number(k).unwrap_or_default().to_string()));
        let switches = SWITCHES.iter().map(|(k, _)| (*k, self.switch(k).unwrap_or_default().to_string()));
        numbers.chain(switches).collect()
    }

    /// The rules that differ from `other`: (key, old, new).
    pub fn changes_from(&self, other: &Policy) -> Vec<(&'static str, String, String)> {
        other
            .entries()
            .into_iter()
            .zip(self.entries())
            .filter(|((_, old), (_, new))| old != new)
            .map(|((key, old), (_, new))| (key, old, new))
            .collect()
    }
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
        assert_eq!(after.changes_from(&before), vec![("trusted_browser_days", "30".to_string(), "0".to_string())]);
    }
}
