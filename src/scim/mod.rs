//! SCIM 2.0 provisioning (issue 18) over the core's context: a connector's bearer token, the
//! list parameters, and the answers for Users (`users.rs`), Groups (`groups.rs`) and the
//! discovery endpoints (`discovery.rs`). The door (`web::scim`) only carries HTTP in and out.
//! Every change is audited with the connector's name as the application.

pub mod connectors;
pub mod discovery;
pub mod groups;
pub mod users;

use serde_json::{Value, json};

use crate::domain::scim::{Filter, ScimError, schema};
use crate::signin::SignIn;
use crate::store::StoreError;
use crate::store::audit::{Event, Outcome};
use crate::store::scim_connectors::Connector;

/// The most resources one page holds (`ServiceProviderConfig.filter.maxResults`).
pub const MAX_RESULTS: i64 = 1000;
/// A page's size when the client names none.
const DEFAULT_COUNT: i64 = 100;

impl From<StoreError> for ScimError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "SCIM request failed in the store");
        ScimError { status: 500, scim_type: None, detail: "The request could not be completed; try again.".into() }
    }
}

/// Who is asking: the connector, and where resources live.
#[derive(Debug, Clone)]
pub struct Caller {
    pub connector: Connector,
    /// `https://host/scim/v2`.
    pub base: String,
    pub ip: Option<String>,
}

impl Caller {
    /// How the audit log names the caller.
    pub fn application(&self) -> String {
        format!("SCIM connector {}", self.connector.name)
    }

    pub fn location(&self, endpoint: &str, id: &str) -> String {
        format!("{}/{endpoint}/{id}", self.base)
    }
}

/// The connector whose token is `bearer` (the `Authorization: Bearer …` value).
pub async fn authenticate(core: &SignIn, bearer: Option<&str>, ip: Option<String>) -> Result<Caller, ScimError> {
    let token = bearer.map(str::trim).filter(|t| !t.is_empty()).ok_or_else(ScimError::unauthorized)?;
    let hash = core.keys.hash_token(token);
    let connector = crate::store::scim_connectors::connector_by_token(&core.db, &hash).await?.ok_or_else(|| {
        tracing::warn!(ip = ip.as_deref().unwrap_or("-"), "SCIM request with an unknown token refused");
        ScimError::unauthorized()
    })?;
    crate::store::scim_connectors::touch_connector(&core.db, &connector.id, crate::clock::now()).await?;
    let base = format!("{}/scim/v2", core.public_url.as_str().trim_end_matches('/'));
    Ok(Caller { connector, base, ip })
}

/// The query parameters of a list (RFC 7644 §3.4.2).
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub filter: Option<Filter>,
    /// From 1.
    pub start_index: i64,
    pub count: i64,
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

impl ListParams {
    /// From the raw parameters (`filter`, `startIndex`, `count`, `attributes`, `excludedAttributes`).
    pub fn parse(
        filter: Option<&str>,
        start_index: Option<&str>,
        count: Option<&str>,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Self, ScimError> {
        let number = |name: &str, v: Option<&str>, default: i64| match v.map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some(v) => v.parse::<i64>().map_err(|_| ScimError::invalid_value(format!("{name} must be a whole number"))),
        };
        let filter = match filter.map(str::trim).filter(|f| !f.is_empty()) {
            Some(text) => Some(Filter::parse(text)?),
            None => None,
        };
        Ok(Self {
            filter,
            start_index: number("startIndex", start_index, 1)?.max(1),
            count: number("count", count, DEFAULT_COUNT)?.clamp(0, MAX_RESULTS),
            attributes: names(attributes),
            excluded: names(excluded),
        })
    }

    /// From a SearchRequest's body (`POST …/.search`, RFC 7644 §3.4.3).
    pub fn from_search(body: &Value) -> Result<Self, ScimError> {
        let text = |name: &str| -> Result<Option<String>, ScimError> {
            match crate::domain::scim::filter::member(body, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(Value::Array(items)) => {
                    Ok(Some(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")))
                }
                Some(_) => Err(ScimError::invalid_value(format!("{name} has the wrong type"))),
            }
        };
        Self::parse(
            text("filter")?.as_deref(),
            text("startIndex")?.as_deref(),
            text("count")?.as_deref(),
            text("attributes")?.as_deref(),
            text("excludedAttributes")?.as_deref(),
        )
    }

    /// Whether the attribute is left out of the answer.
    pub fn leaves_out(&self, name: &str) -> bool {
        let named = |list: &[String]| list.iter().any(|a| a.eq_ignore_ascii_case(name));
        named(&self.excluded) || (!self.attributes.is_empty() && !named(&self.attributes))
    }
}

/// The attribute names of a comma-separated list.
pub fn names(list: Option<&str>) -> Vec<String> {
    list.unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// A ListResponse of one page.
pub fn list_response(resources: Vec<Value>, total: i64, start_index: i64) -> Value {
    json!({
        "schemas": [schema::LIST],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// RFC 3339 of a Unix time.
pub fn timestamp(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// Writes an audit entry for a change made by `caller`.
async fn audit(
    core: &SignIn,
    caller: &Caller,
    event: crate::domain::AuditEvent,
    user: Option<(&str, &str)>,
    detail: &str,
) -> Result<(), ScimError> {
    let application = caller.application();
    let mut e = Event::new(event, Outcome::Success).ip(caller.ip.as_deref()).detail(detail).application(&application);
    if let Some((id, name)) = user {
        e = e.user(id, name);
    }
    crate::store::audit::record(&core.db, e, crate::clock::now()).await?;
    Ok(())
}
