use serde_json::{Value, json};

use super::document::{OwnedGroup, OwnedUser, clean, project};
use super::filter::Filter;
use super::patch::apply;
use super::path::PatchPath;
use super::schema::{ENTERPRISE, ResourceKind};

fn user() -> Value {
    clean(
        ResourceKind::User,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "UserName": "Ada@Example.edu",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@example.edu", "type": "work", "primary": true}],
            "phoneNumbers": [{"value": "+12045550123", "type": "mobile"}],
            "active": "True",
            "externalId": "e-1",
            "groups": [{"value": "g"}],
            "unknown": 1,
        }),
    )
    .unwrap()
}

fn patch(doc: &mut Value, ops: Value) -> Result<(), super::ScimError> {
    apply(ResourceKind::User, doc, &json!({"schemas": [super::schema::PATCH_OP], "Operations": ops}))
}

#[test]
fn clean_keeps_published_attributes_in_their_spelling() {
    let doc = user();
    assert_eq!(doc["userName"], "Ada@Example.edu");
    assert_eq!(doc["active"], true, "Entra's \"True\" is a boolean");
    assert!(doc.get("groups").is_none(), "read-only attributes are not written");
    assert!(doc.get("unknown").is_none());
    assert_eq!(doc["externalId"], "e-1");
}

#[test]
fn owned_user_takes_username_name_email_and_mobile() {
    let owned = OwnedUser::from_document(&user()).unwrap();
    assert_eq!(owned.username.as_str(), "ada@example.edu");
    assert_eq!(owned.display_name.as_str(), "Ada Lovelace");
    assert_eq!(owned.email, "ada@example.edu");
    assert!(owned.active);
    assert_eq!(owned.mobile.as_deref(), Some("+12045550123"));
    assert_eq!(owned.external_id.as_deref(), Some("e-1"));
}

#[test]
fn required_and_typed_values_are_checked() {
    let err = clean(ResourceKind::User, &json!({"displayName": "x"})).unwrap_err();
    assert_eq!((err.status, err.scim_type), (400, Some("invalidValue")));
    assert!(err.detail.contains("userName"));
    let err = clean(ResourceKind::User, &json!({"userName": "a", "active": "maybe"})).unwrap_err();
    assert!(err.detail.contains("active"));
    let err = OwnedUser::from_document(&json!({"userName": "bad name"})).unwrap_err();
    assert!(err.detail.starts_with("userName"));
}

#[test]
fn filters_parse_and_match() {
    let doc = user();
    for (text, want) in [
        (r#"userName eq "ada@example.edu""#, true),
        (r#"USERNAME Eq "ADA@EXAMPLE.EDU""#, true),
        (r#"userName eq "bob""#, false),
        (r#"userName eq "ada@example.edu" and externalId eq "e-1""#, true),
        (r#"userName eq "bob" or externalId eq "e-1""#, true),
        (r#"not (userName eq "bob")"#, true),
        (r#"emails[type eq "work" and value co "example"]"#, true),
        (r#"emails.value sw "ada""#, true),
        ("name.familyName pr", true),
        ("title pr", false),
        ("active eq true", true),
        (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ada@example.edu""#, false),
    ] {
        assert_eq!(Filter::parse(text).unwrap().matches(&doc), want, "{text}");
    }
    for bad in ["userName", r#"userName eq"#, r#"userName zz "a""#, r#"(userName eq "a""#, r#"userName eq "a"#] {
        let err = Filter::parse(bad).unwrap_err();
        assert_eq!(err.scim_type, Some("invalidFilter"), "{bad}");
    }
    assert_eq!(Filter::parse(r#"userName eq "x""#).unwrap().equality("username"), Some("x"));
}

#[test]
fn patch_paths_parse() {
    let p = PatchPath::parse(r#"emails[type eq "work"].value"#).unwrap();
    assert_eq!(p.attr.name, "emails");
    assert_eq!(p.sub.as_deref(), Some("value"));
    let p = PatchPath::parse(&format!("{ENTERPRISE}:manager")).unwrap();
    assert_eq!((p.attr.urn.as_str(), p.attr.name.as_str()), (ENTERPRISE, "manager"));
    assert!(PatchPath::parse("emails[type eq \"work\"]x").is_err());
}

#[test]
fn entra_patches() {
    let mut doc = user();
    patch(
        &mut doc,
        json!([
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Replace", "value": {"name.givenName": "Augusta", "displayName": "Augusta Ada"}},
            {"op": "Add", "path": "emails[type eq \"home\"].value", "value": "ada@home.example"},
            {"op": "Add", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "701"},
            {"op": "Replace", "path": format!("{ENTERPRISE}:manager"), "value": "boss-id"},
            {"op": "Replace", "value": {format!("{ENTERPRISE}:department"): "Mathematics"}},
        ]),
    )
    .unwrap();
    assert_eq!(doc["active"], false);
    assert_eq!(doc["name"]["givenName"], "Augusta");
    assert_eq!(doc["name"]["familyName"], "Lovelace", "other sub-attributes stay");
    assert_eq!(doc["emails"].as_array().unwrap().len(), 2);
    assert_eq!(doc["emails"][1], json!({"type": "home", "value": "ada@home.example"}));
    assert_eq!(doc[ENTERPRISE]["employeeNumber"], "701");
    assert_eq!(doc[ENTERPRISE]["manager"]["value"], "boss-id");
    assert_eq!(doc[ENTERPRISE]["department"], "Mathematics");
    let owned = OwnedUser::from_document(&doc).unwrap();
    assert!(!owned.active);
    assert_eq!(owned.display_name.as_str(), "Augusta Ada");

    patch(&mut doc, json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])).unwrap();
    assert_eq!(doc["emails"].as_array().unwrap().len(), 1);
    patch(&mut doc, json!([{"op": "remove", "path": "name.givenName"}])).unwrap();
    assert!(doc["name"].get("givenName").is_none());
    patch(&mut doc, json!([{"op": "remove", "path": format!("{ENTERPRISE}:employeeNumber")}])).unwrap();
    assert!(doc[ENTERPRISE].get("employeeNumber").is_none());
}

#[test]
fn patch_errors_are_specific() {
    let mut doc = user();
    let cases = [
        (json!([{"op": "move", "path": "title", "value": "x"}]), "invalidSyntax"),
        (json!([{"op": "remove"}]), "noTarget"),
        (json!([{"op": "add", "path": "nope", "value": "x"}]), "invalidPath"),
        (json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]), "mutability"),
        (json!([{"op": "replace", "path": "id", "value": "x"}]), "mutability"),
        (json!([{"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "a@b.cd"}}]), "noTarget"),
        (json!([{"op": "add", "path": "active", "value": 3}]), "invalidValue"),
        (json!([{"op": "add", "path": "emails[type eq", "value": "x"}]), "invalidPath"),
    ];
    for (ops, want) in cases {
        let err = patch(&mut doc, ops.clone()).unwrap_err();
        assert_eq!(err.scim_type, Some(want), "{ops}");
    }
    let err = apply(ResourceKind::User, &mut doc, &json!({"schemas": []})).unwrap_err();
    assert_eq!(err.scim_type, Some("invalidSyntax"));
}

#[test]
fn group_members_add_and_remove_as_entra_sends_them() {
    let mut doc = clean(ResourceKind::Group, &json!({"displayName": "Staff", "members": [{"value": "u1"}]})).unwrap();
    let ops = |ops: Value| json!({"Operations": ops});
    apply(
        ResourceKind::Group,
        &mut doc,
        &ops(json!([{"op": "Add", "path": "members", "value": [{"value": "u2"}, {"value": "u1"}]}])),
    )
    .unwrap();
    assert_eq!(OwnedGroup::from_document(&doc).unwrap().members, ["u1", "u2"]);
    apply(
        ResourceKind::Group,
        &mut doc,
        &ops(json!([{"op": "Remove", "path": "members", "value": [{"value": "u1"}]}])),
    )
    .unwrap();
    assert_eq!(OwnedGroup::from_document(&doc).unwrap().members, ["u2"]);
    apply(ResourceKind::Group, &mut doc, &ops(json!([{"op": "remove", "path": "members[value eq \"u2\"]"}]))).unwrap();
    assert!(OwnedGroup::from_document(&doc).unwrap().members.is_empty());
    apply(ResourceKind::Group, &mut doc, &ops(json!([{"op": "replace", "value": {"displayName": "Faculty"}}])))
        .unwrap();
    assert_eq!(OwnedGroup::from_document(&doc).unwrap().name, "Faculty");
}

#[test]
fn primary_stays_unique() {
    let mut doc = user();
    patch(&mut doc, json!([{"op": "add", "path": "emails", "value": [{"value": "b@example.edu", "primary": true}]}]))
        .unwrap();
    let primaries = doc["emails"].as_array().unwrap().iter().filter(|e| e["primary"] == true).count();
    assert_eq!(primaries, 1);
    assert_eq!(OwnedUser::from_document(&doc).unwrap().email, "b@example.edu");
}

#[test]
fn projection_keeps_id_schemas_and_meta() {
    let resource =
        json!({"id": "1", "schemas": [], "meta": {}, "userName": "a", "title": "t", ENTERPRISE: {"department": "d"}});
    let only = project(resource.clone(), &["userName".into()], &[]);
    assert_eq!(only.as_object().unwrap().len(), 4);
    let ext = project(resource.clone(), &[format!("{ENTERPRISE}:department")], &[]);
    assert!(ext.get(ENTERPRISE).is_some());
    let without = project(resource, &[], &["title".into()]);
    assert!(without.get("title").is_none() && without.get("userName").is_some());
}
