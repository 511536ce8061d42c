//! Shared application state handed to every handler (no globals): the sign-in core with what it
//! works with (database, keys, settings, policy, channels), and what only the web layer needs.

use std::sync::Arc;

use crate::config::Logo;
use crate::metrics::Metrics;
use crate::signin::SignIn;

pub struct AppState {
    /// The sign-in core and its context; `state.db`, `state.keys`, `state.policy()` … reach it
    /// through `Deref`.
    pub signin: SignIn,
    /// The institution's logo, when configured.
    pub logo: Option<Logo>,
    pub metrics: Arc<Metrics>,
    /// The OpenID Connect providers users may sign in with (discovery and keys cached).
    pub oidc: Arc<crate::oidc::Providers>,
    /// The RADIUS clients (the console forgets the cached ones after a change).
    pub radius: Arc<crate::radius::Clients>,
    /// Where the RADIUS server listens (UDP), when it is on.
    pub radius_addr: Option<std::net::SocketAddr>,
    /// Microsoft Entra ID's signing keys, for the hints of External Authentication Methods.
    pub entra_keys: Arc<crate::openid::hint::EntraKeys>,
}

impl std::ops::Deref for AppState {
    type Target = SignIn;

    fn deref(&self) -> &SignIn {
        &self.signin
    }
}

impl AppState {
    /// Cookies are marked Secure (and use the `__Host-` prefix) when users reach us over TLS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// The hostname applications sign (Duo APIs): configured, or the public URL's host.
    pub fn api_hostname(&self) -> String {
        self.settings
            .duo
            .api_hostname
            .clone()
            .unwrap_or_else(|| self.public_url.host_str().unwrap_or("localhost").to_string())
    }

    /// `scheme://host[:port]` of the public URL, as browsers send it in `Origin`.
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }
}
