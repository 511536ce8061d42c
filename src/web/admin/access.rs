//! Application policies: the access rules of one application and of a group at it (each rule
//! either set here or following the level below), and the explainer "what applies to user X at
//! application Y from address Z". The rules and their precedence are `domain::access`'s; the
//! decision is the core's (`signin::access`), the same one every door asks.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Nav, Staff};
use crate::clock::now;
use crate::domain::access::{Action, Decision, Door, Effective, KEYS, NewUser, Rules};
use crate::domain::policy::Method;
use crate::domain::{AuditEvent, Username};
use crate::signin::access::{Access, place, radius_scope, registered_scope};
use crate::signin::{Application, Caller};
use crate::store::{
    self,
    audit::{Event, Outcome},
};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::state::AppState;
use crate::web::{client_ip, html};

/// An application whose rules can be set: its policy scope, name and kind.
pub struct Listed {
    pub scope: String,
    /// The scope, URL-encoded for links.
    pub scope_q: String,
    pub name: String,
    pub kind: &'static str,
    /// Rules set at the application or for a group at it.
    pub has_rules: bool,
}

/// Every application: those in the console (Auth API, Universal Prompt) and the RADIUS clients.
pub async fn applications(state: &AppState) -> Result<Vec<Listed>, AppError> {
    let saved = store::application_policies::all(&state.db).await?;
    let has = |scope: &str| saved.iter().any(|r| r.application == scope);
    let mut all: Vec<Listed> = store::applications::list(&state.db)
        .await?
        .into_iter()
        // Admin API applications sign nobody in.
        .filter(|a| a.kind != "admin-api")
        .map(|a| {
            let scope = registered_scope(&a.id);
            let kind = match a.kind.as_str() {
                "web" => "Universal Prompt",
                "oidc" => "OpenID Connect",
                "entra" => "Microsoft Entra ID",
                _ => "Auth API",
            };
            Listed { has_rules: has(&scope), scope_q: urlencode(&scope), scope, name: a.name, kind }
        })
        .collect();
    for c in crate::radius::clients::listed(state).await? {
        let scope = radius_scope(&c.name);
        all.push(Listed { has_rules: has(&scope), scope_q: urlencode(&scope), scope, name: c.name, kind: "RADIUS" });
    }
    Ok(all)
}

async fn named(state: &AppState, scope: &str) -> Result<Listed, AppError> {
    applications(state).await?.into_iter().find(|a| a.scope == scope).ok_or(AppError::NotFound)
}

#[derive(Template)]
#[template(path = "admin/access_level.html")]
struct LevelPage {
    chrome: Chrome,
    nav: Nav,
    application: Listed,
    /// Empty: the application's own rules.
    group: String,
    /// The scope and the group, URL-encoded for links.
    app_q: String,
    group_q: String,
    /// (name, URL-encoded name) of every group.
    groups: Vec<(String, String)>,
    own_methods: bool,
    methods: Vec<(&'static str, &'static str, bool)>,
    fields: HashMap<&'static str, String>,
    new_users: [NewUser; 3],
    actions: [Action; 3],
    error: Option<String>,
    saved: bool,
}

impl LevelPage {
    fn field(&self, key: &str) -> &str {
        self.fields.get(key).map(String::as_str).unwrap_or("")
    }
}

#[derive(serde::Deserialize)]
pub struct LevelQuery {
    app: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    saved: Option<String>,
}

fn level_page(
    state: &AppState,
    staff: &Staff,
    application: Listed,
    group: &str,
    groups: Vec<String>,
    rules: &Rules,
    error: Option<String>,
) -> LevelPage {
    let fields = KEYS.iter().filter_map(|k| rules.get(k).map(|v| (*k, v.replace("; ", "\n")))).collect();
    LevelPage {
        chrome: staff.chrome(state),
        nav: Nav { admin: true, current: "policies" },
        app_q: urlencode(&application.scope),
        group_q: urlencode(group),
        application,
        group: group.to_string(),
        groups: groups.into_iter().map(|g| (urlencode(&g), g)).map(|(q, g)| (g, q)).collect(),
        own_methods: rules.methods.is_some(),
        methods: Method::ALL
            .iter()
            .map(|m| (m.as_str(), m.label(), rules.methods.as_ref().is_none_or(|s| s.allows(*m))))
            .collect(),
        fields,
        new_users: NewUser::ALL,
        actions: Action::ALL,
        error,
        saved: false,
    }
}

async fn group_names(state: &AppState) -> Result<Vec<String>, AppError> {
    Ok(store::import::groups(&state.db).await?.into_iter().map(|(g, _)| g).collect())
}

pub async fn level_get(
    staff: Staff,
    state: web::Data<AppState>,
    q: web::Query<LevelQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let application = named(&state, &q.app).await?;
    let saved = state.application_rules(&q.app).await?;
    let rules = if q.group.is_empty() {
        saved.own
    } else {
        saved.groups.into_iter().find(|(g, _)| *g == q.group).map(|(_, r)| r).unwrap_or_default()
    };
    let mut page = level_page(&state, &staff, application, &q.group, group_names(&state).await?, &rules, None);
    page.saved = q.saved.is_some();
    html(StatusCode::OK, &page)
}

/// The form's rules: each field set, or empty (follow the level below).
fn rules_of(form: &HashMap<String, String>) -> (Rules, Vec<String>) {
    let mut rules = Rules::default();
    let mut problems = Vec::new();
    let methods = if form.contains_key("own_methods") {
        let list: Vec<&str> =
            Method::ALL.iter().map(|m| m.as_str()).filter(|m| form.contains_key(&format!("method:{m}"))).collect();
        if list.is_empty() {
            problems.push("Allowed methods: allow at least one method, or untick \"Own list\".".to_string());
        }
        list.join(",")
    } else {
        String::new()
    };
    let mut set = |key: &str, value: &str| {
        if let Err(e) = rules.set(key, value) {
            problems.push(e.0);
        }
    };
    set("allowed_methods", &methods);
    for key in KEYS.iter().filter(|k| **k != "allowed_methods") {
        set(key, form.get(*key).map(String::as_str).unwrap_or(""));
    }
    (rules, problems)
}

pub async fn level_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    q: web::Query<LevelQuery>,
    form: CsrfForm<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let application = named(&state, &q.app).await?;
    let group = q.group.trim();
    let (rules, problems) = rules_of(&form.0);
    if !problems.is_empty() {
        let mut page = level_page(&state, &staff, application, group, group_names(&state).await?, &rules, None);
        // Show what was typed, not the last saved value.
        for key in KEYS {
            if let Some(v) = form.0.get(key) {
                page.fields.insert(key, v.clone());
            }
        }
        page.error = Some(problems.join(" "));
        return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let saved = state.application_rules(&q.app).await?;
    let before = if group.is_empty() {
        saved.own
    } else {
        saved.groups.into_iter().find(|(g, _)| g == group).map(|(_, r)| r).unwrap_or_default()
    };
    let t = now();
    let ip = client_ip(&req);
    let entries: Vec<(&str, String)> = rules.entries();
    store::application_policies::replace(&state.db, &q.app, group, &entries, &staff.user.id, t).await?;
    state.forget_policy();
    let whose =
        if group.is_empty() { application.name.clone() } else { format!("group {group} at {}", application.name) };
    for key in KEYS {
        let (old, new) = (before.get(key), rules.get(key));
        if old != new {
            let shown = |v: Option<String>| v.unwrap_or_else(|| "(follows the level below)".into());
            let detail = format!("{whose}: {key}: {} → {} (by {})", shown(old), shown(new), staff.user.username);
            let e = Event::new(AuditEvent::PolicyChanged, Outcome::Info)
                .actor(&staff.user.id)
                .ip(ip.as_deref())
                .detail(&detail)
                .application(&application.name);
            store::audit::record(&state.db, e, t).await?;
        }
    }
    let group_query = if group.is_empty() { String::new() } else { format!("&group={}", urlencode(group)) };
    Ok(see_other(&format!("/admin/policies/application?app={}{group_query}&saved=1", urlencode(&q.app))))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A rule in force, as the explainer shows it.
pub struct Shown {
    pub rule: &'static str,
    pub value: String,
    pub from: String,
}

#[derive(Template)]
#[template(path = "admin/access_explain.html")]
struct ExplainPage {
    chrome: Chrome,
    nav: Nav,
    applications: Vec<Listed>,
    user: String,
    app: String,
    address: String,
    error: Option<String>,
    /// (where, rules in force, the decision in words, denied)
    result: Option<(String, Vec<Shown>, String, bool)>,
    countries: bool,
}

#[derive(serde::Deserialize)]
pub struct ExplainQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    app: String,
    #[serde(default)]
    address: String,
}

fn shown(rules: &Effective, application: &str) -> Vec<Shown> {
    let none = || "none".to_string();
    vec![
        Shown {
            rule: "Allowed methods",
            value: rules.methods.0.iter().map(Method::label).collect::<Vec<_>>().join(", "),
            from: rules.methods.1.describe(application),
        },
        Shown {
            rule: "New users",
            value: rules.new_user.0.label().into(),
            from: rules.new_user.1.describe(application),
        },
        Shown {
            rule: "Authorized networks",
            value: rules.networks.0.as_ref().map_or_else(none, |n| n.to_stored()),
            from: rules.networks.1.describe(application),
        },
        Shown {
            rule: "User locations",
            value: rules.locations.0.as_ref().map_or_else(none, |l| l.to_stored()),
            from: rules.locations.1.describe(application),
        },
        Shown {
            rule: "Anonymous networks",
            value: rules.anonymous.0.map_or_else(|| "not judged".into(), |a| a.label().into()),
            from: rules.anonymous.1.describe(application),
        },
        Shown {
            rule: "Trusted browser days",
            value: rules.trusted_browser_days.0.to_string(),
            from: rules.trusted_browser_days.1.describe(application),
        },
    ]
}

pub async fn explain_get(
    staff: Staff,
    state: web::Data<AppState>,
    q: web::Query<ExplainQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let applications = applications(&state).await?;
    let mut page = ExplainPage {
        chrome: staff.chrome(&state),
        nav: Nav { admin: true, current: "policies" },
        user: q.user.chars().take(64).collect(),
        app: q.app.clone(),
        address: q.address.chars().take(64).collect(),
        error: None,
        result: None,
        countries: state.locator.has_countries(),
        applications,
    };
    if q.user.trim().is_empty() {
        return html(StatusCode::OK, &page);
    }
    let user = match Username::parse(&q.user) {
        Ok(name) => store::users::by_username(&state.db, &name).await?,
        Err(_) => None,
    };
    let address = q.address.trim();
    let Some(user) = user else {
        page.error = Some(format!("No user is called \"{}\".", q.user.trim()));
        return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    if !address.is_empty() && address.parse::<std::net::IpAddr>().is_err() {
        page.error = Some(format!("\"{address}\" is not an IP address such as 192.0.2.10 or 2001:db8::1."));
        return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let listed = page.applications.iter().find(|a| a.scope == q.app);
    let application =
        listed.map(|a| Application { name: a.name.clone(), integration_key: String::new(), scope: a.scope.clone() });
    let door = if application.is_some() { Door::Application } else { Door::Portal };
    let ip = (!address.is_empty()).then_some(address);
    let caller = Caller::new(&user, ip).for_application(application.as_ref());
    let Access { decision, at, rules } = state.explain_access(&caller, door).await?;
    let name = application.as_ref().map_or("the portal", |a| a.name.as_str());
    let outcome = match &decision {
        Decision::Deny(reason) => format!("Denied, by {}.", reason.describe(name)),
        Decision::AllowWithoutMfa(reason) => {
            format!("Allowed without two-factor authentication, by {}.", reason.describe(name))
        }
        Decision::Continue => {
            "Two-factor authentication is required (or enrolment, for a user who has no device).".into()
        }
    };
    let denied = matches!(decision, Decision::Deny(_));
    page.result = Some((place(&at), shown(&rules, name), outcome, denied));
    html(StatusCode::OK, &page)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/policies/application", crate::web::get().to(level_get))
        .route("/admin/policies/application", web::post().to(level_post))
        .route("/admin/policies/explain", crate::web::get().to(explain_get));
}
