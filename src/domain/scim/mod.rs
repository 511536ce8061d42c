//! SCIM 2.0 provisioning (RFC 7643/7644), the pure part: the schemas Twofold publishes, filters
//! and PATCH paths, the PATCH operations (with Microsoft Entra ID's habits), and what Twofold
//! takes from a resource for its own account (`document::OwnedUser`). The HTTP side is
//! `web::scim`; storage is `store::scim`.

pub mod document;
pub mod filter;
pub mod patch;
pub mod path;
pub mod schema;

#[cfg(test)]
mod tests;

pub use document::{OwnedGroup, OwnedUser};
pub use filter::Filter;
pub use path::PatchPath;
pub use schema::ResourceKind;

/// A SCIM error (RFC 7644 §3.12): the HTTP status, the `scimType` and words for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {detail}")]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    fn with(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        Self { status, scim_type, detail: detail.into() }
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::with(400, Some("invalidFilter"), detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::with(400, Some("invalidPath"), detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::with(400, Some("invalidValue"), detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::with(400, Some("invalidSyntax"), detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::with(400, Some("noTarget"), detail)
    }

    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::with(400, Some("mutability"), detail)
    }

    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::with(409, Some("uniqueness"), detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::with(404, None, detail)
    }

    pub fn unauthorized() -> Self {
        Self::with(401, None, "A valid bearer token of a SCIM connector is required.")
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::with(403, None, detail)
    }

    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::with(400, Some("tooMany"), detail)
    }

    /// The error as its JSON body.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "schemas": [schema::ERROR],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let (Some(t), Some(map)) = (self.scim_type, body.as_object_mut()) {
            map.insert("scimType".into(), serde_json::Value::from(t));
        }
        body
    }
}
