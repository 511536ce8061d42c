//! The SCIM schemas Twofold publishes (RFC 7643 §4, §8.7): the core User with the enterprise
//! extension, and the core Group. One table serves `/Schemas`, the names' canonical spelling
//! (attribute names are case-insensitive), which attributes a client may write, and the types
//! values are coerced to. Twofold keeps every published attribute a client writes, so a resource
//! reads back as it was written; it owns only the few it acts on (see `document::Owned`).

use serde_json::{Map, Value, json};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Boolean,
    Complex,
    Reference,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
}

#[derive(Debug)]
pub struct Attr {
    pub name: &'static str,
    pub kind: Kind,
    pub multi: bool,
    pub required: bool,
    pub mutability: Mutability,
    pub unique: bool,
    pub refs: &'static [&'static str],
    pub sub: &'static [Attr],
    pub description: &'static str,
}

const STRING: Attr = Attr {
    name: "",
    kind: Kind::String,
    multi: false,
    required: false,
    mutability: Mutability::ReadWrite,
    unique: false,
    refs: &[],
    sub: &[],
    description: "",
};

const fn text(name: &'static str, description: &'static str) -> Attr {
    Attr { name, description, ..STRING }
}

const fn complex(name: &'static str, multi: bool, sub: &'static [Attr], description: &'static str) -> Attr {
    Attr { name, kind: Kind::Complex, multi, sub, description, ..STRING }
}

const PRIMARY: Attr = Attr { name: "primary", kind: Kind::Boolean, description: "The preferred value.", ..STRING };
const TYPED: [Attr; 3] = [text("value", "The value."), text("type", "work, home, mobile, other…"), PRIMARY];

const USER_ATTRS: &[Attr] = &[
    Attr {
        name: "userName",
        required: true,
        unique: true,
        description: "The name the person signs in with (Twofold's username, compared case-insensitively).",
        ..STRING
    },
    complex(
        "name",
        false,
        &[
            text("formatted", "The full name."),
            text("familyName", "The family name."),
            text("givenName", "The given name."),
            text("middleName", "The middle name."),
        ],
        "The person's name.",
    ),
    text("displayName", "The name shown in Twofold (else name.formatted, else given and family name)."),
    text("nickName", "A casual name."),
    text("title", "The job title."),
    text("userType", "The kind of account (student, staff…)."),
    text("preferredLanguage", "The preferred language (RFC 7231 Accept-Language)."),
    text("locale", "The locale."),
    text("timezone", "The time zone (IANA name)."),
    Attr {
        name: "active",
        kind: Kind::Boolean,
        description: "false disables the account in Twofold (its sessions end; devices are kept).",
        ..STRING
    },
    complex("emails", true, &TYPED, "Email addresses; the primary (else work, else first) is Twofold's."),
    complex("phoneNumbers", true, &TYPED, "Phone numbers; a mobile number in E.164 is suggested at enrolment."),
    complex(
        "addresses",
        true,
        &[
            text("formatted", "The full address."),
            text("streetAddress", "The street."),
            text("locality", "The city."),
            text("region", "The region."),
            text("postalCode", "The postal code."),
            text("country", "The country (ISO 3166-1 alpha-2)."),
            text("type", "work, home, other."),
            PRIMARY,
        ],
        "Postal addresses.",
    ),
    Attr {
        name: "groups",
        kind: Kind::Complex,
        multi: true,
        mutability: Mutability::ReadOnly,
        sub: &[
            Attr { mutability: Mutability::ReadOnly, ..text("value", "The group's id.") },
            Attr {
                kind: Kind::Reference,
                refs: &["Group"],
                mutability: Mutability::ReadOnly,
                ..text("$ref", "The group's location.")
            },
            Attr { mutability: Mutability::ReadOnly, ..text("display", "The group's name.") },
        ],
        description: "The SCIM groups the user is a member of (change them through /Groups).",
        ..STRING
    },
];

const ENTERPRISE_ATTRS: &[Attr] = &[
    text("employeeNumber", "The employee or student number."),
    text("costCenter", "The cost center."),
    text("organization", "The organization."),
    text("division", "The division."),
    text("department", "The department."),
    complex(
        "manager",
        false,
        &[
            text("value", "The manager's id."),
            Attr { kind: Kind::Reference, refs: &["User"], ..text("$ref", "The manager's location.") },
            Attr { mutability: Mutability::ReadOnly, ..text("displayName", "The manager's name.") },
        ],
        "The user's manager.",
    ),
];

const GROUP_ATTRS: &[Attr] = &[
    Attr {
        name: "displayName",
        required: true,
        unique: true,
        description: "The group's name: the name Twofold's policies and help-desk scopes use.",
        ..STRING
    },
    Attr {
        name: "members",
        kind: Kind::Complex,
        multi: true,
        sub: &[
            Attr { mutability: Mutability::Immutable, ..text("value", "The member's id (a user).") },
            Attr {
                kind: Kind::Reference,
                refs: &["User"],
                mutability: Mutability::Immutable,
                ..text("$ref", "The member's location.")
            },
        ],
        description: "The members (users; nested groups are not supported).",
        ..STRING
    },
];

pub struct Schema {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [Attr],
}

pub const USER_SCHEMA: Schema = Schema { id: USER, name: "User", description: "User Account", attributes: USER_ATTRS };
pub const ENTERPRISE_SCHEMA: Schema =
    Schema { id: ENTERPRISE, name: "EnterpriseUser", description: "Enterprise User", attributes: ENTERPRISE_ATTRS };
pub const GROUP_SCHEMA: Schema = Schema { id: GROUP, name: "Group", description: "Group", attributes: GROUP_ATTRS };

pub const ALL: [&Schema; 3] = [&USER_SCHEMA, &ENTERPRISE_SCHEMA, &GROUP_SCHEMA];

/// The two kinds of resource Twofold serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    pub fn core(self) -> &'static Schema {
        match self {
            ResourceKind::User => &USER_SCHEMA,
            ResourceKind::Group => &GROUP_SCHEMA,
        }
    }

    /// The extension schemas of the resource.
    pub fn extensions(self) -> &'static [&'static Schema] {
        match self {
            ResourceKind::User => &[&ENTERPRISE_SCHEMA],
            ResourceKind::Group => &[],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "Users",
            ResourceKind::Group => "Groups",
        }
    }

    /// The extension schema named `urn` (case-insensitive).
    pub fn extension(self, urn: &str) -> Option<&'static Schema> {
        self.extensions().iter().copied().find(|s| s.id.eq_ignore_ascii_case(urn))
    }
}

/// The attribute `name` among `attrs`, case-insensitively.
pub fn find<'a>(attrs: &'a [Attr], name: &str) -> Option<&'a Attr> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

fn attr_json(a: &Attr) -> Value {
    let mut out = json!({
        "name": a.name,
        "type": match a.kind {
            Kind::String => "string",
            Kind::Boolean => "boolean",
            Kind::Complex => "complex",
            Kind::Reference => "reference",
        },
        "multiValued": a.multi,
        "description": a.description,
        "required": a.required,
        "mutability": match a.mutability {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
        },
        "returned": "default",
    });
    if let Value::Object(map) = &mut out {
        if matches!(a.kind, Kind::String | Kind::Reference) {
            map.insert("caseExact".into(), Value::Bool(false));
            map.insert("uniqueness".into(), Value::from(if a.unique { "server" } else { "none" }));
        }
        if a.kind == Kind::Reference {
            map.insert("referenceTypes".into(), json!(a.refs));
        }
        if !a.sub.is_empty() {
            map.insert("subAttributes".into(), Value::Array(a.sub.iter().map(attr_json).collect()));
        }
    }
    out
}

/// A schema as `/Schemas` publishes it.
pub fn schema_json(schema: &Schema, base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": schema.attributes.iter().map(attr_json).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{}", schema.id)},
    })
}

/// A resource type as `/ResourceTypes` publishes it.
pub fn resource_type_json(kind: ResourceKind, base: &str) -> Value {
    let extensions: Vec<Value> = kind.extensions().iter().map(|s| json!({"schema": s.id, "required": false})).collect();
    let mut out = Map::new();
    out.insert("schemas".into(), json!(["urn:ietf:params:scim:schemas:core:2.0:ResourceType"]));
    out.insert("id".into(), Value::from(kind.name()));
    out.insert("name".into(), Value::from(kind.name()));
    out.insert("endpoint".into(), Value::from(format!("/{}", kind.endpoint())));
    out.insert("description".into(), Value::from(kind.core().description));
    out.insert("schema".into(), Value::from(kind.core().id));
    if !extensions.is_empty() {
        out.insert("schemaExtensions".into(), Value::Array(extensions));
    }
    out.insert(
        "meta".into(),
        json!({"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", kind.name())}),
    );
    Value::Object(out)
}

/// What Twofold supports (RFC 7643 §5).
pub fn service_provider_config(base: &str, max_results: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A connector's token, created in Twofold's console (Users → SCIM connectors).",
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    })
}
