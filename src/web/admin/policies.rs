//! "Policies": the rules administrators change without a restart. Each change is audit-logged
//! with its old and new value.

use crate::domain::AuditEvent;
use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Nav, Staff};
use crate::clock::now;
use crate::domain::access::{Action, NewUser};
use crate::domain::policy::Method;
use crate::policy::{
    ANONYMOUS_KEY, COUNTRIES_KEY, GROUP_PREFIX, LOCATIONS_KEY, METHODS_KEY, NETWORKS_KEY, NEW_USER_KEY, NUMBERS,
    Policy, SWITCHES,
};
use crate::store::{
    self,
    audit::{Event, Outcome},
};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::state::AppState;
use crate::web::{client_ip, html};

pub struct NumberField {
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
}

/// A checkbox per method, under "everyone" or a group.
pub struct MethodBox {
    pub key: &'static str,
    pub label: &'static str,
    pub on: bool,
}

pub struct GroupRow {
    pub name: String,
    pub members: i64,
    /// The group has its own list; otherwise its members follow the global default.
    pub overridden: bool,
    pub methods: Vec<MethodBox>,
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
    push: Vec<NumberField>,
    phone: Vec<NumberField>,
    countries: String,
    methods: Vec<MethodBox>,
    groups: Vec<GroupRow>,
    switches: Vec<SwitchField>,
    /// The access rules' global level, as typed or saved (networks and locations one per line).
    access: HashMap<&'static str, String>,
    new_users: [NewUser; 3],
    actions: [Action; 3],
    /// Applications, each with a link to its own policy.
    applications: Vec<super::access::Listed>,
    /// A country database / an anonymous-network database is configured.
    location_database: bool,
    anonymous_database: bool,
    error: Option<String>,
    saved: bool,
}

impl PoliciesPage {
    fn access_field(&self, key: &str) -> &str {
        self.access.get(key).map(String::as_str).unwrap_or("")
    }
}

/// The access rules of the global level, as the form shows them.
const ACCESS_KEYS: [&str; 4] = [NEW_USER_KEY, NETWORKS_KEY, LOCATIONS_KEY, ANONYMOUS_KEY];

fn boxes(on: impl Fn(Method) -> bool) -> Vec<MethodBox> {
    Method::ALL.iter().map(|m| MethodBox { key: m.as_str(), label: m.label(), on: on(*m) }).collect()
}

/// Imported groups and any group with an override (even one with no members left), by name.
async fn group_rows(state: &AppState, policy: &Policy) -> Result<Vec<GroupRow>, AppError> {
    let mut groups = store::import::groups(&state.db).await?;
    for name in policy.group_methods.keys() {
        if !groups.iter().any(|(g, _)| g == name) {
            groups.push((name.clone(), 0));
        }
    }
    groups.sort();
    Ok(groups
        .into_iter()
        .map(|(name, members)| {
            let set = policy.group_methods.get(&name);
            GroupRow {
                overridden: set.is_some(),
                methods: boxes(|m| set.unwrap_or(&policy.allowed_methods).allows(m)),
                name,
                members,
            }
        })
        .collect())
}

/// Applies the methods part of the form: the global checkboxes and, per listed group, its
/// override (kept only when "Own list" is ticked).
fn apply_methods(next: &mut Policy, form: &HashMap<String, String>, groups: &[GroupRow]) -> Vec<String> {
    let ticked = |prefix: &str| -> String {
        Method::ALL
            .iter()
            .filter(|m| form.contains_key(&format!("{prefix}{}", m.as_str())))
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut problems = Vec::new();
    if let Err(e) = next.set(METHODS_KEY, &ticked("method:")) {
        problems.push(e.0);
    }
    for group in groups {
        let own = form.contains_key(&format!("override:{}", group.name));
        let list = if own { ticked(&format!("group_method:{}:", group.name)) } else { String::new() };
        if own && list.is_empty() {
            problems.push(format!(
                "Allowed methods for {}: Allow at least one method, or untick \"Own list\".",
                group.name
            ));
        } else if let Err(e) = next.set(&format!("{GROUP_PREFIX}{}", group.name), &list) {
            problems.push(e.0);
        }
    }
    problems
}

async fn page(
    state: &AppState,
    staff: &Staff,
    policy: &Policy,
    typed: Option<&HashMap<String, String>>,
    error: Option<String>,
    saved: bool,
) -> Result<PoliciesPage, AppError> {
    let mut numbers: Vec<NumberField> = NUMBERS
        .iter()
        .map(|(key, label, ..)| NumberField {
            key,
            label,
            value: typed
                .and_then(|t| t.get(*key).cloned())
                .unwrap_or_else(|| policy.number(key).unwrap_or_default().to_string()),
        })
        .collect();
    let phone = numbers.split_off(7);
    let push = numbers.split_off(4);
    let countries =
        typed.and_then(|t| t.get(COUNTRIES_KEY).cloned()).unwrap_or_else(|| policy.allowed_countries.join(", "));
    let switches = SWITCHES
        .iter()
        .map(|(key, label)| SwitchField { key, label, on: policy.switch(key).unwrap_or_default() })
        .collect();
    let entries: HashMap<String, String> = policy.entries().into_iter().collect();
    let access = ACCESS_KEYS
        .iter()
        .map(|k| {
            let saved = entries.get(*k).map(|v| v.replace("; ", "\n")).unwrap_or_default();
            (*k, typed.and_then(|t| t.get(*k).cloned()).unwrap_or(saved))
        })
        .collect();
    Ok(PoliciesPage {
        access,
        new_users: NewUser::ALL,
        actions: Action::ALL,
        applications: super::access::applications(state).await?,
        location_database: state.locator.has_countries(),
        anonymous_database: state.locator.has_anonymous(),
        chrome: staff.chrome(state),
        nav: Nav { admin: true, current: "policies" },
        numbers,
        push,
        phone,
        countries,
        methods: boxes(|m| policy.allowed_methods.allows(m)),
        groups: group_rows(state, policy).await?,
        switches,
        error,
        saved,
    })
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
    html(StatusCode::OK, &page(&state, &staff, &policy, None, None, q.saved.is_some()).await?)
}

/// The form has a field per rule; a checkbox that is not ticked is simply absent.
pub async fn policies_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    form: CsrfForm<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let form = form.0;
    let current = state.policy().await?;
    let mut next = current.clone();
    let mut problems = Vec::new();
    for (key, ..) in NUMBERS {
        if let Err(e) = next.set(key, form.get(key).map(String::as_str).unwrap_or("")) {
            problems.push(e.0);
        }
    }
    if let Err(e) = next.set(COUNTRIES_KEY, form.get(COUNTRIES_KEY).map(String::as_str).unwrap_or("")) {
        problems.push(e.0);
    }
    problems.extend(apply_methods(&mut next, &form, &group_rows(&state, &current).await?));
    for key in ACCESS_KEYS {
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
            &page(&state, &staff, &next, Some(&form), Some(problems.join(" ")), false).await?,
        );
    }
    let changes = next.changes_from(&current);
    if !changes.is_empty() {
        let t = now();
        let rules: Vec<(&str, String)> = changes.iter().map(|(k, _, new)| (k.as_str(), new.clone())).collect();
        store::policies::save(&state.db, &rules, &staff.user.id, t).await?;
        state.forget_policy();
        let ip = client_ip(&req);
        for (key, old, new) in &changes {
            let (old, new) = (shown(key, old), shown(key, new));
            let detail = format!("{key}: {old} → {new} (by {})", staff.user.username);
            let e = Event::new(AuditEvent::PolicyChanged, Outcome::Info)
                .actor(&staff.user.id)
                .ip(ip.as_deref())
                .detail(&detail);
            store::audit::record(&state.db, e, t).await?;
        }
    }
    Ok(see_other("/admin/policies?saved=1"))
}

/// An empty stored value is a group following the global default, or no access rule.
fn shown<'a>(key: &str, value: &'a str) -> &'a str {
    match value {
        "" if key.starts_with(GROUP_PREFIX) => "(global default)",
        "" => "(none)",
        _ => value,
    }
}
