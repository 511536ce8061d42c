//! Where an address is: its country and whether it is an anonymous network, from the MMDB
//! databases named in `[geoip]` (read with the `maxminddb` crate). A database replaced on disk
//! (geoipupdate runs weekly) is read again within a minute, without a restart; one that cannot be
//! read keeps the last good copy.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use maxminddb::{Reader, geoip2};

use crate::config::geoip::GeoipSettings;
use crate::domain::access::Where;

/// How often a database file is checked for a newer copy.
const CHECK_EVERY: Duration = Duration::from_secs(60);

/// The location databases (each optional).
pub struct Locator {
    country: Option<Database>,
    anonymous: Option<Database>,
}

impl Locator {
    pub fn new(settings: &GeoipSettings) -> Self {
        Self {
            country: settings.country_database.as_deref().map(Database::open),
            anonymous: settings.anonymous_database.as_deref().map(Database::open),
        }
    }

    /// Whether a country database is configured (the console says so beside the location rules).
    pub fn has_countries(&self) -> bool {
        self.country.is_some()
    }

    pub fn has_anonymous(&self) -> bool {
        self.anonymous.is_some()
    }

    /// What is known of `address` (nothing without an address or a database).
    pub fn locate(&self, address: Option<IpAddr>) -> Where {
        let Some(ip) = address.map(canonical) else { return Where::default() };
        let country = self.country.as_ref().and_then(|db| {
            db.with(|r| {
                let found = r.lookup(ip).ok()?.decode::<geoip2::Country>().ok()??;
                found.country.iso_code.map(str::to_ascii_uppercase)
            })
        });
        let anonymous = self.anonymous.as_ref().and_then(|db| {
            db.with(|r| {
                let a = r.lookup(ip).ok()?.decode::<geoip2::AnonymousIp>().ok()??;
                Some(
                    [a.is_anonymous, a.is_anonymous_vpn, a.is_public_proxy, a.is_tor_exit_node, a.is_residential_proxy]
                        .into_iter()
                        .any(|f| f == Some(true)),
                )
            })
        });
        Where { address: Some(ip), country, anonymous: anonymous.unwrap_or(false) }
    }
}

fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// A database read into memory, shared by the lookups running on it.
type Shared = Arc<Reader<Vec<u8>>>;

struct Loaded {
    reader: Option<Shared>,
    modified: Option<SystemTime>,
    checked: Instant,
}

struct Database {
    path: PathBuf,
    loaded: RwLock<Loaded>,
}

impl Database {
    fn open(path: &Path) -> Self {
        let (reader, modified) = read(path);
        let loaded = Loaded { reader, modified, checked: Instant::now() };
        Self { path: path.to_path_buf(), loaded: RwLock::new(loaded) }
    }

    /// Runs `f` on the current copy, first reading the file again if it changed.
    fn with<T>(&self, f: impl FnOnce(&Reader<Vec<u8>>) -> Option<T>) -> Option<T> {
        self.refresh();
        let reader = self.loaded.read().ok()?.reader.clone()?;
        f(&reader)
    }

    fn refresh(&self) {
        let due = self.loaded.read().map(|l| l.checked.elapsed() >= CHECK_EVERY).unwrap_or(false);
        if !due {
            return;
        }
        let Ok(mut loaded) = self.loaded.write() else { return };
        loaded.checked = Instant::now();
        let modified = std::fs::metadata(&self.path).and_then(|m| m.modified()).ok();
        if modified.is_none() || modified == loaded.modified {
            return;
        }
        if let (Some(reader), modified) = read(&self.path) {
            tracing::info!(path = %self.path.display(), "read the updated GeoIP database");
            loaded.reader = Some(reader);
            loaded.modified = modified;
        }
    }
}

fn read(path: &Path) -> (Option<Shared>, Option<SystemTime>) {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    match Reader::open_readfile(path) {
        Ok(reader) => (Some(Arc::new(reader)), modified),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read the GeoIP database; locations are unknown");
            (None, modified)
        }
    }
}
