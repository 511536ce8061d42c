//! The request being served, as the pages that have no state at hand need it: its id (in its log
//! lines' span and as an error page's support ID) and the institution's names (an error page
//! keeps the header people know). Set by the request-span middleware for the request's future;
//! its own module, so the error page and the middleware do not import each other.

use std::sync::Arc;

use crate::config::Settings;

/// What the middleware knows of the request being served.
#[derive(Debug, Clone)]
pub struct Served {
    pub id: String,
    /// The settings (shared, not copied), when the application state is at hand.
    pub settings: Option<Arc<Settings>>,
}

tokio::task_local! {
    pub static SERVED: Served;
}

/// A new request id (12 hex digits).
pub fn new_id() -> String {
    crate::secrets::new_id()[..12].to_string()
}

/// The current request's id, or a new one outside a request.
pub fn current_id() -> String {
    SERVED.try_with(|s| s.id.clone()).unwrap_or_else(|_| new_id())
}

/// The product's and the institution's names, inside a request.
pub fn names() -> Option<(String, String)> {
    let settings = SERVED.try_with(|s| s.settings.clone()).ok().flatten()?;
    Some((settings.institution.product_name.clone(), settings.institution.name.clone()))
}
