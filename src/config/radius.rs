//! The RADIUS server for VPNs (`[radius]`, docs/radius.md): where it listens, the clients allowed
//! to ask it (more can be added in the console), and the attributes each group's users get.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};
use crate::domain::radius::Mode;

/// The shortest shared secret accepted (RFC 2865 §3 advises at least 16 octets; short secrets are
/// what makes offline guessing and BlastRADIUS-style forgeries practical).
pub const MIN_SECRET_CHARS: usize = 16;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RadiusSettings {
    /// UDP address to listen on, e.g. `0.0.0.0:1812`. Empty: no RADIUS server.
    pub bind: String,
    /// What separates the password from the factor in append mode (`password,push`).
    pub separator: String,
    /// How long a reply is kept for a client that sends the same request again.
    pub duplicate_seconds: u32,
    /// How long the answer to an Access-Challenge may take.
    pub challenge_seconds: u32,
    pub clients: Vec<RadiusClientSettings>,
    /// Attributes for the users of a group, first matching group wins (Class, Filter-Id).
    pub group_replies: Vec<GroupReply>,
}

impl Default for RadiusSettings {
    fn default() -> Self {
        Self {
            bind: String::new(),
            separator: ",".into(),
            duplicate_seconds: 30,
            challenge_seconds: 300,
            clients: Vec::new(),
            group_replies: Vec::new(),
        }
    }
}

/// A RADIUS client defined in the configuration file (read-only in the console).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RadiusClientSettings {
    pub name: String,
    /// Source addresses or networks (CIDR) the client's requests come from.
    pub networks: Vec<String>,
    /// The shared secret, or `secret_file` to read it from a file (Docker/Kubernetes secrets).
    pub secret: Option<String>,
    pub secret_file: Option<PathBuf>,
    #[serde(default = "default_mode")]
    pub mode: Mode,
    /// Only users in one of these groups may sign in through this client (empty: everyone).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Requests without a valid Message-Authenticator are dropped (BlastRADIUS). Turn off only
    /// for a client that cannot send one; it then may not send Proxy-State either.
    #[serde(default = "yes")]
    pub require_message_authenticator: bool,
}

impl std::fmt::Debug for RadiusClientSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RadiusClientSettings")
            .field("name", &self.name)
            .field("networks", &self.networks)
            .field("mode", &self.mode)
            .field("groups", &self.groups)
            .finish_non_exhaustive()
    }
}

fn default_mode() -> Mode {
    Mode::Append
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupReply {
    pub group: String,
    pub class: Option<String>,
    pub filter_id: Option<String>,
}

impl RadiusSettings {
    /// The address to listen on, or `None` when RADIUS is off.
    pub fn bind_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        if self.bind.trim().is_empty() {
            return Ok(None);
        }
        let addr = self
            .bind
            .trim()
            .parse()
            .map_err(|_| invalid("radius.bind", format!("`{}` is not an address like 0.0.0.0:1812", self.bind)))?;
        Ok(Some(addr))
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.bind_addr()?;
        let sep = self.separator.as_str();
        if sep.chars().count() != 1 || sep.chars().any(|c| c.is_ascii_alphanumeric() || c.is_whitespace()) {
            return Err(invalid("radius.separator", "must be one character, not a letter, digit or space"));
        }
        if self.challenge_seconds < 30 || self.duplicate_seconds == 0 {
            return Err(invalid(
                "radius",
                "challenge_seconds must be at least 30 and duplicate_seconds greater than 0",
            ));
        }
        let mut names = std::collections::HashSet::new();
        for client in &self.clients {
            let name = client.name.trim();
            if name.is_empty() || !names.insert(name.to_lowercase()) {
                return Err(invalid("radius.clients", format!("every client needs a name of its own (`{name}`)")));
            }
            networks(&client.networks)
                .map_err(|reason| invalid("radius.clients", format!("client `{name}`: {reason}")))?;
            client.secret().map_err(|reason| invalid("radius.clients", format!("client `{name}`: {reason}")))?;
        }
        if let Some(g) = self.group_replies.iter().find(|g| g.group.trim().is_empty()) {
            return Err(invalid("radius.group_replies", format!("an entry has no group ({g:?})")));
        }
        Ok(())
    }
}

impl RadiusClientSettings {
    /// The shared secret (from `secret` or `secret_file`), checked for length.
    pub fn secret(&self) -> Result<String, String> {
        let secret = match (&self.secret, &self.secret_file) {
            (Some(s), None) => s.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read secret_file {}: {e}", path.display()))?
                .trim_end_matches(['\n', '\r'])
                .to_string(),
            _ => return Err("set exactly one of secret and secret_file".into()),
        };
        check_secret(&secret)?;
        Ok(secret)
    }
}

/// A shared secret's rules, the same for the file and the console.
pub fn check_secret(secret: &str) -> Result<(), String> {
    if secret.chars().count() < MIN_SECRET_CHARS {
        return Err(format!("the shared secret must have at least {MIN_SECRET_CHARS} characters"));
    }
    if secret.len() > 128 {
        return Err("the shared secret must have at most 128 bytes".into());
    }
    Ok(())
}

/// Source networks: CIDR (`10.0.0.0/8`, `2001:db8::/32`) or single addresses, at least one.
pub fn networks(texts: &[String]) -> Result<Vec<ipnet::IpNet>, String> {
    if texts.iter().all(|t| t.trim().is_empty()) {
        return Err("list at least one source address or network".into());
    }
    texts
        .iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<ipnet::IpNet>()
                .or_else(|_| t.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| format!("`{t}` is not an address or a network like 10.0.0.0/8"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(secret: &str) -> RadiusClientSettings {
        RadiusClientSettings {
            name: "VPN".into(),
            networks: vec!["10.0.0.0/8".into()],
            secret: Some(secret.into()),
            secret_file: None,
            mode: Mode::Append,
            groups: vec![],
            require_message_authenticator: true,
        }
    }

    #[test]
    fn radius_is_off_until_bound_and_clients_are_checked() {
        let mut r = RadiusSettings::default();
        assert_eq!(r.bind_addr().unwrap(), None);
        r.bind = "0.0.0.0:1812".into();
        r.clients.push(client("a long enough shared secret"));
        r.validate().unwrap();
        r.clients[0].secret = Some("short".into());
        assert!(r.validate().unwrap_err().to_string().contains("at least 16"));
        r.clients[0] = client("a long enough shared secret");
        r.clients[0].networks = vec!["10.0.0.0/33".into()];
        assert!(r.validate().unwrap_err().to_string().contains("10.0.0.0/33"));
        r.clients[0].networks = vec![];
        assert!(r.validate().is_err());
        r.clients[0] = client("a long enough shared secret");
        r.clients.push(client("another long shared secret"));
        assert!(r.validate().unwrap_err().to_string().contains("name of its own"));
        r.clients.pop();
        r.separator = "a".into();
        assert!(r.validate().is_err());
        r.bind = "1812".into();
        assert!(r.bind_addr().is_err());
    }

    #[test]
    fn networks_take_cidr_and_single_addresses() {
        let nets = networks(&["10.1.2.3/8".into(), "192.0.2.7".into(), "2001:db8::/32".into()]).unwrap();
        assert_eq!(nets[0].to_string(), "10.0.0.0/8");
        assert_eq!(nets[1].to_string(), "192.0.2.7/32");
        assert!(nets[2].contains(&"2001:db8::1".parse::<std::net::IpAddr>().unwrap()));
    }
}
