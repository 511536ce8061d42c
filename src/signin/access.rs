//! Access at every door, before the second factor: the rules in force for a user at an
//! application (global, the user's groups, the application, the user's groups at the application:
//! `domain::access::resolve`), where the request comes from (`crate::geoip`), and the decision
//! (`domain::access::decide`): deny, let through without a second factor, or go on. A denial and
//! a sign-in let through are audited with the address, the country and the rule.

use std::net::IpAddr;

use crate::domain::AuditEvent;
use crate::domain::access::{self, Decision, Door, Effective, Level, Rules, Where};
use crate::store::audit::Outcome;
use crate::store::{self, StoreError};

use super::attempt::entry;
use super::verdict::{Application, Caller};
use super::{Error, SignIn};

/// The policy scope of an application registered in the console (Auth API, Universal Prompt).
pub fn registered_scope(application_id: &str) -> String {
    format!("app:{application_id}")
}

/// The policy scope of a RADIUS client (by name: clients in the configuration have no id).
pub fn radius_scope(client: &str) -> String {
    format!("radius:{client}")
}

/// The access rules saved for one application: its own, and its groups' by group name.
#[derive(Debug, Clone, Default)]
pub struct ApplicationRules {
    pub own: Rules,
    pub groups: Vec<(String, Rules)>,
}

/// What a door learns: the decision, and what it was made on (for its words and the explainer).
#[derive(Debug, Clone)]
pub struct Access {
    pub decision: Decision,
    pub at: Where,
    pub rules: Effective,
}

impl SignIn {
    /// The rules saved for an application scope (rules that no longer parse are skipped, with a
    /// warning). Read at most once per `POLICY_TTL` per instance, like the policy: a change saved
    /// here is seen at once (`forget_policy`), one saved on another instance within the TTL.
    pub async fn application_rules(&self, scope: &str) -> Result<ApplicationRules, StoreError> {
        if let Ok(cache) = self.application_rules_cache.lock()
            && let Some((at, rules)) = cache.get(scope)
            && at.elapsed() < super::POLICY_TTL
        {
            return Ok(rules.clone());
        }
        let found = self.read_application_rules(scope).await?;
        if let Ok(mut cache) = self.application_rules_cache.lock() {
            cache.insert(scope.to_string(), (std::time::Instant::now(), found.clone()));
        }
        Ok(found)
    }

    async fn read_application_rules(&self, scope: &str) -> Result<ApplicationRules, StoreError> {
        let mut found = ApplicationRules::default();
        for row in store::application_policies::of_application(&self.db, scope).await? {
            let rules = if row.group_name.is_empty() {
                &mut found.own
            } else {
                if found.groups.last().is_none_or(|(g, _)| *g != row.group_name) {
                    found.groups.push((row.group_name.clone(), Rules::default()));
                }
                match found.groups.last_mut() {
                    Some((_, rules)) => rules,
                    None => continue,
                }
            };
            if let Err(e) = rules.set(&row.key, &row.value) {
                tracing::warn!(application = %scope, key = %row.key, error = %e, "ignoring a saved application rule");
            }
        }
        Ok(found)
    }

    /// The rules in force for `user_id` at `application` (none: the portal), with their levels.
    pub async fn rules_for(&self, user_id: &str, application: Option<&Application>) -> Result<Effective, StoreError> {
        let policy = self.policy().await?;
        let saved = match application {
            Some(app) => Some(self.application_rules(&app.scope).await?),
            None => None,
        };
        let needs_groups = policy.has_group_rules() || saved.as_ref().is_some_and(|s| !s.groups.is_empty());
        let groups = if needs_groups { store::import::groups_of(&self.db, user_id).await? } else { Vec::new() };
        let mut layers: Vec<(Level, Rules)> = Vec::new();
        if let Some(saved) = &saved {
            let mine: Vec<&(String, Rules)> = saved.groups.iter().filter(|(g, _)| groups.contains(g)).collect();
            if !mine.is_empty() {
                let names = mine.iter().map(|(g, _)| g.as_str()).collect::<Vec<_>>().join(", ");
                layers.push((Level::ApplicationGroups(names), Rules::of_groups(mine.iter().map(|(_, r)| r))));
            }
            layers.push((Level::Application, saved.own.clone()));
        }
        layers.extend(policy.group_access(&groups));
        let borrowed: Vec<(Level, &Rules)> = layers.iter().map(|(l, r)| (l.clone(), r)).collect();
        Ok(access::resolve(&borrowed, &policy.global_access()))
    }

    /// Where an address is (country and anonymous network, when databases are configured).
    pub fn locate(&self, address: Option<&str>) -> Where {
        self.locator.locate(address.and_then(|a| a.parse::<IpAddr>().ok()))
    }

    /// Decides `caller`'s access at this door, without writing anything (the console's explainer).
    pub async fn explain_access(&self, caller: &Caller<'_>, door: Door) -> Result<Access, Error> {
        let rules = self.rules_for(&caller.user.id, caller.application).await?;
        let at = self.locate(caller.ip);
        let new = caller.user.enrolled_at.is_none() && !self.methods(&caller.user.id).await?.any();
        let decision = access::decide(&rules, &at, !new, door);
        Ok(Access { decision, at, rules })
    }

    /// Decides `caller`'s access at this door; a denial or a sign-in let through is audited.
    pub async fn access(&self, caller: &Caller<'_>, door: Door) -> Result<Access, Error> {
        let found = self.explain_access(caller, door).await?;
        let (event, outcome, reason) = match &found.decision {
            Decision::Continue => return Ok(found),
            Decision::Deny(reason) => (AuditEvent::AccessDenied, Outcome::Failure, reason),
            Decision::AllowWithoutMfa(reason) => (AuditEvent::AccessWithoutMfa, Outcome::Success, reason),
        };
        let application = caller.application.map_or("the portal", |a| a.name.as_str());
        let detail = format!("{}; rule: {}", place(&found.at), reason.describe(application));
        store::audit::record_entry(&self.db, entry(caller, event, outcome, &detail), self.now()).await?;
        Ok(found)
    }
}

/// "address 192.0.2.1 (country CH)", as the audit log and the explainer say it.
pub fn place(at: &Where) -> String {
    let address = at.address.map_or_else(|| "address unknown".to_string(), |a| format!("address {a}"));
    let country = at.country.as_deref().map_or_else(|| "country unknown".to_string(), |c| format!("country {c}"));
    let anonymous = if at.anonymous { ", anonymous network" } else { "" };
    format!("{address} ({country}{anonymous})")
}
