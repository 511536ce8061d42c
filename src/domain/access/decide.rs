//! The decision for one sign-in, once the password (or the application) has vouched for the user:
//! deny, let through without a second factor, or go on as usual (the second factor, or enrolment
//! for a user who has none).

use std::net::IpAddr;

use ipnet::IpNet;

use super::{Action, Effective, Level, NewUser};

/// Which kind of door asks. The portal manages the second factors themselves, so nothing lets a
/// sign-in to it through without one; denials apply everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    Portal,
    Application,
}

/// Where a request comes from, as far as is known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Where {
    pub address: Option<IpAddr>,
    /// ISO 3166 code from the location database, when it places the address.
    pub country: Option<String>,
    /// The anonymous-network database lists the address (VPN service, proxy, Tor, hosting).
    pub anonymous: bool,
}

/// Which rule decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// An authorized-networks rule: the network that matched (`None`: everything else).
    Network {
        network: Option<IpNet>,
        level: Level,
    },
    /// A user-location rule for this country (`named`: a line names it; otherwise "everything else").
    Location {
        country: String,
        named: bool,
        level: Level,
    },
    Anonymous {
        level: Level,
    },
    NewUser {
        level: Level,
    },
}

impl Reason {
    /// For the audit log and the console's explainer.
    pub fn describe(&self, application: &str) -> String {
        match self {
            Reason::Network { network: Some(net), level } => {
                format!("network {net} ({})", level.describe(application))
            }
            Reason::Network { network: None, level } => {
                format!("an address outside the listed networks ({})", level.describe(application))
            }
            Reason::Location { country, named: true, level } => {
                format!("location {country} ({})", level.describe(application))
            }
            Reason::Location { country, named: false, level } => {
                format!("location {country}, not listed ({})", level.describe(application))
            }
            Reason::Anonymous { level } => format!("an anonymous network ({})", level.describe(application)),
            Reason::NewUser { level } => format!("new-user policy ({})", level.describe(application)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Deny(Reason),
    /// Through without a second factor (applications only).
    AllowWithoutMfa(Reason),
    /// As usual: the second factor, or enrolment for a user who has nothing to verify with.
    Continue,
}

/// Denials first (anonymous network, location, network, then the new-user policy for a user who
/// never enrolled); then, at applications, a rule that allows without a second factor; else as usual.
pub fn decide(rules: &Effective, at: &Where, enrolled: bool, door: Door) -> Decision {
    let anonymous = match (rules.anonymous.0, at.anonymous) {
        (Some(action), true) => Some((action, Reason::Anonymous { level: rules.anonymous.1.clone() })),
        _ => None,
    };
    let location = match (&rules.locations.0, &at.country) {
        (Some(locations), Some(country)) => {
            let (action, named) = locations.action(country);
            Some((action, Reason::Location { country: country.clone(), named, level: rules.locations.1.clone() }))
        }
        _ => None,
    };
    let network = rules.networks.0.as_ref().map(|networks| {
        let (action, network) = networks.action(at.address);
        (action, Reason::Network { network, level: rules.networks.1.clone() })
    });
    let checks: Vec<(Action, Reason)> = [anonymous, location, network].into_iter().flatten().collect();
    if let Some((_, reason)) = checks.iter().find(|(a, _)| *a == Action::Deny) {
        return Decision::Deny(reason.clone());
    }
    let new_user = (rules.new_user.0, Reason::NewUser { level: rules.new_user.1.clone() });
    if door == Door::Portal {
        return Decision::Continue;
    }
    if !enrolled && new_user.0 == NewUser::Deny {
        return Decision::Deny(new_user.1);
    }
    if let Some((_, reason)) = checks.into_iter().find(|(a, _)| *a == Action::Allow) {
        return Decision::AllowWithoutMfa(reason);
    }
    if !enrolled && new_user.0 == NewUser::Allow {
        return Decision::AllowWithoutMfa(new_user.1);
    }
    Decision::Continue
}
