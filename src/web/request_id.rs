//! The id of the request being served, set by the request-span middleware and read by the error
//! page (its support ID): its own module, so neither of the two imports the other.

tokio::task_local! {
    /// The id of the request being served: in its log lines (the `request` span) and on its
    /// error page as the support id, so a help desk can find the one from the other.
    pub static REQUEST_ID: String;
}

/// The current request's id, or a new one outside a request.
pub fn current() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| crate::secrets::new_id()[..12].to_string())
}
