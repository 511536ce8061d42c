//! One attempt at a second factor, made atomically by the store (`store::attempts`): the guard
//! from the policy (lockout budget, automatic unlock, the caller's session), the check that runs
//! only once the attempt is reserved, and the audit entries of every outcome.

use crate::domain::AuditEvent;
use crate::store;
use crate::store::attempts::{self, Check, Guard, Refusal, Settled};
use crate::store::audit::{Entry, Event, Outcome};

use super::verdict::{Accepted, Caller, Verdict};
use super::{Error, SignIn};

/// Whether a failed attempt counts towards the lockout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A typed code or a key's answer: reserved against the budget before it is checked.
    Guess,
    /// An approval or an answered call: needs an unlocked account, is not counted.
    Approval,
    /// A guess that adds a device rather than signing in (claiming a hardware token in the
    /// wizard): counted like a wrong passcode, but a success is no sign-in.
    Claim,
}

impl Kind {
    fn guess(self) -> bool {
        matches!(self, Kind::Guess | Kind::Claim)
    }
}

/// How a failure is described in the audit log.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub event: AuditEvent,
    /// Why, e.g. "wrong passcode".
    pub reason: String,
    /// Why, when what matched was already used ("passcode already used" when `None`).
    pub replay: Option<String>,
}

impl Failure {
    pub fn new(event: AuditEvent, reason: impl Into<String>) -> Self {
        Self { event, reason: reason.into(), replay: None }
    }
}

/// An audit entry for `caller`, with the application (if any) named first in the detail.
pub(crate) fn entry(caller: &Caller<'_>, event: AuditEvent, outcome: Outcome, detail: &str) -> Entry {
    let detail = match caller.application {
        Some(app) if detail.is_empty() => format!("application {} ({})", app.name, app.integration_key),
        Some(app) => format!("application {} ({}); {detail}", app.name, app.integration_key),
        None => detail.to_string(),
    };
    let mut e = Event::new(event, outcome).user(&caller.user.id, &caller.user.username).ip(caller.ip).detail(&detail);
    if let Some(app) = caller.application {
        e = e.application(&app.name);
    }
    e.into()
}

impl SignIn {
    /// Makes one attempt for `caller`: reserved (or refused) by the guard, then `check`, then
    /// the outcome and its audit entries, in one write.
    pub(crate) async fn attempt(
        &self,
        caller: &Caller<'_>,
        kind: Kind,
        failure: Failure,
        check: impl FnOnce() -> Check<Accepted> + Send + 'static,
    ) -> Result<Verdict, Error> {
        let policy = self.policy().await?;
        let t = self.now();
        let auto = i64::from(policy.lockout_auto_unlock_minutes) * 60;
        let guard = Guard {
            user_id: caller.user.id.clone(),
            guess: kind.guess(),
            max_failures: i64::from(policy.lockout_max_failures),
            unlock_before: (auto > 0).then_some(t - auto),
            session: caller.session.map(str::to_string),
            sign_in: kind != Kind::Claim,
            application: caller
                .application
                .map_or_else(|| store::last_methods::PORTAL.to_string(), |a| a.integration_key.clone()),
        };
        let owned = OwnedCaller::of(caller);
        let audit = move |settled: &Settled<Accepted>| audit_entries(&owned.caller(), kind, &failure, settled);
        let settled = attempts::settle(&self.db, guard, t, check, audit).await?;
        Ok(match settled {
            Settled::Accepted(accepted) => Verdict::Accepted(accepted),
            Settled::Refused(Refusal::Locked) => Verdict::Locked,
            Settled::Refused(Refusal::Inactive) => Verdict::Disabled,
            Settled::Refused(Refusal::SessionEnded) => Verdict::SessionEnded,
            Settled::Failed { withheld: Some(a), .. } => match a.factor.method() {
                Some(method) => Verdict::Refused(method),
                None => Verdict::Wrong { locked_now: false },
            },
            Settled::Failed { locked_now, replayed: true, .. } => Verdict::Replayed { locked_now },
            Settled::Failed { locked_now, .. } => Verdict::Wrong { locked_now },
        })
    }
}

fn audit_entries(caller: &Caller<'_>, kind: Kind, failure: &Failure, settled: &Settled<Accepted>) -> Vec<Entry> {
    match settled {
        Settled::Accepted(a) => {
            let event = if kind == Kind::Claim { AuditEvent::EnrollDeviceAdded } else { a.factor.event() };
            vec![entry(caller, event, Outcome::Success, &a.detail)]
        }
        Settled::Refused(why) => {
            let why = match why {
                Refusal::Locked => "refused: account locked",
                Refusal::Inactive => "refused: account disabled",
                Refusal::SessionEnded => "refused: the session had ended",
            };
            vec![entry(caller, failure.event, Outcome::Failure, why)]
        }
        Settled::Failed { attempts, locked_now, replayed, withheld } => {
            let counted = if kind.guess() { format!("; {attempts} failed attempt(s)") } else { String::new() };
            let mut entries = match withheld.as_ref().and_then(|a| a.factor.method()) {
                Some(m) => {
                    let detail = format!("{} is not allowed by policy{counted}", m.as_str());
                    vec![entry(caller, AuditEvent::MfaMethodRefused, Outcome::Failure, &detail)]
                }
                None => {
                    let reason = match (&failure.replay, *replayed && kind.guess()) {
                        (Some(replay), true) => replay.as_str(),
                        (None, true) => "passcode already used",
                        (_, false) => &failure.reason,
                    };
                    vec![entry(caller, failure.event, Outcome::Failure, &format!("{reason}{counted}"))]
                }
            };
            if *locked_now {
                let detail = format!("after {attempts} failed attempts");
                entries.push(entry(caller, AuditEvent::AccountLocked, Outcome::Info, &detail));
            }
            entries
        }
    }
}

/// A caller's fields, owned, for the audit closure that runs inside the write.
struct OwnedCaller {
    user: crate::store::users::UserRow,
    ip: Option<String>,
    application: Option<super::verdict::Application>,
}

impl OwnedCaller {
    fn of(caller: &Caller<'_>) -> Self {
        Self { user: caller.user.clone(), ip: caller.ip.map(str::to_string), application: caller.application.cloned() }
    }

    fn caller(&self) -> Caller<'_> {
        Caller { user: &self.user, ip: self.ip.as_deref(), application: self.application.as_ref(), session: None }
    }
}
