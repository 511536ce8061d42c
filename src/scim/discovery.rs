//! The discovery endpoints (RFC 7644 §4): what Twofold supports, its schemas and resource types.

use serde_json::Value;

use super::{MAX_RESULTS, list_response};
use crate::domain::scim::ScimError;
use crate::domain::scim::schema::{self, ResourceKind};

const KINDS: [ResourceKind; 2] = [ResourceKind::User, ResourceKind::Group];

pub fn service_provider_config(base: &str) -> Value {
    schema::service_provider_config(base, MAX_RESULTS as usize)
}

pub fn schemas(base: &str) -> Value {
    let all: Vec<Value> = schema::ALL.iter().map(|s| schema::schema_json(s, base)).collect();
    let total = all.len() as i64;
    list_response(all, total, 1)
}

pub fn schema(base: &str, id: &str) -> Result<Value, ScimError> {
    schema::ALL
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .map(|s| schema::schema_json(s, base))
        .ok_or_else(|| ScimError::not_found(format!("No schema is named {id}.")))
}

pub fn resource_types(base: &str) -> Value {
    let all: Vec<Value> = KINDS.iter().map(|k| schema::resource_type_json(*k, base)).collect();
    let total = all.len() as i64;
    list_response(all, total, 1)
}

pub fn resource_type(base: &str, name: &str) -> Result<Value, ScimError> {
    KINDS
        .iter()
        .find(|k| k.name().eq_ignore_ascii_case(name))
        .map(|k| schema::resource_type_json(*k, base))
        .ok_or_else(|| ScimError::not_found(format!("No resource type is named {name}.")))
}
