//! Where sign-ins come from: the GeoIP databases the administrator points to (MMDB format:
//! MaxMind GeoLite2/GeoIP2 Country or City, DB-IP Lite Country, and optionally GeoIP2
//! Anonymous IP). Twofold ships none and works without one.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct GeoipSettings {
    /// A country (or city) database: the country of each sign-in, for the user-location rules.
    pub country_database: Option<PathBuf>,
    /// An anonymous-IP database (VPN services, proxies, Tor, hosting), for the anonymous-network rule.
    pub anonymous_database: Option<PathBuf>,
}

impl GeoipSettings {
    /// Each database named must open as an MMDB file, so a typo stops the start, not a sign-in.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, path) in
            [("geoip.country_database", &self.country_database), ("geoip.anonymous_database", &self.anonymous_database)]
        {
            if let Some(path) = path {
                maxminddb::Reader::open_readfile(path)
                    .map_err(|e| invalid(key, format!("{} is not a readable MMDB database: {e}", path.display())))?;
            }
        }
        Ok(())
    }
}
