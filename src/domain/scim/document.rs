//! A resource's document: what a client wrote, reduced to the attributes Twofold publishes
//! (canonical spelling, values of the declared type; read-only attributes dropped), and what
//! Twofold takes from it for the account (`OwnedUser`) or the group (`OwnedGroup`).

use serde_json::{Map, Value};

use super::ScimError;
use super::filter::member;
use super::schema::{self, Attr, Kind, Mutability, ResourceKind};
use crate::domain::{DisplayName, Email, Username};

/// `externalId`, common to every resource (RFC 7643 §3.1).
pub const EXTERNAL_ID: Attr = Attr {
    name: "externalId",
    kind: Kind::String,
    multi: false,
    required: false,
    mutability: Mutability::ReadWrite,
    unique: false,
    refs: &[],
    sub: &[],
    description: "The client's identifier of the resource.",
};

/// `value` as `attr` takes it; `None` drops it (null, empty, read-only).
pub fn value_for(attr: &Attr, value: &Value) -> Result<Option<Value>, ScimError> {
    if attr.mutability == Mutability::ReadOnly || value.is_null() {
        return Ok(None);
    }
    if attr.multi {
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        let mut out = Vec::new();
        for item in items {
            if let Some(v) = single_value(attr, item)? {
                out.push(v);
            }
        }
        return Ok(if out.is_empty() { None } else { Some(Value::Array(out)) });
    }
    single_value(attr, value)
}

/// One value of `attr` (an element when it is multi-valued).
pub fn single_value(attr: &Attr, value: &Value) -> Result<Option<Value>, ScimError> {
    match (attr.kind, value) {
        (_, Value::Null) => Ok(None),
        (Kind::String | Kind::Reference, Value::String(s)) => Ok(Some(Value::String(s.clone()))),
        (Kind::Boolean, Value::Bool(b)) => Ok(Some(Value::Bool(*b))),
        // Entra ID sends booleans as "True"/"False".
        (Kind::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(Value::Bool(true))),
        (Kind::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(Value::Bool(false))),
        (Kind::Complex, Value::Object(_)) => {
            let cleaned = clean_object(attr.sub, value)?;
            Ok(if cleaned.is_empty() { None } else { Some(Value::Object(cleaned)) })
        }
        // Entra ID sends `manager` as the manager's id alone.
        (Kind::Complex, Value::String(s)) if schema::find(attr.sub, "value").is_some() => {
            let mut map = Map::new();
            map.insert("value".into(), Value::String(s.clone()));
            Ok(Some(Value::Object(map)))
        }
        (kind, _) => Err(ScimError::invalid_value(format!(
            "{} must be {}",
            attr.name,
            match kind {
                Kind::String | Kind::Reference => "a string",
                Kind::Boolean => "true or false",
                Kind::Complex => "an object",
            }
        ))),
    }
}

/// The members of `value` (an object) that `attrs` declares, cleaned.
fn clean_object(attrs: &[Attr], value: &Value) -> Result<Map<String, Value>, ScimError> {
    let mut out = Map::new();
    let Some(object) = value.as_object() else { return Ok(out) };
    for (key, v) in object {
        if let Some(attr) = schema::find(attrs, key)
            && let Some(v) = value_for(attr, v)?
        {
            out.insert(attr.name.to_string(), v);
        }
    }
    Ok(out)
}

/// A resource as a client sent it (POST or PUT), reduced to what Twofold keeps. Unknown
/// attributes are ignored (RFC 7644 §3.3); `id`, `meta` and read-only attributes too.
pub fn clean(kind: ResourceKind, input: &Value) -> Result<Value, ScimError> {
    let Some(object) = input.as_object() else {
        return Err(ScimError::invalid_syntax("The body must be a JSON object."));
    };
    let mut out = clean_object(kind.core().attributes, input)?;
    for (key, v) in object {
        if key.eq_ignore_ascii_case("externalId")
            && let Some(v) = value_for(&EXTERNAL_ID, v)?
        {
            out.insert(EXTERNAL_ID.name.into(), v);
        } else if let Some(ext) = kind.extension(key) {
            let cleaned = clean_object(ext.attributes, v)?;
            if !cleaned.is_empty() {
                out.insert(ext.id.into(), Value::Object(cleaned));
            }
        }
    }
    let doc = Value::Object(out);
    require(kind, &doc)?;
    Ok(doc)
}

/// The required attributes are there.
pub fn require(kind: ResourceKind, doc: &Value) -> Result<(), ScimError> {
    for attr in kind.core().attributes.iter().filter(|a| a.required) {
        let present = member(doc, attr.name).and_then(Value::as_str).is_some_and(|s| !s.trim().is_empty());
        if !present {
            return Err(ScimError::invalid_value(format!("{} is required", attr.name)));
        }
    }
    Ok(())
}

fn text<'a>(doc: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut at = doc;
    for name in path {
        at = member(at, name)?;
    }
    at.as_str().map(str::trim).filter(|s| !s.is_empty())
}

/// The value of the element of a multi-valued attribute that is primary, else of `kind`, else first.
fn preferred<'a>(doc: &'a Value, name: &str, kind: &str) -> Option<&'a str> {
    let items = member(doc, name)?.as_array()?;
    let value = |v: &'a Value| member(v, "value").and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let is = |v: &Value, k: &str| member(v, "type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(k));
    let primary = |v: &Value| member(v, "primary").and_then(Value::as_bool) == Some(true);
    items
        .iter()
        .find(|v| primary(v) && value(v).is_some())
        .or_else(|| items.iter().find(|v| is(v, kind) && value(v).is_some()))
        .or_else(|| items.iter().find(|v| value(v).is_some()))
        .and_then(value)
}

/// What Twofold takes from a User for the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedUser {
    pub username: Username,
    pub display_name: DisplayName,
    /// Empty when the resource has none.
    pub email: String,
    pub active: bool,
    pub external_id: Option<String>,
    /// A mobile number as written (`phoneNumbers` of type mobile); checked as E.164 by the caller.
    pub mobile: Option<String>,
}

impl OwnedUser {
    pub fn from_document(doc: &Value) -> Result<Self, ScimError> {
        let user_name = text(doc, &["userName"]).unwrap_or_default();
        let username = Username::parse(user_name).map_err(|e| ScimError::invalid_value(format!("userName: {e}")))?;
        let given = [text(doc, &["name", "givenName"]), text(doc, &["name", "familyName"])];
        let joined = given.iter().flatten().copied().collect::<Vec<_>>().join(" ");
        let display = text(doc, &["displayName"])
            .or(text(doc, &["name", "formatted"]))
            .map(str::to_string)
            .unwrap_or(if joined.is_empty() { username.as_str().to_string() } else { joined });
        let display_name =
            DisplayName::parse(&display).map_err(|e| ScimError::invalid_value(format!("displayName: {e}")))?;
        let email = match preferred(doc, "emails", "work") {
            Some(e) => Email::parse(e)
                .map_err(|_| ScimError::invalid_value(format!("emails: “{e}” is not an email address")))?
                .as_str()
                .to_string(),
            None => String::new(),
        };
        let active = member(doc, "active").and_then(Value::as_bool).unwrap_or(true);
        let external_id = text(doc, &["externalId"]).map(str::to_string);
        let mobile = member(doc, "phoneNumbers")
            .and_then(Value::as_array)
            .and_then(|items| {
                items.iter().find(|v| {
                    member(v, "type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("mobile"))
                })
            })
            .and_then(|v| text(v, &["value"]))
            .map(str::to_string);
        Ok(Self { username, display_name, email, active, external_id, mobile })
    }
}

/// What Twofold takes from a Group: its name and its members' ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedGroup {
    pub name: String,
    pub external_id: Option<String>,
    pub members: Vec<String>,
}

impl OwnedGroup {
    pub fn from_document(doc: &Value) -> Result<Self, ScimError> {
        let name = text(doc, &["displayName"]).unwrap_or_default().to_string();
        if name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(ScimError::invalid_value("displayName: at most 100 characters, no control characters"));
        }
        let mut members: Vec<String> = Vec::new();
        for item in member(doc, "members").and_then(Value::as_array).into_iter().flatten() {
            let id = text(item, &["value"])
                .map(str::to_string)
                .or_else(|| text(item, &["$ref"]).and_then(|r| r.rsplit('/').next()).map(str::to_string));
            match id {
                Some(id) if !members.contains(&id) => members.push(id),
                Some(_) => {}
                None => return Err(ScimError::invalid_value("members: each member needs a value (the user's id)")),
            }
        }
        Ok(Self { name, external_id: text(doc, &["externalId"]).map(str::to_string), members })
    }
}

/// The resource as Twofold answers it: the document with `schemas`, `id`, `meta` and the
/// attributes Twofold computes (`extra`: a user's `groups`, a group's `members`).
pub fn render(
    kind: ResourceKind,
    doc: &Value,
    id: &str,
    location: &str,
    created: &str,
    modified: &str,
    extra: Map<String, Value>,
) -> Value {
    let mut out = Map::new();
    let mut schemas = vec![Value::from(kind.core().id)];
    for ext in kind.extensions() {
        if doc.get(ext.id).is_some() {
            schemas.push(Value::from(ext.id));
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::from(id));
    if let Some(map) = doc.as_object() {
        for (k, v) in map {
            out.insert(k.clone(), v.clone());
        }
    }
    out.extend(extra);
    out.insert(
        "meta".into(),
        serde_json::json!({"resourceType": kind.name(), "created": created, "lastModified": modified, "location": location}),
    );
    Value::Object(out)
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) applied to a rendered resource:
/// `id`, `schemas` and `meta` always stay.
pub fn project(resource: Value, attributes: &[String], excluded: &[String]) -> Value {
    let Value::Object(map) = resource else { return resource };
    let always = |k: &str| matches!(k, "id" | "schemas" | "meta");
    let named = |list: &[String], k: &str| list.iter().any(|a| names(a, k));
    let kept = map
        .into_iter()
        .filter(|(k, _)| always(k) || ((attributes.is_empty() || named(attributes, k)) && !named(excluded, k)))
        .collect();
    Value::Object(kept)
}

/// Whether the attribute `a` of an `attributes` list names the top-level member `k`.
fn names(a: &str, k: &str) -> bool {
    let (a, k) = (a.to_ascii_lowercase(), k.to_ascii_lowercase());
    let short = [schema::USER, schema::GROUP]
        .iter()
        .find_map(|core| a.strip_prefix(&format!("{}:", core.to_ascii_lowercase())))
        .unwrap_or(&a);
    let top = short.split('.').next().unwrap_or(short);
    top == k || a.starts_with(&format!("{k}:"))
}
