//! Authorized networks and user locations, in the one text form the console edits and the audit
//! log shows: one rule per line (or separated by `;`), `<network or country> <action>`, and
//! `* <action>` for everything else (default: require).

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::Action;
use crate::domain::InputError;

/// Networks (CIDR) and what sign-ins from them get; the most specific match decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Networks {
    rules: Vec<(IpNet, Action)>,
    otherwise: Action,
}

impl Networks {
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let mut rules: Vec<(IpNet, Action)> = Vec::new();
        let mut otherwise = None;
        for (what, action) in lines(text, "Authorized networks")? {
            if what == "*" {
                set_once(&mut otherwise, action, "Authorized networks")?;
                continue;
            }
            let net = what
                .parse::<IpNet>()
                .or_else(|_| what.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    InputError::new(format!(
                        "Authorized networks: \"{what}\" is not a network such as 192.0.2.0/24 or 2001:db8::/32."
                    ))
                })?
                .trunc();
            if rules.iter().any(|(n, _)| *n == net) {
                return Err(InputError::new(format!("Authorized networks: {net} is listed twice.")));
            }
            rules.push((net, action));
        }
        if rules.is_empty() && otherwise.is_none() {
            return Err(InputError::new("Authorized networks: list at least one network, such as 192.0.2.0/24 allow."));
        }
        Ok(Self { rules, otherwise: otherwise.unwrap_or(Action::Require) })
    }

    /// The action for `address` and the network that gave it (`None`: everything else).
    pub fn action(&self, address: Option<IpAddr>) -> (Action, Option<IpNet>) {
        let address = address.map(canonical);
        self.rules
            .iter()
            .filter(|(net, _)| address.is_some_and(|a| net.contains(&a)))
            .max_by_key(|(net, _)| net.prefix_len())
            .map_or((self.otherwise, None), |(net, action)| (*action, Some(*net)))
    }

    pub fn to_stored(&self) -> String {
        stored(self.rules.iter().map(|(n, a)| (n.to_string(), *a)), self.otherwise)
    }
}

/// Countries (ISO 3166 codes) and what sign-ins from them get. Addresses the location database
/// does not place (private networks, no database) are not judged by location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    rules: BTreeMap<String, Action>,
    otherwise: Action,
}

impl Locations {
    pub fn parse(text: &str) -> Result<Self, InputError> {
        let mut rules = BTreeMap::new();
        let mut otherwise = None;
        for (what, action) in lines(text, "User locations")? {
            if what == "*" {
                set_once(&mut otherwise, action, "User locations")?;
                continue;
            }
            let code = what.to_ascii_uppercase();
            let known = code.len() == 2
                && code.chars().all(|c| c.is_ascii_alphabetic())
                && phonenumber::metadata::DATABASE.by_id(&code).is_some();
            if !known {
                return Err(InputError::new(format!(
                    "User locations: \"{what}\" is not a two-letter ISO 3166 country code such as CH."
                )));
            }
            if rules.insert(code.clone(), action).is_some() {
                return Err(InputError::new(format!("User locations: {code} is listed twice.")));
            }
        }
        if rules.is_empty() && otherwise.is_none() {
            return Err(InputError::new("User locations: list at least one country, such as CH allow."));
        }
        Ok(Self { rules, otherwise: otherwise.unwrap_or(Action::Require) })
    }

    /// The action for a country, and whether a line names it (`false`: everything else).
    pub fn action(&self, country: &str) -> (Action, bool) {
        match self.rules.get(&country.to_ascii_uppercase()) {
            Some(action) => (*action, true),
            None => (self.otherwise, false),
        }
    }

    pub fn to_stored(&self) -> String {
        stored(self.rules.iter().map(|(c, a)| (c.clone(), *a)), self.otherwise)
    }
}

/// IPv4 addresses written as IPv6 (`::ffff:192.0.2.1`) match IPv4 networks.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

fn lines<'a>(text: &'a str, what: &str) -> Result<Vec<(&'a str, Action)>, InputError> {
    text.split(['\n', ';'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut words = line.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some(place), Some(action), None) => Action::parse(action)
                    .map(|a| (place, a))
                    .map_err(|e| InputError::new(format!("{what}: in \"{line}\", {}", e.0))),
                _ => Err(InputError::new(format!(
                    "{what}: \"{line}\" should be a place and an action (require, allow or deny), such as \"192.0.2.0/24 allow\" or \"* deny\"."
                ))),
            }
        })
        .collect()
}

fn set_once(slot: &mut Option<Action>, action: Action, what: &str) -> Result<(), InputError> {
    if slot.replace(action).is_some() {
        return Err(InputError::new(format!("{what}: \"*\" (everything else) is listed twice.")));
    }
    Ok(())
}

fn stored(rules: impl Iterator<Item = (String, Action)>, otherwise: Action) -> String {
    let mut lines: Vec<String> = rules.map(|(p, a)| format!("{p} {}", a.as_str())).collect();
    lines.push(format!("* {}", otherwise.as_str()));
    lines.join("; ")
}
