//! PATCH paths (RFC 7644 §3.5.2): `attr`, `attr.sub`, `attr[filter]` or `attr[filter].sub`.

use super::ScimError;
use super::filter::{AttrPath, Filter};

/// A PATCH target: `attr`, `attr.sub`, `attr[filter]` or `attr[filter].sub`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    /// The sub-attribute after a value filter (`emails[type eq "work"].value`).
    pub sub: Option<String>,
}

impl PatchPath {
    pub fn parse(text: &str) -> Result<Self, ScimError> {
        let text = text.trim();
        let invalid = |why: &str| ScimError::invalid_path(format!("“{text}”: {why}"));
        let Some(open) = text.find('[') else {
            let attr = AttrPath::parse(text).map_err(|_| invalid("not an attribute path"))?;
            return Ok(Self { attr, filter: None, sub: None });
        };
        let close = text.rfind(']').ok_or_else(|| invalid("missing “]”"))?;
        if close < open {
            return Err(invalid("misplaced “]”"));
        }
        let attr = AttrPath::parse(&text[..open]).map_err(|_| invalid("not an attribute path"))?;
        if attr.sub.is_some() {
            return Err(invalid("a value filter follows a multi-valued attribute"));
        }
        let filter = Filter::parse(&text[open + 1..close]).map_err(|e| invalid(&e.detail))?;
        let rest = &text[close + 1..];
        let sub = match rest.strip_prefix('.') {
            Some(sub) if !sub.is_empty() => Some(sub.to_string()),
            None if rest.is_empty() => None,
            _ => return Err(invalid("only “.subAttribute” may follow “]”")),
        };
        Ok(Self { attr, filter: Some(filter), sub })
    }
}
