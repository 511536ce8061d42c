//! The LDAP/Active Directory directory (issue 18): the password check of directory accounts
//! (search with the service account, bind as the user) and the sync of accounts and groups
//! (`sync.rs`, written through `store::directory`). The core (`signin::password`) asks it, so
//! every door that takes a password gets it. `ldap3` over rustls (ring).

pub mod entries;
pub mod refusal;
pub mod schedule;
pub mod sync;

use std::sync::Arc;
use std::time::Duration;

use ldap3::controls::RawControl;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry, ldap_escape};

use crate::config::directory::DirectorySettings;
pub use entries::DirUser;
pub use refusal::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("directory: {0}")]
    Ldap(#[from] ldap3::LdapError),
    #[error("directory: {0}")]
    Setup(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What the directory says about a username and password.
#[derive(Debug)]
pub enum Check {
    Accepted(Box<DirUser>),
    Refused(Refusal),
}

/// The configured directory: settings and the TLS configuration built once.
#[derive(Clone)]
pub struct Directory {
    pub settings: Arc<DirectorySettings>,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory").field("url", &self.settings.url).finish()
    }
}

impl Directory {
    /// `None` when no directory is configured.
    pub fn new(settings: &DirectorySettings) -> Result<Option<Self>, DirectoryError> {
        if !settings.enabled() {
            return Ok(None);
        }
        let tls = match &settings.ca_file {
            Some(path) => Some(Arc::new(tls_config(path)?)),
            None => None,
        };
        Ok(Some(Self { settings: Arc::new(settings.clone()), tls }))
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.settings.timeout_seconds.max(1))
    }

    /// A new connection (TLS as configured), not yet bound.
    async fn connect(&self) -> Result<Ldap, DirectoryError> {
        let mut conn = LdapConnSettings::new().set_conn_timeout(self.timeout()).set_starttls(self.settings.starttls);
        if let Some(config) = &self.tls {
            conn = conn.set_config(config.clone());
        }
        let (conn, ldap) = LdapConnAsync::with_settings(conn, &self.settings.url).await?;
        ldap3::drive!(conn);
        Ok(ldap)
    }

    /// A connection bound as the service account.
    pub(crate) async fn service(&self) -> Result<Ldap, DirectoryError> {
        let mut ldap = self.connect().await?;
        let password = self.settings.bind_password.as_deref().unwrap_or_default();
        ldap.with_timeout(self.timeout()).simple_bind(&self.settings.bind_dn, password).await?.success()?;
        Ok(ldap)
    }

    /// The user filter ANDed with `username = name`.
    pub(crate) fn user_filter(&self, name: Option<&str>) -> String {
        let filter = &self.settings.user_filter;
        match name {
            Some(name) => format!("(&{filter}({}={}))", self.settings.attributes.username, ldap_escape(name)),
            None => filter.clone(),
        }
    }

    /// The entry of one user, searched by the service account (`None`: none, or more than one).
    pub async fn find_user(&self, ldap: &mut Ldap, name: &str) -> Result<Option<DirUser>, DirectoryError> {
        let (entries, _) = ldap
            .with_timeout(self.timeout())
            .search(
                &self.settings.base_dn,
                Scope::Subtree,
                &self.user_filter(Some(name)),
                entries::user_attributes(&self.settings),
            )
            .await?
            .success()?;
        if entries.len() != 1 {
            return Ok(None);
        }
        let entry = entries.into_iter().next().map(SearchEntry::construct);
        Ok(entry.and_then(|e| DirUser::from_entry(&self.settings.attributes, e)))
    }

    /// The password check: search for the user with the service account, then bind as them on a
    /// connection of their own, asking for the password-policy control. An empty password is
    /// refused before anything is sent (it would be an unauthenticated bind, which succeeds).
    pub async fn check_password(&self, name: &str, password: &str) -> Result<Check, DirectoryError> {
        if password.is_empty() {
            return Ok(Check::Refused(Refusal::WrongPassword));
        }
        let mut service = self.service().await?;
        let user = self.find_user(&mut service, name).await?;
        let _ = service.unbind().await;
        let Some(user) = user else { return Ok(Check::Refused(Refusal::WrongPassword)) };
        let mut ldap = self.connect().await?;
        let ask = RawControl { ctype: refusal::PPOLICY_OID.to_string(), crit: false, val: None };
        let result = ldap.with_timeout(self.timeout()).with_controls(ask).simple_bind(&user.dn, password).await?;
        let _ = ldap.unbind().await;
        let ppolicy = result.ctrls.iter().find(|c| c.1.ctype == refusal::PPOLICY_OID).and_then(|c| c.1.val.as_deref());
        Ok(match refusal::of_bind(result.rc, &result.text, ppolicy) {
            None if user.disabled => Check::Refused(Refusal::Disabled),
            None => Check::Accepted(Box::new(user)),
            // OpenLDAP's permanent lock is how an administrator disables an account there.
            Some(Refusal::Locked) if user.disabled => Check::Refused(Refusal::Disabled),
            Some(refusal) => Check::Refused(refusal),
        })
    }
}

/// A rustls client configuration (ring) trusting only the CA certificates of `path`.
fn tls_config(path: &std::path::Path) -> Result<rustls::ClientConfig, DirectoryError> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| DirectoryError::Setup(format!("directory.ca_file {}: {e}", path.display())))?;
    for certificate in certificates {
        let certificate =
            certificate.map_err(|e| DirectoryError::Setup(format!("directory.ca_file {}: {e}", path.display())))?;
        roots.add(certificate).map_err(|e| DirectoryError::Setup(format!("directory.ca_file: {e}")))?;
    }
    if roots.is_empty() {
        return Err(DirectoryError::Setup(format!("directory.ca_file {} holds no certificate", path.display())));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DirectoryError::Setup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
