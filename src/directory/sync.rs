//! The directory sync: read every user and group (paged), compare with the accounts through a
//! fingerprint of what the directory said, and write only the differences: create, update,
//! disable (never delete). A run with no changes writes no account. One user (`--user`) or all;
//! a dry run plans and writes nothing.

use std::collections::HashMap;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Scope, SearchEntry};
use sha2::{Digest, Sha256};

use super::entries::{DirUser, Groups};
use super::{Directory, DirectoryError};
use crate::domain::{AuditEvent, DisplayName, Email, PhoneNumber, Username};
use crate::secrets::{Keys, new_id};
use crate::store::audit::{Event, Outcome};
use crate::store::{self, Db, directory::Write, phone_numbers, users::Source};

/// The lease's name in `job_leases`.
pub const JOB: &str = "directory-sync";

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only this username (found in the directory, or disabled when it is gone).
    pub user: Option<String>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Users the directory has in scope.
    pub seen: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub disabled: usize,
    /// Entries that cannot be an account (a username Twofold does not accept), and accounts of
    /// another source or staff accounts with the same username (left alone).
    pub skipped: Vec<String>,
    pub dry_run: bool,
}

impl Summary {
    pub fn line(&self) -> String {
        let mut line = format!(
            "{}{} in the directory: {} created, {} updated, {} unchanged, {} disabled, {} skipped",
            if self.dry_run { "dry run: " } else { "" },
            self.seen,
            self.created,
            self.updated,
            self.unchanged,
            self.disabled,
            self.skipped.len()
        );
        if !self.skipped.is_empty() {
            let some: Vec<&str> = self.skipped.iter().take(5).map(String::as_str).collect();
            line.push_str(&format!(" ({}{})", some.join("; "), if self.skipped.len() > 5 { "; …" } else { "" }));
        }
        line
    }

    /// Whether the run changed any account.
    pub fn changed(&self) -> bool {
        self.created + self.updated + self.disabled > 0
    }
}

impl Directory {
    /// Every group and the users in scope (`only`: one username), read page by page.
    pub async fn read(&self, only: Option<&str>) -> Result<(Vec<DirUser>, Groups), DirectoryError> {
        let s = &self.settings;
        let a = &s.attributes;
        let mut ldap = self.service().await?;
        let mut groups = Groups::default();
        let paged = |size| -> Vec<Box<dyn Adapter<'static, String, Vec<String>>>> {
            vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(size))]
        };
        let attrs = vec![a.group_name.clone(), a.group_member.clone()];
        let mut search =
            ldap.streaming_search_with(paged(s.page_size), &s.base_dn, Scope::Subtree, &s.group_filter, attrs).await?;
        let mut entries = Vec::new();
        while let Some(entry) = search.next().await? {
            entries.push(SearchEntry::construct(entry));
        }
        search.finish().await.success()?;
        for entry in entries {
            let more = self.more_members(&mut ldap, &entry).await?;
            groups.from_entry(a, &entry, more);
        }
        let mut users = Vec::new();
        let filter = self.user_filter(only);
        let attrs = super::entries::user_attributes(s);
        let mut search =
            ldap.streaming_search_with(paged(s.page_size), &s.base_dn, Scope::Subtree, &filter, attrs).await?;
        while let Some(entry) = search.next().await? {
            if let Some(user) = DirUser::from_entry(a, SearchEntry::construct(entry)) {
                users.push(user);
            }
        }
        search.finish().await.success()?;
        let _ = ldap.unbind().await;
        if let Some(group) = &s.sync_group {
            users.retain(|u| groups.is_member(&u.dn, group));
        }
        Ok((users, groups))
    }

    /// The members of a large Active Directory group past the first range (none elsewhere).
    async fn more_members(&self, ldap: &mut ldap3::Ldap, entry: &SearchEntry) -> Result<Vec<String>, DirectoryError> {
        let name = &self.settings.attributes.group_member;
        let mut more = Vec::new();
        let mut next = super::entries::next_range(entry, name);
        while let Some(start) = next {
            let attr = vec![format!("{name};range={start}-*")];
            let (found, _) = ldap.search(&entry.dn, Scope::Base, "(objectClass=*)", attr).await?.success()?;
            let Some(part) = found.into_iter().next().map(SearchEntry::construct) else { break };
            let values = super::entries::values(&part, name);
            next = super::entries::next_range(&part, name).filter(|_| !values.is_empty());
            more.extend(values);
        }
        Ok(more)
    }

    /// One sync. `progress(done, total)` is called as the accounts are written.
    pub async fn sync(
        &self,
        db: &Db,
        keys: &Keys,
        allowed_countries: &[String],
        options: &Options,
        now: i64,
        progress: &(dyn Fn(usize, usize) + Send + Sync),
    ) -> Result<Summary, DirectoryError> {
        let only = options.user.as_deref().map(|u| Username::parse(u).map(|n| n.as_str().to_string()));
        let only = only.transpose().map_err(|e| DirectoryError::Setup(e.to_string()))?;
        let (users, groups) = self.read(only.as_deref()).await?;
        let known = store::directory::known(db).await?;
        let plan = plan(&known, &users, &groups, keys, allowed_countries, only.as_deref(), options.dry_run)?;
        let mut summary = plan.summary;
        if options.dry_run {
            return Ok(summary);
        }
        let total = plan.writes.len() + plan.disables.len();
        for (i, chunk) in plan.writes.chunks(250).enumerate() {
            store::directory::write(db, chunk, now).await?;
            progress((i * 250 + chunk.len()).min(total), total);
        }
        let ids: Vec<String> = plan.disables.iter().map(|(id, _, _)| id.clone()).collect();
        store::directory::disable(db, &ids).await?;
        progress(total, total);
        // Each account the sync disabled is in its audit trail, with why.
        for (id, name, why) in plan.disabled.iter().chain(&plan.disables) {
            let e = Event::new(AuditEvent::UserDisabled, Outcome::Info).user(id, name).detail(why);
            store::audit::record(db, e, now).await?;
        }
        summary.dry_run = false;
        Ok(summary)
    }
}

struct Plan {
    writes: Vec<Write>,
    /// (id, username, why) of the accounts to disable because the directory no longer has them.
    disables: Vec<(String, String, &'static str)>,
    /// (id, username, why) of the accounts written as disabled (disabled in the directory).
    disabled: Vec<(String, String, &'static str)>,
    summary: Summary,
}

/// What the directory says of one account, hashed: equal fingerprints, nothing to write.
fn fingerprint(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex::encode(hash.finalize())
}

fn plan(
    known: &[store::directory::Known],
    users: &[DirUser],
    groups: &Groups,
    keys: &Keys,
    allowed_countries: &[String],
    only: Option<&str>,
    dry_run: bool,
) -> Result<Plan, DirectoryError> {
    let directory = Source::Directory.as_str();
    let by_external: HashMap<&str, usize> = known
        .iter()
        .enumerate()
        .filter(|(_, k)| k.source == directory)
        .filter_map(|(i, k)| k.external_id.as_deref().map(|e| (e, i)))
        .collect();
    let by_name: HashMap<&str, usize> = known.iter().enumerate().map(|(i, k)| (k.username.as_str(), i)).collect();
    let mut seen = vec![false; known.len()];
    let mut summary = Summary { seen: users.len(), dry_run, ..Summary::default() };
    let mut writes = Vec::new();
    let mut disabled = Vec::new();
    for user in users {
        let Ok(username) = Username::parse(&user.username) else {
            summary.skipped.push(format!("{}: not a valid username", user.username));
            continue;
        };
        let name = username.as_str();
        let found = by_external.get(user.external_id.as_str()).or_else(|| by_name.get(name)).copied();
        if let Some(i) = found {
            let k = &known[i];
            let adoptable = k.source == directory || (k.source == Source::Local.as_str() && k.role == "user");
            if !adoptable {
                summary.skipped.push(format!("{name}: an account of source {} or role {} exists", k.source, k.role));
                continue;
            }
            seen[i] = true;
        }
        let member_of = groups.names_of(&user.dn);
        let active = !user.disabled;
        // Of what the directory said, before any parsing: an unchanged user costs a hash.
        let print = fingerprint(&[
            name,
            user.display_name.as_deref().unwrap_or(""),
            user.email.as_deref().unwrap_or(""),
            &user.external_id,
            user.mobile.as_deref().unwrap_or(""),
            &member_of.join("\n"),
            if active { "active" } else { "disabled" },
        ]);
        let existing = found.map(|i| &known[i]);
        if let Some(k) = existing
            && k.source == directory
            && k.source_fingerprint.as_deref() == Some(print.as_str())
        {
            summary.unchanged += 1;
            continue;
        }
        let email = user.email.as_deref().and_then(|e| Email::parse(e).ok());
        let email = email.map(|e| e.as_str().to_string()).unwrap_or_default();
        let display = user.display_name.as_deref().and_then(|d| DisplayName::parse(d).ok());
        let display = display.map(|d| d.as_str().to_string()).unwrap_or_else(|| name.to_string());
        let mobile = user.mobile.as_deref().and_then(|m| PhoneNumber::parse(m, "", allowed_countries).ok());
        let mobile = mobile.map(|m| m.e164().to_string());
        match existing {
            None => summary.created += 1,
            Some(k) if k.status == "active" && !active => {
                summary.disabled += 1;
                disabled.push((k.id.clone(), name.to_string(), "by the directory sync: disabled in the directory"));
            }
            Some(_) => summary.updated += 1,
        }
        let id = existing.map(|k| k.id.clone()).unwrap_or_else(new_id);
        let phone = match (&mobile, dry_run) {
            (Some(number), false) => Some(phone_numbers::seal(keys, Some(&id), number)?),
            _ => None,
        };
        writes.push(Write {
            create: existing.is_none(),
            id,
            source: directory,
            username: name.to_string(),
            display_name: display,
            email,
            external_id: user.external_id.clone(),
            fingerprint: print,
            active,
            groups: member_of,
            phone,
        });
    }
    let mut disables = Vec::new();
    let gone = "by the directory sync: gone from the directory or the synced group";
    for (i, k) in known.iter().enumerate() {
        let in_question = only.is_none_or(|name| name == k.username);
        if k.source == directory && !seen[i] && in_question && k.status == "active" {
            summary.disabled += 1;
            disables.push((k.id.clone(), k.username.clone(), gone));
        }
    }
    Ok(Plan { writes, disables, disabled, summary })
}
