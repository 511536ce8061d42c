//! "Policies": the rules administrators change without a restart. Each change is audit-logged
//! with its old and new value.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Nav, Staff};
use crate::error::{AppError, see_other};
use crate::policy::{NUMBERS, Policy, SWITCHES};
use crate::store::{
    self,
    audit::{Event, Outcome},
};
use crate::web::chrome::Chrome;
use crate::web::session::UserSession;
use crate::web::state::{AppState, now};
use crate::web::{client_ip, html};

pub struct NumberField {
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
}

pub struct SwitchField {
    pub key: &'static str,
    pub label: &'static str,
    pub on: bool,
}

#[derive(Template)]
#[template(path = "admin/policies.html")]
struct PoliciesPage {
    chrome: Chrome,
    nav: Nav,
    numbers: Vec<NumberField>,
    switches: Vec<SwitchField>,
    error: Option<String>,
    saved: bool,
}

fn page(
    state: &AppState,
    staff: &Staff,
    policy: &Policy,
    typed: Option<&HashMap<String, String>>,
    error: Option<String>,
    saved: bool,
) -> PoliciesPage {
    let numbers = NUMBERS
        .iter()
        .map(|(key, label, ..)| NumberField {
            key,
            label,
            value: typed
                .and_then(|t| t.get(*key).cloned())
                .unwrap_or_else(|| policy.number(key).unwrap_or_default().to_string()),
        })
        .collect();
    let switches = SWITCHES
        .iter()
        .map(|(key, label)| SwitchField { key, label, on: policy.switch(key).unwrap_or_default() })
        .collect();
    PoliciesPage {
        chrome: staff.chrome(state),
        nav: Nav { admin: true, current: "policies" },
        numbers,
        switches,
        error,
        saved,
    }
}

#[derive(serde::Deserialize)]
pub struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

pub async fn policies_get(
    staff: Staff,
    state: web::Data<AppState>,
    q: web::Query<SavedQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let policy = state.policy().await?;
    html(StatusCode::OK, &page(&state, &staff, &policy, None, None, q.saved.is_some()))
}

/// The form has a field per rule; a checkbox that is not ticked is simply absent.
pub async fn policies_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let form = form.into_inner();
    // This form's fields are dynamic, so the CSRF check is made here rather than by CsrfForm.
    if !UserSession::from_request(&req).csrf_matches(form.get("csrf_token").map(String::as_str).unwrap_or("")) {
        return Err(AppError::Csrf);
    }
    let current = state.policy().await?;
    let mut next = current.clone();
    let mut problems = Vec::new();
    for (key, ..) in NUMBERS {
        if let Err(e) = next.set(key, form.get(key).map(String::as_str).unwrap_or("")) {
            problems.push(e.0);
        }
    }
    for (key, _) in SWITCHES {
        next.set(key, if form.contains_key(key) { "true" } else { "false" })
            .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    }
    if !problems.is_empty() {
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(&state, &staff, &next, Some(&form), Some(problems.join(" ")), false),
        );
    }
    let changes = next.changes_from(&current);
    if !changes.is_empty() {
        let t = now();
        let rules: Vec<(&str, String)> = changes.iter().map(|(k, _, new)| (*k, new.clone())).collect();
        store::policies::save(&state.db, &rules, &staff.user.id, t).await?;
        state.forget_policy();
        let ip = client_ip(&req);
        for (key, old, new) in &changes {
            let detail = format!("{key}: {old} → {new} (by {})", staff.user.username);
            let e = Event::new("policy.changed", Outcome::Info).actor(&staff.user.id).ip(ip.as_deref()).detail(&detail);
            store::audit::record(&state.db, e, t).await?;
        }
    }
    Ok(see_other("/admin/policies?saved=1"))
}
