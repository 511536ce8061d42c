//! PATCH (RFC 7644 §3.5.2) on a resource's document: `add`, `replace` and `remove`, with a path
//! or without, as Microsoft Entra ID sends them too: capitalised operation names, booleans as
//! strings, path-less values whose keys are paths (`"name.givenName"`, an extension's
//! `"urn:…:User:employeeNumber"`), a filtered path that matches nothing creating the value
//! (`emails[type eq "work"].value`), and `remove members` with the members to remove as its value.

use serde_json::{Map, Value};

use super::ScimError;
use super::document::{EXTERNAL_ID, single_value, value_for};
use super::filter::{AttrPath, Filter, member};
use super::path::PatchPath;
use super::schema::{self, Attr, Kind, Mutability, ResourceKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// Applies the operations of a PatchOp body to `doc` (a cleaned document). The caller checks
/// the result (`document::require`, the owned fields) before storing it.
pub fn apply(kind: ResourceKind, doc: &mut Value, body: &Value) -> Result<(), ScimError> {
    let ops = member(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("A PatchOp needs “Operations”, a list of operations."))?;
    if ops.is_empty() {
        return Err(ScimError::invalid_syntax("“Operations” is empty."));
    }
    for operation in ops {
        let op = match member(operation, "op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
            Some("add") => Op::Add,
            Some("replace") => Op::Replace,
            Some("remove") => Op::Remove,
            other => {
                return Err(ScimError::invalid_syntax(format!(
                    "“op” must be add, replace or remove (found {})",
                    other.unwrap_or("nothing")
                )));
            }
        };
        let value = member(operation, "value").cloned().unwrap_or(Value::Null);
        match member(operation, "path").and_then(Value::as_str).filter(|p| !p.trim().is_empty()) {
            Some(path) => at_path(kind, doc, op, path, &value)?,
            None if op == Op::Remove => return Err(ScimError::no_target("“remove” needs a path")),
            None => {
                let Value::Object(map) = &value else {
                    return Err(ScimError::invalid_value("An operation without a path needs an object as its value."));
                };
                for (key, v) in map {
                    if matches!(key.to_ascii_lowercase().as_str(), "schemas" | "id" | "meta") {
                        continue;
                    }
                    at_path(kind, doc, op, key, v)?;
                }
            }
        }
    }
    Ok(())
}

/// Where a path points: the object holding the attribute (the resource, or an extension's
/// object under its URN), the attribute, and the sub-attribute.
struct Target {
    ext: Option<&'static str>,
    attr: &'static Attr,
    sub: Option<&'static Attr>,
}

fn resolve(kind: ResourceKind, path: &AttrPath) -> Result<Target, ScimError> {
    let attrs = if path.urn.is_empty() || path.urn.eq_ignore_ascii_case(kind.core().id) {
        (None, kind.core().attributes)
    } else {
        let ext = kind
            .extension(&path.urn)
            .ok_or_else(|| ScimError::invalid_path(format!("{} is not a schema of a {}", path.urn, kind.name())))?;
        (Some(ext.id), ext.attributes)
    };
    let attr = if attrs.0.is_none() && path.name.eq_ignore_ascii_case("externalId") {
        &EXTERNAL_ID
    } else if matches!(path.name.to_ascii_lowercase().as_str(), "id" | "meta" | "schemas") {
        return Err(ScimError::mutability(format!("{} cannot be changed", path.name)));
    } else {
        schema::find(attrs.1, &path.name)
            .ok_or_else(|| ScimError::invalid_path(format!("{} is not an attribute of a {}", path.name, kind.name())))?
    };
    if attr.mutability == Mutability::ReadOnly {
        return Err(ScimError::mutability(format!("{} is read-only", attr.name)));
    }
    let sub = match &path.sub {
        None => None,
        Some(name) => Some(
            schema::find(attr.sub, name)
                .ok_or_else(|| ScimError::invalid_path(format!("{name} is not a sub-attribute of {}", attr.name)))?,
        ),
    };
    if sub.is_some_and(|s| s.mutability == Mutability::ReadOnly) {
        return Err(ScimError::mutability(format!("{} is read-only", path.sub.as_deref().unwrap_or_default())));
    }
    Ok(Target { ext: attrs.0, attr, sub })
}

fn at_path(kind: ResourceKind, doc: &mut Value, op: Op, text: &str, value: &Value) -> Result<(), ScimError> {
    // A path that is an extension's URN: its value holds that extension's attributes.
    if let Some(ext) = kind.extension(text.trim()) {
        if op == Op::Remove {
            if let Some(root) = doc.as_object_mut() {
                root.remove(ext.id);
            }
            return Ok(());
        }
        let Value::Object(map) = value else {
            return Err(ScimError::invalid_value(format!("{} needs an object as its value", ext.id)));
        };
        for (key, v) in map {
            if !matches!(key.to_ascii_lowercase().as_str(), "schemas" | "id" | "meta") {
                at_path(kind, doc, op, &format!("{}:{key}", ext.id), v)?;
            }
        }
        return Ok(());
    }
    let path = PatchPath::parse(text)?;
    let target = resolve(kind, &path.attr)?;
    let (attr, sub) = match (&path.filter, &path.sub) {
        (Some(_), Some(name)) => {
            let sub = schema::find(target.attr.sub, name).ok_or_else(|| {
                ScimError::invalid_path(format!("{name} is not a sub-attribute of {}", target.attr.name))
            })?;
            (target.attr, Some(sub))
        }
        _ => (target.attr, target.sub),
    };
    let Some(root) = doc.as_object_mut() else { return Err(ScimError::invalid_syntax("not an object")) };
    let holder = match target.ext {
        None => root,
        Some(urn) => {
            let entry = root.entry(urn.to_string()).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            match entry.as_object_mut() {
                Some(map) => map,
                None => return Err(ScimError::invalid_syntax("not an object")),
            }
        }
    };
    match &path.filter {
        Some(filter) => filtered(holder, op, attr, filter, sub, value),
        None if attr.multi => whole_list(holder, op, attr, sub, value),
        None => single(holder, op, attr, sub, value),
    }?;
    if let Some(urn) = target.ext
        && doc.get(urn).and_then(Value::as_object).is_some_and(Map::is_empty)
        && let Some(root) = doc.as_object_mut()
    {
        root.remove(urn);
    }
    Ok(())
}

/// A single-valued attribute, or a sub-attribute of a single-valued complex attribute.
fn single(
    holder: &mut Map<String, Value>,
    op: Op,
    attr: &Attr,
    sub: Option<&Attr>,
    value: &Value,
) -> Result<(), ScimError> {
    match (op, sub) {
        (Op::Remove, None) => {
            holder.remove(attr.name);
        }
        (Op::Remove, Some(sub)) => {
            if let Some(Value::Object(o)) = holder.get_mut(attr.name) {
                o.remove(sub.name);
                if o.is_empty() {
                    holder.remove(attr.name);
                }
            }
        }
        (_, Some(sub)) => {
            let entry = holder.entry(attr.name.to_string()).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Some(o) = entry.as_object_mut() {
                set(o, sub, value)?;
            }
        }
        (_, None) if attr.kind == Kind::Complex => {
            // add and replace on a complex attribute set the sub-attributes given, keeping the rest.
            match value_for(attr, value)? {
                Some(Value::Object(given)) => {
                    let entry = holder.entry(attr.name.to_string()).or_insert_with(|| Value::Object(Map::new()));
                    if let Some(o) = entry.as_object_mut() {
                        o.extend(given);
                    } else {
                        *entry = Value::Object(given);
                    }
                }
                _ => {
                    holder.remove(attr.name);
                }
            }
        }
        (_, None) => set(holder, attr, value)?,
    }
    Ok(())
}

fn set(holder: &mut Map<String, Value>, attr: &Attr, value: &Value) -> Result<(), ScimError> {
    match value_for(attr, value)? {
        Some(v) => {
            holder.insert(attr.name.to_string(), v);
        }
        None => {
            holder.remove(attr.name);
        }
    }
    Ok(())
}

fn list(holder: &mut Map<String, Value>, attr: &Attr) -> Vec<Value> {
    match holder.remove(attr.name) {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

fn put_list(holder: &mut Map<String, Value>, attr: &Attr, items: Vec<Value>) {
    if !items.is_empty() {
        holder.insert(attr.name.to_string(), Value::Array(items));
    }
}

/// The same element, compared by `value` when both have one (members, emails).
fn same(a: &Value, b: &Value) -> bool {
    match (member(a, "value").and_then(Value::as_str), member(b, "value").and_then(Value::as_str)) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

/// A multi-valued attribute without a filter.
fn whole_list(
    holder: &mut Map<String, Value>,
    op: Op,
    attr: &Attr,
    sub: Option<&Attr>,
    value: &Value,
) -> Result<(), ScimError> {
    if sub.is_some() {
        return Err(ScimError::invalid_path(format!(
            "{}: name the values with a filter, as in {}[type eq \"work\"].value",
            attr.name, attr.name
        )));
    }
    let given = match value_for(attr, value)? {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let mut items = list(holder, attr);
    match op {
        Op::Replace => items = given,
        Op::Add => {
            for g in given {
                match items.iter().position(|i| same(i, &g)) {
                    Some(at) => items[at] = g,
                    None => items.push(g),
                }
            }
        }
        // `remove members` with a value removes those members (Entra ID); without, all of them.
        Op::Remove if !given.is_empty() => items.retain(|i| !given.iter().any(|g| same(i, g))),
        Op::Remove => items.clear(),
    }
    unique_primary(&mut items);
    put_list(holder, attr, items);
    Ok(())
}

/// `attr[filter]` or `attr[filter].sub`.
fn filtered(
    holder: &mut Map<String, Value>,
    op: Op,
    attr: &Attr,
    filter: &Filter,
    sub: Option<&Attr>,
    value: &Value,
) -> Result<(), ScimError> {
    if !attr.multi || attr.kind != Kind::Complex {
        return Err(ScimError::invalid_path(format!("{} has no values to filter", attr.name)));
    }
    let mut items = list(holder, attr);
    let matched: Vec<usize> = (0..items.len()).filter(|i| filter.matches(&items[*i])).collect();
    match op {
        Op::Remove => match sub {
            None => {
                let mut at = 0;
                items.retain(|_| {
                    at += 1;
                    !matched.contains(&(at - 1))
                });
            }
            Some(sub) => {
                for i in &matched {
                    if let Some(o) = items[*i].as_object_mut() {
                        o.remove(sub.name);
                    }
                }
                items.retain(|i| i.as_object().is_none_or(|o| !o.is_empty()));
            }
        },
        Op::Add | Op::Replace => {
            if matched.is_empty() {
                if sub.is_none() && op == Op::Replace {
                    put_list(holder, attr, items);
                    return Err(ScimError::no_target(format!("no value of {} matches the filter", attr.name)));
                }
                // Entra ID: `emails[type eq "work"].value` on a user without a work address adds one.
                let mut fresh = Map::new();
                for (name, v) in filter.equalities() {
                    if let Some(s) = schema::find(attr.sub, &name)
                        && let Some(v) = single_value(s, &v)?
                    {
                        fresh.insert(s.name.to_string(), v);
                    }
                }
                items.push(Value::Object(fresh));
                let last = items.len() - 1;
                fill(&mut items[last], attr, sub, value)?;
            } else {
                for i in matched {
                    fill(&mut items[i], attr, sub, value)?;
                }
            }
        }
    }
    unique_primary(&mut items);
    put_list(holder, attr, items);
    Ok(())
}

/// Sets `sub` of the element (or merges an object given for the whole element).
fn fill(item: &mut Value, attr: &Attr, sub: Option<&Attr>, value: &Value) -> Result<(), ScimError> {
    let Some(o) = item.as_object_mut() else { return Ok(()) };
    match sub {
        Some(sub) => set(o, sub, value),
        None => {
            if let Some(Value::Object(given)) = single_value(attr, value)? {
                o.extend(given);
            }
            Ok(())
        }
    }
}

/// At most one value is primary (RFC 7643 §2.4): the last one set wins.
fn unique_primary(items: &mut [Value]) {
    let primaries: Vec<usize> =
        (0..items.len()).filter(|i| member(&items[*i], "primary").and_then(Value::as_bool) == Some(true)).collect();
    if let Some((_, others)) = primaries.split_last() {
        for i in others {
            if let Some(o) = items[*i].as_object_mut() {
                o.insert("primary".into(), Value::Bool(false));
            }
        }
    }
}
