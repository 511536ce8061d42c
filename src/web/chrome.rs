//! What every page shows around its one task: product and institution name, logo, the signed-in
//! user with "Log out", and the CSRF token that the header's forms carry.

use askama::Template;

use super::state::AppState;

#[derive(Debug, Clone)]
pub struct Chrome {
    pub product: String,
    pub institution: String,
    /// Whether the institution's logo is served at `/branding/logo`.
    pub logo: bool,
    /// Display name of the signed-in user, when there is one.
    pub user: Option<String>,
    /// Token for the header's "Log out" form (empty when nobody is signed in).
    pub csrf: String,
    /// Whom to contact, as configured (`institution.help_desk`), for "Contact …" messages.
    pub help_desk: String,
}

impl Chrome {
    pub fn new(state: &AppState, user: Option<&str>, csrf: &str) -> Self {
        let inst = &state.settings.institution;
        Self {
            product: inst.product_name.clone(),
            institution: inst.name.clone(),
            logo: state.logo.is_some(),
            user: user.map(str::to_string),
            csrf: csrf.to_string(),
            help_desk: inst.help_desk.clone(),
        }
    }

    /// For error pages, rendered where no state is at hand: the institution's names from the
    /// request being served (no logo, no user: the page must render whatever failed).
    pub fn for_error() -> Self {
        let (product, institution) = super::served::names().unwrap_or_else(|| ("Twofold".into(), String::new()));
        let help_desk = "your help desk".to_string();
        Self { product, institution, logo: false, user: None, csrf: String::new(), help_desk }
    }
}

/// A choice on a radio-button page.
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub chrome: Chrome,
    pub title: &'a str,
    pub message: &'a str,
    pub support_id: Option<&'a str>,
}
