//! The RADIUS clients (VPNs, network devices) allowed to ask: those in the configuration file and
//! those added in the console (secret sealed at rest). A request is matched to a client by its
//! source address, the most specific network first; anything else is dropped unanswered.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use zeroize::Zeroizing;

use crate::config::radius::{RadiusClientSettings, check_secret, networks};
use crate::domain::radius::Mode;
use crate::domain::{AuditEvent, InputError};
use crate::secrets::{new_id, random_token};
use crate::signin::{Error, SignIn};
use crate::store::audit::{Event, Outcome};
use crate::store::radius_clients::{self, NewRadiusClient, RadiusClientRow};
use crate::store::{self, StoreError};

/// How long one instance reuses the clients it read (a change on another instance is seen
/// within this time; one made in this instance's console at once).
const TTL: Duration = Duration::from_secs(5);

pub struct Client {
    /// The console's id, or `config:<name>` for a client in the configuration file.
    pub id: String,
    pub name: String,
    pub networks: Vec<IpNet>,
    pub secret: Zeroizing<Vec<u8>>,
    pub mode: Mode,
    pub groups: Vec<String>,
    pub require_message_authenticator: bool,
    pub from_config: bool,
}

impl Client {
    fn from_settings(c: &RadiusClientSettings) -> Result<Client, Error> {
        let invalid = |reason: String| Error::Other(format!("radius client {}: {reason}", c.name));
        Ok(Client {
            id: format!("config:{}", c.name),
            name: c.name.trim().to_string(),
            networks: networks(&c.networks).map_err(invalid)?,
            secret: Zeroizing::new(c.secret().map_err(invalid)?.into_bytes()),
            mode: c.mode,
            groups: c.groups.clone(),
            require_message_authenticator: c.require_message_authenticator,
            from_config: true,
        })
    }

    fn from_row(core: &SignIn, row: &RadiusClientRow) -> Result<Client, Error> {
        let invalid = |reason: String| Error::Other(format!("radius client {}: {reason}", row.name));
        let list: Vec<String> = row.networks.split(',').map(str::to_string).collect();
        Ok(Client {
            id: row.id.clone(),
            name: row.name.clone(),
            networks: networks(&list).map_err(invalid)?,
            secret: core.keys.open(&sealing_context(&row.id), &row.secret_sealed)?,
            mode: Mode::parse(&row.mode).map_err(|e| invalid(e.0))?,
            groups: split_groups(&row.group_names),
            require_message_authenticator: row.require_message_authenticator != 0,
            from_config: false,
        })
    }

    /// The longest prefix among this client's networks that holds `ip`.
    fn matches(&self, ip: IpAddr) -> Option<u8> {
        self.networks.iter().filter(|n| n.contains(&ip)).map(IpNet::prefix_len).max()
    }
}

fn sealing_context(id: &str) -> String {
    format!("radius-secret:{id}")
}

fn split_groups(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_string).collect()
}

/// Every client, the configuration file's first.
pub async fn load(core: &SignIn) -> Result<Vec<Client>, Error> {
    let mut clients = core.settings.radius.clients.iter().map(Client::from_settings).collect::<Result<Vec<_>, _>>()?;
    for row in radius_clients::list(&core.db).await? {
        match Client::from_row(core, &row) {
            Ok(client) => clients.push(client),
            Err(e) => tracing::error!(client = %row.name, error = %e, "RADIUS client left out"),
        }
    }
    Ok(clients)
}

type Cached = Option<(Instant, Arc<Vec<Arc<Client>>>)>;

/// The clients as the server looks them up (cached for `TTL`).
pub struct Clients {
    core: SignIn,
    cache: Mutex<Cached>,
}

impl Clients {
    pub fn new(core: SignIn) -> Self {
        Self { core, cache: Mutex::new(None) }
    }

    pub async fn all(&self) -> Result<Arc<Vec<Arc<Client>>>, Error> {
        if let Ok(cache) = self.cache.lock()
            && let Some((at, clients)) = cache.as_ref()
            && at.elapsed() < TTL
        {
            return Ok(clients.clone());
        }
        let clients = Arc::new(load(&self.core).await?.into_iter().map(Arc::new).collect::<Vec<_>>());
        if let Ok(mut cache) = self.cache.lock() {
            *cache = Some((Instant::now(), clients.clone()));
        }
        Ok(clients)
    }

    /// The client whose networks hold `ip` most specifically.
    pub async fn find(&self, ip: IpAddr) -> Result<Option<Arc<Client>>, Error> {
        let ip = ip.to_canonical();
        let clients = self.all().await?;
        // The longest prefix wins; on a tie, the first listed (the configuration file's first).
        let best = clients.iter().rev().filter_map(|c| Some((c.matches(ip)?, c))).max_by_key(|(len, _)| *len);
        Ok(best.map(|(_, c)| c.clone()))
    }

    /// Forgets the cached clients (after a change in the console).
    pub fn forget(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            *cache = None;
        }
    }
}

/// A client as the console's form gives it.
pub struct ClientForm<'a> {
    pub name: &'a str,
    pub networks: &'a str,
    /// Empty: a random secret is made (shown once).
    pub secret: &'a str,
    pub mode: &'a str,
    pub groups: &'a str,
    pub require_message_authenticator: bool,
}

/// Who made a console change, for the audit log.
#[derive(Clone, Copy)]
pub struct By<'a> {
    pub id: &'a str,
    pub ip: Option<&'a str>,
}

/// A console change was refused: the words for the form.
#[derive(Debug)]
pub enum Refused {
    Input(InputError),
    Failed(Error),
}

impl From<Error> for Refused {
    fn from(e: Error) -> Self {
        Refused::Failed(e)
    }
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Refused::Failed(e.into())
    }
}

fn input(message: impl Into<String>) -> Refused {
    Refused::Input(InputError::new(message))
}

/// A random shared secret: 32 characters, well past the 16 most devices require.
fn new_secret() -> String {
    random_token().chars().filter(char::is_ascii_alphanumeric).take(32).collect()
}

/// Adds a client from the console; returns its id and the shared secret (shown once).
pub async fn add(core: &SignIn, by: By<'_>, form: ClientForm<'_>) -> Result<(String, String), Refused> {
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(input("Give the client a name of 1 to 100 characters."));
    }
    if core.settings.radius.clients.iter().any(|c| c.name.trim().eq_ignore_ascii_case(name)) {
        return Err(input("A client in the configuration file already has this name."));
    }
    let texts: Vec<String> = form.networks.split([',', '\n', ' ']).map(str::to_string).collect();
    let nets = networks(&texts).map_err(input)?;
    let secret = if form.secret.is_empty() { new_secret() } else { form.secret.to_string() };
    check_secret(&secret).map_err(input)?;
    let mode = Mode::parse(form.mode).map_err(Refused::Input)?;
    let groups = split_groups(form.groups).join(",");
    let id = new_id();
    let sealed = core.keys.seal(&sealing_context(&id), secret.as_bytes()).map_err(Error::from)?;
    let networks = nets.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    let row = NewRadiusClient {
        id: &id,
        name,
        networks: &networks,
        secret_sealed: &sealed,
        mode: mode.as_str(),
        group_names: &groups,
        require_message_authenticator: form.require_message_authenticator,
    };
    match radius_clients::insert(&core.db, row, core.now()).await {
        Err(StoreError::Conflict) => return Err(input("A client with this name exists already.")),
        other => other?,
    }
    let detail = format!("{name}: {networks}, mode {}", mode.as_str());
    audit(core, by, AuditEvent::RadiusClientAdded, &detail).await?;
    Ok((id, secret))
}

/// A new random shared secret for a console client (shown once), with the client's name.
pub async fn rotate(core: &SignIn, by: By<'_>, id: &str) -> Result<Option<(String, String)>, Refused> {
    let Some(row) = radius_clients::by_id(&core.db, id).await? else { return Ok(None) };
    let secret = new_secret();
    let sealed = core.keys.seal(&sealing_context(id), secret.as_bytes()).map_err(Error::from)?;
    if !radius_clients::set_secret(&core.db, id, &sealed).await? {
        return Ok(None);
    }
    audit(core, by, AuditEvent::RadiusClientRotated, &row.name).await?;
    Ok(Some((row.name, secret)))
}

pub async fn delete(core: &SignIn, by: By<'_>, id: &str) -> Result<bool, Refused> {
    let Some(row) = radius_clients::by_id(&core.db, id).await? else { return Ok(false) };
    if radius_clients::delete(&core.db, id).await? {
        crate::store::application_policies::forget(&core.db, &crate::signin::access::radius_scope(&row.name)).await?;
        audit(core, by, AuditEvent::RadiusClientDeleted, &row.name).await?;
        return Ok(true);
    }
    Ok(false)
}

async fn audit(core: &SignIn, by: By<'_>, event: AuditEvent, detail: &str) -> Result<(), StoreError> {
    let e = Event::new(event, Outcome::Info).actor(by.id).ip(by.ip).detail(detail);
    store::audit::record(&core.db, e, core.now()).await
}

/// A client as the console lists it (no secret).
pub struct Listed {
    /// `None` for a client in the configuration file (read-only).
    pub id: Option<String>,
    pub name: String,
    pub networks: String,
    pub mode: Mode,
    pub groups: String,
    pub require_message_authenticator: bool,
}

/// Every client, the configuration file's first, for the console.
pub async fn listed(core: &SignIn) -> Result<Vec<Listed>, StoreError> {
    let mut all: Vec<Listed> = core
        .settings
        .radius
        .clients
        .iter()
        .map(|c| Listed {
            id: None,
            name: c.name.clone(),
            networks: c.networks.join(", "),
            mode: c.mode,
            groups: c.groups.join(", "),
            require_message_authenticator: c.require_message_authenticator,
        })
        .collect();
    for row in radius_clients::list(&core.db).await? {
        all.push(Listed {
            id: Some(row.id),
            name: row.name,
            networks: row.networks.replace(',', ", "),
            mode: Mode::parse(&row.mode).unwrap_or(Mode::Append),
            groups: row.group_names.replace(',', ", "),
            require_message_authenticator: row.require_message_authenticator != 0,
        });
    }
    Ok(all)
}
