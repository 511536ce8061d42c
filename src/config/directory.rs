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

#[cfg(test)]
mod tests {
    use super::super::Settings;
    use super::*;

    fn directory() -> DirectorySettings {
        DirectorySettings {
            url: "ldaps://dc1.example.edu".into(),
            bind_dn: "CN=svc,DC=example,DC=edu".into(),
            bind_password: Some("secret".into()),
            base_dn: "DC=example,DC=edu".into(),
            ..DirectorySettings::default()
        }
    }

    fn refused(edit: impl FnOnce(&mut DirectorySettings), key: &str) {
        let mut d = directory();
        edit(&mut d);
        let err = d.validate().unwrap_err().to_string();
        assert!(err.contains(key), "{err}");
    }

    #[test]
    fn a_directory_needs_tls_a_base_and_a_service_account() {
        directory().validate().unwrap();
        DirectorySettings::default().validate().unwrap();
        refused(|d| d.url = "ldap://dc1.example.edu".into(), "directory.url");
        refused(|d| d.starttls = true, "directory.starttls");
        refused(|d| d.url = "http://dc1".into(), "directory.url");
        refused(|d| d.base_dn.clear(), "directory.base_dn");
        refused(|d| d.bind_password = None, "directory.bind_dn");
        refused(|d| d.page_size = 0, "directory.page_size");
        refused(|d| d.ca_file = Some("/nonexistent/ca.pem".into()), "directory.ca_file");
        let mut d = directory();
        d.url = "ldap://dc1.example.edu".into();
        d.starttls = true;
        d.validate().unwrap();
    }

    #[test]
    fn the_bind_password_comes_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bind-password");
        std::fs::write(&file, "from-the-file\n").unwrap();
        let directory = DirectorySettings { bind_password: None, bind_password_file: Some(file), ..directory() };
        let mut s = Settings { directory, ..Settings::default() };
        s.secrets_from_files().unwrap();
        assert_eq!(s.directory.bind_password.as_deref(), Some("from-the-file"));
        s.validate().unwrap();
        s.directory.bind_password_file = Some(dir.path().join("bind-password"));
        let err = s.secrets_from_files().unwrap_err().to_string();
        assert!(err.contains("directory.bind_password_file"), "{err}");
    }
}
