//! Access rules: who may sign in from where, and whether a second factor is asked. Pure: the
//! rules of one level (`Rules`), their text forms, the precedence of levels (`resolve`) and the
//! decision for one request (`decide`). The core reads the levels and the address's country;
//! the console edits `Rules` through `Rules::set`.

mod decide;
mod places;

pub use decide::{Decision, Door, Reason, Where, decide};
pub use places::{Locations, Networks};

use super::InputError;
use super::policy::MethodSet;

/// What a network, a country or an anonymous network gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Ask for the second factor (the default).
    Require,
    /// Let the sign-in through without a second factor (applications only: the portal always asks).
    Allow,
    Deny,
}

impl Action {
    pub const ALL: [Action; 3] = [Action::Require, Action::Allow, Action::Deny];

    pub fn parse(value: &str) -> Result<Self, InputError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "require" => Ok(Action::Require),
            "allow" => Ok(Action::Allow),
            "deny" => Ok(Action::Deny),
            other => Err(InputError::new(format!("\"{other}\" is not one of require, allow or deny."))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Require => "require",
            Action::Allow => "allow",
            Action::Deny => "deny",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Action::Require => "Require two-factor authentication",
            Action::Allow => "Allow without two-factor authentication",
            Action::Deny => "Deny access",
        }
    }
}

/// What happens to a user who has never enrolled a device (Duo's "New user policy").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewUser {
    /// Send them through enrolment (the default).
    Enroll,
    /// Let them through without a second factor until they enrol.
    Allow,
    Deny,
}

impl NewUser {
    pub const ALL: [NewUser; 3] = [NewUser::Enroll, NewUser::Allow, NewUser::Deny];

    pub fn parse(value: &str) -> Result<Self, InputError> {
        match value.trim() {
            "enroll" => Ok(NewUser::Enroll),
            "allow" => Ok(NewUser::Allow),
            "deny" => Ok(NewUser::Deny),
            other => Err(InputError::new(format!("New users: \"{other}\" is not one of enroll, allow or deny."))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NewUser::Enroll => "enroll",
            NewUser::Allow => "allow",
            NewUser::Deny => "deny",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            NewUser::Enroll => "Require enrolment",
            NewUser::Allow => "Allow without two-factor authentication",
            NewUser::Deny => "Deny access",
        }
    }
}

/// The access rules one level sets; `None` follows the level below (see `resolve`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    pub methods: Option<MethodSet>,
    pub new_user: Option<NewUser>,
    pub networks: Option<Networks>,
    pub locations: Option<Locations>,
    /// What sign-ins from anonymous networks (VPN services, proxies, Tor) get.
    pub anonymous: Option<Action>,
    pub trusted_browser_days: Option<u32>,
}

/// The rules' stored keys, in the order the console shows them.
pub const KEYS: [&str; 6] =
    ["allowed_methods", "new_user_policy", "networks", "locations", "anonymous_networks", "trusted_browser_days"];

/// The longest a browser may be trusted, in days (as the global rule).
pub const MAX_TRUSTED_DAYS: u32 = 365;

impl Rules {
    /// Sets one rule from its stored text; an empty text follows the level below again.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), InputError> {
        let value = value.trim();
        let empty = value.is_empty();
        match key {
            "allowed_methods" => self.methods = (!empty).then(|| MethodSet::parse(value)).transpose()?,
            "new_user_policy" => self.new_user = (!empty).then(|| NewUser::parse(value)).transpose()?,
            "networks" => self.networks = (!empty).then(|| Networks::parse(value)).transpose()?,
            "locations" => self.locations = (!empty).then(|| Locations::parse(value)).transpose()?,
            "anonymous_networks" => {
                self.anonymous = (!empty)
                    .then(|| Action::parse(value).map_err(|e| InputError::new(format!("Anonymous networks: {}", e.0))))
                    .transpose()?
            }
            "trusted_browser_days" => {
                self.trusted_browser_days = (!empty).then(|| trusted_days(value)).transpose()?;
            }
            _ => return Err(InputError::new(format!("Unknown rule {key}."))),
        }
        Ok(())
    }

    /// Each rule this level sets, as (key, stored text).
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        KEYS.iter().filter_map(|k| self.get(k).map(|v| (*k, v))).collect()
    }

    /// One rule's stored text, if this level sets it.
    pub fn get(&self, key: &str) -> Option<String> {
        match key {
            "allowed_methods" => self.methods.as_ref().map(MethodSet::to_stored),
            "new_user_policy" => self.new_user.map(|n| n.as_str().to_string()),
            "networks" => self.networks.as_ref().map(Networks::to_stored),
            "locations" => self.locations.as_ref().map(Locations::to_stored),
            "anonymous_networks" => self.anonymous.map(|a| a.as_str().to_string()),
            "trusted_browser_days" => self.trusted_browser_days.map(|d| d.to_string()),
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self == &Rules::default()
    }

    /// The rules of several groups a user is in, as one level: allowed methods together (as
    /// the global group rule always was), any other rule from the first group (by name) that sets it.
    pub fn of_groups<'a>(groups: impl IntoIterator<Item = &'a Rules>) -> Rules {
        groups.into_iter().fold(Rules::default(), |mut acc, r| {
            acc.methods = match (acc.methods.take(), &r.methods) {
                (Some(a), Some(b)) => Some(a.union(b)),
                (a, b) => a.or_else(|| b.clone()),
            };
            acc.new_user = acc.new_user.or(r.new_user);
            acc.networks = acc.networks.take().or_else(|| r.networks.clone());
            acc.locations = acc.locations.take().or_else(|| r.locations.clone());
            acc.anonymous = acc.anonymous.or(r.anonymous);
            acc.trusted_browser_days = acc.trusted_browser_days.or(r.trusted_browser_days);
            acc
        })
    }
}

fn trusted_days(value: &str) -> Result<u32, InputError> {
    let label = "Trusted browser days";
    let n: u32 = value.parse().map_err(|_| InputError::new(format!("{label}: enter a whole number.")))?;
    if n > MAX_TRUSTED_DAYS {
        return Err(InputError::new(format!("{label}: must be from 0 to {MAX_TRUSTED_DAYS}.")));
    }
    Ok(n)
}

/// Where a rule in force comes from, most specific first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Level {
    /// The groups' policy at this application (group names, joined).
    ApplicationGroups(String),
    Application,
    /// The groups' policy for every application.
    Groups(String),
    Global,
}

impl Level {
    pub fn describe(&self, application: &str) -> String {
        match self {
            Level::ApplicationGroups(g) => format!("policy of group {g} at {application}"),
            Level::Application => format!("policy of {application}"),
            Level::Groups(g) => format!("policy of group {g}"),
            Level::Global => "global policy".into(),
        }
    }
}

/// The rules in force, each with the level it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub methods: (MethodSet, Level),
    pub new_user: (NewUser, Level),
    pub networks: (Option<Networks>, Level),
    pub locations: (Option<Locations>, Level),
    pub anonymous: (Option<Action>, Level),
    pub trusted_browser_days: (u32, Level),
}

/// The global level: every rule has a value there (no networks, locations or anonymous-network
/// rule means none applies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    pub methods: MethodSet,
    pub new_user: NewUser,
    pub networks: Option<Networks>,
    pub locations: Option<Locations>,
    pub anonymous: Option<Action>,
    pub trusted_browser_days: u32,
}

/// Applies precedence: group within application over application over group over global,
/// rule by rule (a level that does not set a rule leaves it to the level below).
pub fn resolve(layers: &[(Level, &Rules)], global: &Global) -> Effective {
    fn pick<T: Clone>(layers: &[(Level, &Rules)], get: impl Fn(&Rules) -> Option<T>, base: T) -> (T, Level) {
        layers.iter().find_map(|(level, rules)| get(rules).map(|v| (v, level.clone()))).unwrap_or((base, Level::Global))
    }
    Effective {
        methods: pick(layers, |r| r.methods.clone(), global.methods.clone()),
        new_user: pick(layers, |r| r.new_user, global.new_user),
        networks: pick(layers, |r| r.networks.clone().map(Some), global.networks.clone()),
        locations: pick(layers, |r| r.locations.clone().map(Some), global.locations.clone()),
        anonymous: pick(layers, |r| r.anonymous.map(Some), global.anonymous),
        trusted_browser_days: pick(layers, |r| r.trusted_browser_days, global.trusted_browser_days),
    }
}

#[cfg(test)]
mod tests;
