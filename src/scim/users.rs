//! `/Users`: accounts as SCIM resources. A connector creates SCIM accounts, and takes over an
//! ordinary account it writes (its source becomes SCIM); staff and directory accounts are out of
//! its reach (`store::scim::REACHABLE`). `active: false` disables the account and ends its
//! sessions; DELETE deletes it.

use serde_json::{Map, Value, json};

use super::{Caller, ListParams, audit, list_response, timestamp};
use crate::domain::scim::document::{self, clean, project, render, require};
use crate::domain::scim::{OwnedUser, ResourceKind, ScimError, patch};
use crate::domain::{AuditEvent, PhoneNumber};
use crate::secrets::new_id;
use crate::signin::SignIn;
use crate::store::StoreError;
use crate::store::phone_numbers;
use crate::store::scim::{self as store, ScimUser, UserQuery, UserWrite};

const KIND: ResourceKind = ResourceKind::User;
/// Users read at a time when a filter must be checked one by one.
const SCAN: i64 = 1000;

/// The document of an account: what a connector wrote, else what Twofold knows.
fn document(row: &ScimUser) -> Value {
    if let Some(doc) = row.document.as_deref().and_then(|d| serde_json::from_str::<Value>(d).ok()) {
        return doc;
    }
    let mut doc = json!({"userName": row.username, "displayName": row.display_name});
    if !row.email.is_empty() {
        doc["emails"] = json!([{"value": row.email, "type": "work", "primary": true}]);
    }
    doc
}

/// `active` as the account is: an administrator may have disabled it here. Left out when the
/// connector never wrote it and the account is active.
fn with_status(doc: &mut Value, row: &ScimUser) {
    if let Some(map) = doc.as_object_mut()
        && (map.contains_key("active") || row.status != "active")
    {
        map.insert("active".into(), Value::Bool(row.status == "active"));
    }
}

async fn resource(core: &SignIn, caller: &Caller, row: &ScimUser, groups: bool) -> Result<Value, ScimError> {
    let mut doc = document(row);
    with_status(&mut doc, row);
    let mut extra = Map::new();
    if groups {
        let list: Vec<Value> = store::groups_of(&core.db, &row.id)
            .await?
            .into_iter()
            .map(|(id, name)| json!({"value": id, "$ref": caller.location("Groups", &id), "display": name}))
            .collect();
        if !list.is_empty() {
            extra.insert("groups".into(), Value::Array(list));
        }
    }
    let modified = row.updated_at.unwrap_or(row.created_at);
    let location = caller.location("Users", &row.id);
    Ok(render(KIND, &doc, &row.id, &location, &timestamp(row.created_at), &timestamp(modified), extra))
}

pub async fn get(core: &SignIn, caller: &Caller, id: &str, params: &ListParams) -> Result<Value, ScimError> {
    let row = find(core, id).await?;
    let out = resource(core, caller, &row, !params.leaves_out("groups")).await?;
    Ok(project(out, &params.attributes, &params.excluded))
}

async fn find(core: &SignIn, id: &str) -> Result<ScimUser, ScimError> {
    store::user(&core.db, id).await?.ok_or_else(|| ScimError::not_found(format!("No user has the id {id}.")))
}

pub async fn list(core: &SignIn, caller: &Caller, params: &ListParams) -> Result<Value, ScimError> {
    let offset = params.start_index - 1;
    let groups = !params.leaves_out("groups");
    let indexed = params.filter.as_ref().and_then(|f| {
        f.equality("userName")
            .map(UserQuery::Username)
            .or_else(|| f.equality("externalId").map(UserQuery::ExternalId))
            .or_else(|| f.equality("id").map(UserQuery::Id))
    });
    let (rows, total, prerendered) = match (&params.filter, indexed) {
        (None, _) => {
            let (rows, total) = store::users(&core.db, &UserQuery::All, offset, params.count).await?;
            (rows, total, None)
        }
        (Some(_), Some(q)) => {
            let (rows, total) = store::users(&core.db, &q, offset, params.count).await?;
            (rows, total, None)
        }
        (Some(filter), None) => {
            // Any other filter: every reachable account is read and checked.
            let mut matched = Vec::new();
            let mut at = 0;
            loop {
                let (rows, _) = store::users(&core.db, &UserQuery::All, at, SCAN).await?;
                let read = rows.len() as i64;
                for row in rows {
                    let out = resource(core, caller, &row, groups).await?;
                    if filter.matches(&out) {
                        matched.push(out);
                    }
                }
                if read < SCAN {
                    break;
                }
                at += SCAN;
            }
            let total = matched.len() as i64;
            let page = matched.into_iter().skip(offset as usize).take(params.count as usize).collect();
            (Vec::new(), total, Some(page))
        }
    };
    let resources = match prerendered {
        Some(page) => page,
        None => {
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(resource(core, caller, row, groups).await?);
            }
            out
        }
    };
    let resources = resources.into_iter().map(|r| project(r, &params.attributes, &params.excluded)).collect();
    Ok(list_response(resources, total, params.start_index))
}

/// What is written for the account `id` from a cleaned document.
fn write_of(core: &SignIn, id: &str, doc: &Value) -> Result<(UserWrite, OwnedUser), ScimError> {
    let owned = OwnedUser::from_document(doc)?;
    let allowed = &core.settings.telephony.allowed_countries;
    let phone = match owned.mobile.as_deref().and_then(|m| PhoneNumber::parse(m, "", allowed).ok()) {
        Some(number) => Some(phone_numbers::seal(&core.keys, Some(id), number.e164())?),
        None => None,
    };
    let write = UserWrite {
        id: id.to_string(),
        username: owned.username.as_str().to_string(),
        email: owned.email.clone(),
        display_name: owned.display_name.as_str().to_string(),
        active: owned.active,
        external_id: owned.external_id.clone(),
        document: doc.to_string(),
        phone,
    };
    Ok((write, owned))
}

async fn taken(core: &SignIn, username: &str) -> Result<ScimError, ScimError> {
    Ok(if store::username_out_of_reach(&core.db, username).await? {
        ScimError::uniqueness(format!("userName {username} belongs to an account SCIM may not manage"))
    } else {
        ScimError::uniqueness(format!("userName {username} (or this externalId) is taken"))
    })
}

pub async fn create(core: &SignIn, caller: &Caller, body: &Value) -> Result<Value, ScimError> {
    let doc = clean(KIND, body)?;
    let id = new_id();
    let (write, _) = write_of(core, &id, &doc)?;
    match store::create_user(&core.db, &write, crate::clock::now()).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(taken(core, &write.username).await?),
        Err(e) => return Err(e.into()),
    }
    let state = if write.active { "active" } else { "disabled" };
    let detail = format!("created by {}: {} <{}>, {state}", caller.application(), write.display_name, write.email);
    audit(core, caller, AuditEvent::UserCreated, Some((&id, &write.username)), &detail).await?;
    let row = find(core, &id).await?;
    resource(core, caller, &row, true).await
}

pub async fn replace(core: &SignIn, caller: &Caller, id: &str, body: &Value) -> Result<Value, ScimError> {
    let row = find(core, id).await?;
    let doc = clean(KIND, body)?;
    store_changes(core, caller, &row, &doc).await
}

pub async fn patch(core: &SignIn, caller: &Caller, id: &str, body: &Value) -> Result<Value, ScimError> {
    let row = find(core, id).await?;
    let mut doc = document(&row);
    with_status(&mut doc, &row);
    patch::apply(KIND, &mut doc, body)?;
    require(KIND, &doc)?;
    // The patched document is cleaned like a written one (values were typed as they were set).
    let doc = document::clean(KIND, &doc)?;
    store_changes(core, caller, &row, &doc).await
}

async fn store_changes(core: &SignIn, caller: &Caller, row: &ScimUser, doc: &Value) -> Result<Value, ScimError> {
    let (write, owned) = write_of(core, &row.id, doc)?;
    match store::update_user(&core.db, &write, crate::clock::now()).await {
        Ok(true) => {}
        Ok(false) => return Err(ScimError::not_found(format!("No user has the id {}.", row.id))),
        Err(StoreError::Conflict) => return Err(taken(core, &write.username).await?),
        Err(e) => return Err(e.into()),
    }
    let user = Some((row.id.as_str(), write.username.as_str()));
    let profile = (row.username.as_str(), row.display_name.as_str(), row.email.as_str());
    if profile != (write.username.as_str(), write.display_name.as_str(), write.email.as_str()) || row.source != "scim" {
        let detail = format!(
            "by {}: username {}, name {}, email {}",
            caller.application(),
            write.username,
            write.display_name,
            write.email
        );
        audit(core, caller, AuditEvent::UserUpdated, user, &detail).await?;
    }
    let was_active = row.status == "active";
    if was_active != owned.active {
        let event = if owned.active { AuditEvent::UserEnabled } else { AuditEvent::UserDisabled };
        let detail = format!("by {} (active: {})", caller.application(), owned.active);
        audit(core, caller, event, user, &detail).await?;
    }
    let row = find(core, &row.id).await?;
    resource(core, caller, &row, true).await
}

pub async fn delete(core: &SignIn, caller: &Caller, id: &str) -> Result<(), ScimError> {
    let row = find(core, id).await?;
    if !store::delete_user(&core.db, id).await? {
        return Err(ScimError::not_found(format!("No user has the id {id}.")));
    }
    let detail = format!("deleted by {}", caller.application());
    audit(core, caller, AuditEvent::UserDeleted, Some((&row.id, &row.username)), &detail).await
}
