//! The LDAP/Active Directory directory (`[directory]`, docs/directory.md): where the accounts of
//! `source = directory` come from and where their passwords are checked. Off until `url` is set.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DirectorySettings {
    /// `ldaps://host:636` or `ldap://host:389` (then `starttls` must be on, unless
    /// `allow_plaintext` says otherwise). Empty: no directory.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before anything is sent.
    pub starttls: bool,
    /// PEM file with the CA certificate(s) the server's certificate must chain to; without it,
    /// the system's trusted roots.
    pub ca_file: Option<PathBuf>,
    /// Only for a test directory on the loopback: `ldap://` without TLS.
    pub allow_plaintext: bool,
    /// The service account that searches (e.g. `CN=twofold,OU=Service,DC=example,DC=edu`).
    pub bind_dn: String,
    pub bind_password: Option<String>,
    /// Read `bind_password` from this file.
    pub bind_password_file: Option<PathBuf>,
    /// Where users (and groups) are searched, the whole subtree.
    pub base_dn: String,
    /// Which entries are users; the username is ANDed to it for a password check.
    pub user_filter: String,
    /// Which entries are groups (for nested groups: their `member` lists are walked).
    pub group_filter: String,
    /// When set (a group's DN), only its members, nested groups included, are synced; the
    /// accounts of those who leave it are disabled.
    pub sync_group: Option<String>,
    /// Minutes between scheduled syncs; 0: only "Sync now" and `twofold directory sync`.
    pub sync_interval_minutes: u32,
    /// Entries per page of a search (the server's limit is 1000 in AD by default).
    pub page_size: i32,
    /// Seconds for connecting and for each operation.
    pub timeout_seconds: u64,
    pub attributes: DirectoryAttributes,
}

/// Which directory attribute holds what (Active Directory's names in the comments).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DirectoryAttributes {
    /// `sAMAccountName` (AD) or `uid` (OpenLDAP).
    pub username: String,
    /// `displayName`.
    pub display_name: String,
    /// `mail`.
    pub email: String,
    /// `mobile`: offered as an unverified phone suggestion.
    pub mobile: String,
    /// The name a group gets in Twofold (`cn`).
    pub group_name: String,
    /// A group's members (`member`).
    pub group_member: String,
    /// The stable identifier (`objectGUID` in AD, `entryUUID` in OpenLDAP).
    pub external_id: String,
}

impl Default for DirectoryAttributes {
    fn default() -> Self {
        Self {
            username: "uid".into(),
            display_name: "displayName".into(),
            email: "mail".into(),
            mobile: "mobile".into(),
            group_name: "cn".into(),
            group_member: "member".into(),
            external_id: "entryUUID".into(),
        }
    }
}

impl Default for DirectorySettings {
    fn default() -> Self {
        Self {
            url: String::new(),
            starttls: false,
            ca_file: None,
            allow_plaintext: false,
            bind_dn: String::new(),
            bind_password: None,
            bind_password_file: None,
            base_dn: String::new(),
            user_filter: "(objectClass=inetOrgPerson)".into(),
            group_filter: "(|(objectClass=groupOfNames)(objectClass=group))".into(),
            sync_group: None,
            sync_interval_minutes: 30,
            page_size: 500,
            timeout_seconds: 10,
            attributes: DirectoryAttributes::default(),
        }
    }
}

impl DirectorySettings {
    pub fn enabled(&self) -> bool {
        !self.url.is_empty()
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.enabled() {
            return Ok(());
        }
        let url = url::Url::parse(&self.url).map_err(|e| invalid("directory.url", e.to_string()))?;
        match url.scheme() {
            "ldaps" if self.starttls => {
                return Err(invalid("directory.starttls", "StartTLS is for ldap:// URLs, not ldaps://"));
            }
            "ldaps" => {}
            "ldap" if self.starttls || self.allow_plaintext => {}
            "ldap" => {
                return Err(invalid(
                    "directory.url",
                    "ldap:// sends passwords in clear: use ldaps:// or starttls = true",
                ));
            }
            other => return Err(invalid("directory.url", format!("`{other}` is not ldap:// or ldaps://"))),
        }
        if self.base_dn.is_empty() {
            return Err(invalid("directory.base_dn", "set the DN under which users are searched"));
        }
        if self.bind_dn.is_empty() || self.bind_password.is_none() {
            return Err(invalid(
                "directory.bind_dn",
                "set the service account and its password (or bind_password_file)",
            ));
        }
        if !(1..=10_000).contains(&self.page_size) {
            return Err(invalid("directory.page_size", "between 1 and 10000"));
        }
        if let Some(path) = &self.ca_file
            && !path.is_file()
        {
            return Err(invalid("directory.ca_file", format!("{} is not a readable file", path.display())));
        }
        let a = &self.attributes;
        for (key, value) in
            [("directory.attributes.username", &a.username), ("directory.attributes.external_id", &a.external_id)]
        {
            if value.is_empty() {
                return Err(invalid(key, "cannot be empty"));
            }
        }
        Ok(())
    }
}
