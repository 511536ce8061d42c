//! `/Groups`: SCIM groups. A group's members are the accounts under its name in `user_groups`,
//! so Twofold's group policies, staff scopes and invitations apply to them. A connector adds and
//! removes only accounts it may reach; renaming a group renames its memberships.

use serde_json::{Map, Value, json};

use super::{Caller, ListParams, audit, list_response, timestamp};
use crate::domain::AuditEvent;
use crate::domain::scim::document::{clean, project, render, require};
use crate::domain::scim::{OwnedGroup, ResourceKind, ScimError, patch};
use crate::secrets::new_id;
use crate::signin::SignIn;
use crate::store::StoreError;
use crate::store::scim::{self as store, GroupWrite, ScimGroup};

const KIND: ResourceKind = ResourceKind::Group;

fn document(row: &ScimGroup) -> Value {
    serde_json::from_str(&row.document).unwrap_or_else(|_| json!({"displayName": row.display_name}))
}

/// The group's document with its members (`with_members`), as PATCH and GET see it.
async fn full(core: &SignIn, caller: &Caller, row: &ScimGroup, with_members: bool) -> Result<Value, ScimError> {
    let mut doc = document(row);
    if with_members {
        let members: Vec<Value> = store::members(&core.db, &row.display_name)
            .await?
            .into_iter()
            .map(|id| json!({"value": id, "$ref": caller.location("Users", &id)}))
            .collect();
        if let (false, Some(map)) = (members.is_empty(), doc.as_object_mut()) {
            map.insert("members".into(), Value::Array(members));
        }
    }
    Ok(doc)
}

async fn resource(core: &SignIn, caller: &Caller, row: &ScimGroup, with_members: bool) -> Result<Value, ScimError> {
    let doc = full(core, caller, row, with_members).await?;
    let location = caller.location("Groups", &row.id);
    Ok(render(KIND, &doc, &row.id, &location, &timestamp(row.created_at), &timestamp(row.updated_at), Map::new()))
}

async fn find(core: &SignIn, id: &str) -> Result<ScimGroup, ScimError> {
    store::group(&core.db, id).await?.ok_or_else(|| ScimError::not_found(format!("No group has the id {id}.")))
}

pub async fn get(core: &SignIn, caller: &Caller, id: &str, params: &ListParams) -> Result<Value, ScimError> {
    let row = find(core, id).await?;
    let out = resource(core, caller, &row, !params.leaves_out("members")).await?;
    Ok(project(out, &params.attributes, &params.excluded))
}

pub async fn list(core: &SignIn, caller: &Caller, params: &ListParams) -> Result<Value, ScimError> {
    let offset = params.start_index - 1;
    let members = !params.leaves_out("members");
    let by_name = params.filter.as_ref().and_then(|f| f.equality("displayName"));
    let (resources, total) = match (&params.filter, by_name) {
        (Some(filter), None) => {
            // Groups are few: every one is read and checked.
            let (rows, _) = store::groups(&core.db, None, 0, i64::MAX / 2).await?;
            let mut matched = Vec::new();
            for row in &rows {
                let out = resource(core, caller, row, true).await?;
                if filter.matches(&out) {
                    matched.push(out);
                }
            }
            let total = matched.len() as i64;
            (matched.into_iter().skip(offset as usize).take(params.count as usize).collect(), total)
        }
        (_, name) => {
            let (rows, total) = store::groups(&core.db, name, offset, params.count).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(resource(core, caller, row, members).await?);
            }
            (out, total)
        }
    };
    let resources = resources.into_iter().map(|r| project(r, &params.attributes, &params.excluded)).collect();
    Ok(list_response(resources, total, params.start_index))
}

/// The write for a cleaned document: the members checked, the document stored without them.
async fn write_of(core: &SignIn, id: &str, doc: &Value) -> Result<GroupWrite, ScimError> {
    let owned = OwnedGroup::from_document(doc)?;
    let reachable = store::reachable(&core.db, &owned.members).await?;
    if let Some(unknown) = owned.members.iter().find(|m| !reachable.contains(m)) {
        return Err(ScimError::invalid_value(format!("members: no user SCIM manages has the id {unknown}")));
    }
    let mut stored = doc.clone();
    if let Some(map) = stored.as_object_mut() {
        map.remove("members");
    }
    Ok(GroupWrite {
        id: id.to_string(),
        name: owned.name,
        external_id: owned.external_id,
        document: stored.to_string(),
        members: owned.members,
    })
}

fn taken(name: &str) -> ScimError {
    ScimError::uniqueness(format!("A group named {name} exists already."))
}

pub async fn create(core: &SignIn, caller: &Caller, body: &Value) -> Result<Value, ScimError> {
    let doc = clean(KIND, body)?;
    let id = new_id();
    let write = write_of(core, &id, &doc).await?;
    match store::write_group(&core.db, &write, None, crate::clock::now()).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(taken(&write.name)),
        Err(e) => return Err(e.into()),
    }
    let detail = format!("group {} created with {} members", write.name, write.members.len());
    audit(core, caller, AuditEvent::ScimGroupCreated, None, &detail).await?;
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
    let mut doc = full(core, caller, &row, true).await?;
    patch::apply(KIND, &mut doc, body)?;
    require(KIND, &doc)?;
    let doc = clean(KIND, &doc)?;
    store_changes(core, caller, &row, &doc).await
}

async fn store_changes(core: &SignIn, caller: &Caller, row: &ScimGroup, doc: &Value) -> Result<Value, ScimError> {
    let before = store::members(&core.db, &row.display_name).await?;
    let write = write_of(core, &row.id, doc).await?;
    match store::write_group(&core.db, &write, Some(&row.display_name), crate::clock::now()).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(taken(&write.name)),
        Err(e) => return Err(e.into()),
    }
    let added = write.members.iter().filter(|m| !before.contains(m)).count();
    let removed = before.iter().filter(|m| !write.members.contains(m)).count();
    let renamed =
        if write.name != row.display_name { format!(" (renamed from {})", row.display_name) } else { String::new() };
    let detail = format!("group {}{renamed}: {added} members added, {removed} removed", write.name);
    audit(core, caller, AuditEvent::ScimGroupUpdated, None, &detail).await?;
    let row = find(core, &row.id).await?;
    resource(core, caller, &row, true).await
}

pub async fn delete(core: &SignIn, caller: &Caller, id: &str) -> Result<(), ScimError> {
    let row = find(core, id).await?;
    store::delete_group(&core.db, &row.id, &row.display_name).await?;
    let detail = format!("group {} deleted", row.display_name);
    audit(core, caller, AuditEvent::ScimGroupDeleted, None, &detail).await
}
