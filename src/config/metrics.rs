//! The `[metrics]` section: whether `/metrics` is served, on which address, and to whom.
//! Prometheus scrapes it; users never need it, so it is closed to everyone else.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Serve Prometheus metrics at `/metrics`.
    pub enabled: bool,
    /// A separate address for `/metrics` (and `/healthz`, `/readyz`), e.g. `127.0.0.1:9090`.
    /// When set, the main address does not answer `/metrics` at all.
    pub bind: Option<String>,
    /// Client addresses allowed to read `/metrics` on the main address (after `trusted_proxies`).
    pub allowed_addresses: Vec<IpAddr>,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            bind: None,
            allowed_addresses: vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)],
        }
    }
}

impl MetricsSettings {
    /// The separate metrics address, when one is configured.
    pub fn bind_addr(&self) -> Result<Option<SocketAddr>, String> {
        match &self.bind {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| format!("`{text}` is not an address like 127.0.0.1:9090")),
        }
    }
}
