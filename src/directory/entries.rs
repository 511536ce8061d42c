//! Directory entries as Twofold reads them (pure): a user through the attribute map, groups, and
//! nested membership resolved by walking the groups' `member` lists (OpenLDAP has no
//! LDAP_MATCHING_RULE_IN_CHAIN, and walking works the same on Active Directory).

use std::collections::{BTreeSet, HashMap};

use ldap3::SearchEntry;

use crate::config::directory::{DirectoryAttributes, DirectorySettings};

/// AD's `userAccountControl` bit ACCOUNTDISABLE.
const ACCOUNT_DISABLE: u32 = 0x2;
/// OpenLDAP ppolicy's permanent lock (an administrator's lock, which Twofold reads as disabled).
const PERMANENT_LOCK: &str = "000001010000Z";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirUser {
    pub dn: String,
    pub username: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub external_id: String,
    /// Disabled in the directory (AD's ACCOUNTDISABLE, or a permanent ppolicy lock).
    pub disabled: bool,
}

/// The attributes asked for with each user.
pub fn user_attributes(settings: &DirectorySettings) -> Vec<String> {
    let a = &settings.attributes;
    let mut names = vec![a.username.clone(), a.display_name.clone(), a.email.clone(), a.mobile.clone()];
    names.extend([a.external_id.clone(), "userAccountControl".into(), "pwdAccountLockedTime".into()]);
    names.retain(|n| !n.is_empty());
    names
}

/// The first value of `name` (attribute names are compared without case, as LDAP does).
fn first(entry: &SearchEntry, name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    let text = entry.attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.first().cloned());
    let binary = || {
        let (_, v) = entry.bin_attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name))?;
        v.first().map(hex::encode)
    };
    text.or_else(binary).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

impl DirUser {
    /// `None` when the entry has no username or no stable identifier.
    pub fn from_entry(a: &DirectoryAttributes, entry: SearchEntry) -> Option<Self> {
        let username = first(&entry, &a.username)?;
        let external_id = first(&entry, &a.external_id)?;
        let control = first(&entry, "userAccountControl").and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
        let locked = first(&entry, "pwdAccountLockedTime").is_some_and(|t| t == PERMANENT_LOCK);
        Some(Self {
            username,
            display_name: first(&entry, &a.display_name),
            email: first(&entry, &a.email),
            mobile: first(&entry, &a.mobile),
            external_id,
            disabled: control & ACCOUNT_DISABLE != 0 || locked,
            dn: entry.dn,
        })
    }
}

/// The values of a multi-valued attribute, whole or ranged: Active Directory answers at most 1500
/// values at a time, under `member;range=0-1499` (then `member;range=1500-*` is asked, and so on).
pub fn values(entry: &SearchEntry, name: &str) -> Vec<String> {
    let ranged = format!("{};range=", name.to_ascii_lowercase());
    let matches = |k: &String| k.eq_ignore_ascii_case(name) || k.to_ascii_lowercase().starts_with(&ranged);
    entry.attrs.iter().filter(|(k, _)| matches(k)).flat_map(|(_, v)| v.iter().cloned()).collect()
}

/// When `entry` holds one range of `name` that is not the last, where the next range starts.
pub fn next_range(entry: &SearchEntry, name: &str) -> Option<usize> {
    let ranged = format!("{};range=", name.to_ascii_lowercase());
    entry.attrs.keys().find_map(|k| {
        let range = k.to_ascii_lowercase().strip_prefix(&ranged)?.to_string();
        let (_, end) = range.split_once('-')?;
        end.parse::<usize>().ok().map(|end| end + 1)
    })
}

/// A DN compared as the directory would, near enough: case and spaces after commas ignored.
pub fn dn_key(dn: &str) -> String {
    dn.split(',').map(|part| part.trim().to_lowercase()).collect::<Vec<_>>().join(",")
}

/// Every group: its DN (as `dn_key`) → its name and its members' DNs (as `dn_key`).
#[derive(Debug, Default)]
pub struct Groups {
    names: HashMap<String, String>,
    /// member → the groups that list it directly.
    parents: HashMap<String, Vec<String>>,
}

impl Groups {
    pub fn add(&mut self, dn: &str, name: String, members: &[String]) {
        let dn = dn_key(dn);
        for member in members {
            self.parents.entry(dn_key(member)).or_default().push(dn.clone());
        }
        self.names.insert(dn, name);
    }

    /// A group entry; `more`: members read in further ranges (Active Directory's large groups).
    pub fn from_entry(&mut self, a: &DirectoryAttributes, entry: &SearchEntry, more: Vec<String>) {
        let name = first(entry, &a.group_name).unwrap_or_else(|| entry.dn.clone());
        let mut members = values(entry, &a.group_member);
        members.extend(more);
        self.add(&entry.dn, name, &members);
    }

    /// The DNs of every group `dn` belongs to, directly or through other groups (cycles end).
    pub fn closure(&self, dn: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut queue = vec![dn_key(dn)];
        while let Some(next) = queue.pop() {
            for parent in self.parents.get(&next).into_iter().flatten() {
                if seen.insert(parent.clone()) {
                    queue.push(parent.clone());
                }
            }
        }
        seen
    }

    /// The names of the groups of `dn`, nested ones included, sorted.
    pub fn names_of(&self, dn: &str) -> Vec<String> {
        let names: BTreeSet<String> = self.closure(dn).iter().filter_map(|g| self.names.get(g).cloned()).collect();
        names.into_iter().collect()
    }

    /// Whether `dn` is in `group`, nested membership included.
    pub fn is_member(&self, dn: &str, group: &str) -> bool {
        self.closure(dn).contains(&dn_key(group))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_groups_are_followed_and_cycles_end() {
        let mut groups = Groups::default();
        groups.add("cn=students,ou=groups,dc=x", "students".into(), &["cn=physics,ou=groups,dc=x".into()]);
        groups.add("cn=physics,ou=groups,dc=x", "physics".into(), &["uid=ada,ou=people,dc=x".into()]);
        groups.add("cn=a,dc=x", "a".into(), &["cn=b,dc=x".into(), "uid=bob,dc=x".into()]);
        groups.add("cn=b,dc=x", "b".into(), &["cn=a,dc=x".into()]);
        assert_eq!(groups.names_of("UID=ada, ou=People,dc=x"), vec!["physics", "students"]);
        assert!(groups.is_member("uid=ada,ou=people,dc=x", "CN=Students,OU=groups,DC=x"));
        assert_eq!(groups.names_of("uid=bob,dc=x"), vec!["a", "b"]);
        assert!(groups.names_of("uid=nobody,dc=x").is_empty());
    }

    #[test]
    fn ranged_values_are_read_and_the_next_range_asked_for() {
        let entry = |key: &str, values: &[&str]| {
            let mut attrs = HashMap::new();
            attrs.insert(key.to_string(), values.iter().map(|v| v.to_string()).collect());
            attrs.insert("cn".to_string(), vec!["big".to_string()]);
            SearchEntry { dn: "cn=big,dc=x".into(), attrs, bin_attrs: HashMap::new() }
        };
        let first = entry("member;range=0-1499", &["uid=a,dc=x", "uid=b,dc=x"]);
        assert_eq!(values(&first, "member"), ["uid=a,dc=x", "uid=b,dc=x"]);
        assert_eq!(next_range(&first, "member"), Some(1500));
        let last = entry("member;range=1500-*", &["uid=c,dc=x"]);
        assert_eq!(next_range(&last, "member"), None);
        let whole = entry("member", &["uid=a,dc=x"]);
        assert_eq!((values(&whole, "Member").len(), next_range(&whole, "member")), (1, None));
        let mut groups = Groups::default();
        groups.from_entry(&DirectoryAttributes::default(), &first, values(&last, "member"));
        assert!(groups.is_member("uid=c,dc=x", "cn=big,dc=x"));
    }

    #[test]
    fn a_user_is_read_through_the_attribute_map() {
        let a = DirectoryAttributes::default();
        let mut attrs = HashMap::new();
        attrs.insert("uid".to_string(), vec!["ada".to_string()]);
        attrs.insert("entryUUID".to_string(), vec!["1234".to_string()]);
        attrs.insert("pwdAccountLockedTime".to_string(), vec![PERMANENT_LOCK.to_string()]);
        let entry = SearchEntry { dn: "uid=ada,dc=x".into(), attrs, bin_attrs: HashMap::new() };
        let user = DirUser::from_entry(&a, entry).unwrap();
        assert_eq!((user.username.as_str(), user.external_id.as_str(), user.disabled), ("ada", "1234", true));
        assert_eq!(user.email, None);
    }
}
