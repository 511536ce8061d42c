//! SCIM connectors, managed in the console: each has a name and a bearer token of 256 random
//! bits, shown once and stored as a keyed hash (`Keys::hash_token`), so neither the database nor
//! a backup can give it back. A new token replaces the old one at once; deleting a connector
//! stops its requests at once.

use crate::domain::{AuditEvent, InputError};
use crate::secrets::{new_id, random_token};
use crate::signin::SignIn;
use crate::store::audit::{Event, Outcome};
use crate::store::scim_connectors::{self as store, Connector};
use crate::store::{self as db, StoreError};

/// The administrator making the change.
#[derive(Debug, Clone, Copy)]
pub struct By<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub ip: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("{0}")]
    Input(InputError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The token as connectors send it: a prefix (so a leaked token is recognisable in scanners
/// and logs) and 256 random bits.
fn new_token() -> String {
    format!("tfscim_{}", random_token())
}

async fn audit(core: &SignIn, by: By<'_>, event: AuditEvent, detail: &str) -> Result<(), StoreError> {
    let e = Event::new(event, Outcome::Info).actor(by.id).ip(by.ip).detail(detail);
    db::audit::record(&core.db, e, crate::clock::now()).await
}

/// Adds a connector; returns it and its token (shown once).
pub async fn add(core: &SignIn, by: By<'_>, name: &str) -> Result<(Connector, String), Refused> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Refused::Input(InputError::new("Give the connector a name of 1 to 100 characters.")));
    }
    let token = new_token();
    let connector = Connector {
        id: new_id(),
        name: name.to_string(),
        created_at: crate::clock::now(),
        created_by: by.username.to_string(),
        last_used_at: None,
    };
    match store::add_connector(&core.db, &connector, &core.keys.hash_token(&token)).await {
        Err(StoreError::Conflict) => {
            return Err(Refused::Input(InputError::new("A connector with this name exists already.")));
        }
        other => other?,
    }
    audit(core, by, AuditEvent::ScimConnectorAdded, name).await?;
    Ok((connector, token))
}

/// A new token for the connector (the old one stops working); `None` when it is gone.
pub async fn rotate(core: &SignIn, by: By<'_>, id: &str) -> Result<Option<(Connector, String)>, StoreError> {
    let Some(connector) = store::connector(&core.db, id).await? else { return Ok(None) };
    let token = new_token();
    if !store::rotate_connector(&core.db, id, &core.keys.hash_token(&token)).await? {
        return Ok(None);
    }
    audit(core, by, AuditEvent::ScimConnectorRotated, &connector.name).await?;
    Ok(Some((connector, token)))
}

pub async fn delete(core: &SignIn, by: By<'_>, id: &str) -> Result<bool, StoreError> {
    let Some(connector) = store::connector(&core.db, id).await? else { return Ok(false) };
    if store::delete_connector(&core.db, id).await? {
        audit(core, by, AuditEvent::ScimConnectorDeleted, &connector.name).await?;
        return Ok(true);
    }
    Ok(false)
}
