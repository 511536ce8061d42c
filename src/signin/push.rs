//! "Send Me a Push", at every door: starting a push (policy, fraud lock, the per-user cap),
//! the app's answer (signed by the device; number matching), and settling it once, by the
//! session or request that started it: an approval signs in exactly once.

use std::time::Duration;

use crate::domain::policy::Method;
use crate::domain::{AuditEvent, LoginAction};
use crate::factors::push::{Decision, PushStatus, new_number};
use crate::secrets::constant_time_eq;
use crate::store::attempts::{Check, Consume};
use crate::store::{
    self,
    audit::{Event, Outcome},
    push_devices::PushKeyRow,
    push_requests::{NewPush, PushRequestRow},
    users::UserRow,
};

use super::attempt::{Failure, Kind, entry};
use super::verdict::{Accepted, Caller, Factor, Verdict};
use super::{Error, SignIn};

/// What a push asks, as the app shows it.
#[derive(Debug, Clone, Copy)]
pub struct PushAsk<'a> {
    /// The login screen shows a number the user types into the app (the portal's prompt). The
    /// Auth API has nowhere to show one: approve or deny only.
    pub number_matching: bool,
    /// "VPN: Login request (…)" or the product's name.
    pub title: &'a str,
    /// The username the app shows.
    pub username: &'a str,
    /// The address the app shows (the user's, as the application saw it, for the Auth API).
    pub shown_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// Why no push was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushRefusal {
    /// The policy does not allow push for this user.
    NotAllowed,
    /// None of the user's devices can receive pushes.
    NoDevice,
    /// A push was reported as fraudulent and the report is still open.
    FraudLock,
    /// Too many pushes in the policy's window.
    Capped {
        window_minutes: u32,
    },
    Locked,
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushStart {
    Sent { id: String, number: String },
    Refused(PushRefusal),
}

/// How a push ended, for a door that waits for it (the Auth API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushEnd {
    /// Approved and used once, here: the verdict of that use.
    Settled(Verdict),
    Denied,
    Fraud,
    TimedOut,
    /// The server began to stop; the push was cancelled (a late approval does nothing).
    Stopped,
}

/// The app's answer, once checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    Recorded(PushStatus),
    /// "Approve" with a number that is not the one on the login screen: recorded as denied, and
    /// counted as a failed attempt.
    WrongNumber,
    NotFound,
    Expired,
    AlreadyAnswered,
}

impl SignIn {
    /// Starts a push for `caller` (see `PushRefusal` for why it may not).
    pub async fn start_push(&self, caller: &Caller<'_>, ask: PushAsk<'_>) -> Result<PushStart, Error> {
        let user = caller.user;
        let t = self.now();
        if let Some(refusal) = self.push_refusal(caller, t).await? {
            if matches!(refusal, PushRefusal::Locked | PushRefusal::Disabled) {
                let why = if refusal == PushRefusal::Locked { "account locked" } else { "account disabled" };
                let e = entry(caller, AuditEvent::PushSent, Outcome::Failure, &format!("refused: {why}"));
                store::audit::record_entry(&self.db, e, t).await?;
            }
            return Ok(PushStart::Refused(refusal));
        }
        let number =
            if ask.number_matching { new_number(self.policy().await?.push_number_digits) } else { String::new() };
        let push = NewPush {
            user_id: &user.id,
            number: &number,
            application: ask.title,
            username: ask.username,
            ip: ask.shown_ip,
            user_agent: ask.user_agent,
            expires_at: t + i64::from(self.settings.push.timeout_seconds),
            session: caller.session,
        };
        let id = store::push_requests::insert(&self.db, push, t).await?;
        self.notify_new_request(&user.id, &id);
        let e = entry(caller, AuditEvent::PushSent, Outcome::Info, &format!("request {id}"));
        store::audit::record_entry(&self.db, e, t).await?;
        Ok(PushStart::Sent { id, number })
    }

    /// Why no push may be sent now, if so. The first cap refusal in a window alerts
    /// administrators (someone may be wearing the user down with pushes).
    pub async fn push_refusal(&self, caller: &Caller<'_>, t: i64) -> Result<Option<PushRefusal>, Error> {
        let user = caller.user;
        if !user.is_active() {
            return Ok(Some(PushRefusal::Disabled));
        }
        if self.lock(user).await?.is_locked() {
            return Ok(Some(PushRefusal::Locked));
        }
        if !super::allowed::method_allowed(self, caller, Method::Push).await? {
            self.refuse_method(caller, Method::Push).await?;
            return Ok(Some(PushRefusal::NotAllowed));
        }
        if store::push_devices::push_device_ids(&self.db, &user.id).await?.is_empty() {
            return Ok(Some(PushRefusal::NoDevice));
        }
        if store::push_devices::push_locked(&self.db, &user.id).await? {
            return Ok(Some(PushRefusal::FraudLock));
        }
        let policy = self.policy().await?;
        let since = t - i64::from(policy.push_cap_window_minutes) * 60;
        if store::push_requests::count_since(&self.db, &user.id, since).await? >= i64::from(policy.push_cap_per_window)
        {
            let recent = store::audit::for_user(&self.db, &user.id, 50).await?;
            let first = !recent.iter().any(|r| r.event == AuditEvent::PushCapped.as_str() && r.at >= since);
            let e = entry(caller, AuditEvent::PushCapped, Outcome::Failure, "");
            store::audit::record_entry(&self.db, e, t).await?;
            if first {
                self.alert_cap(user, caller.ip, t).await?;
            }
            return Ok(Some(PushRefusal::Capped { window_minutes: policy.push_cap_window_minutes }));
        }
        Ok(None)
    }

    async fn alert_cap(&self, user: &UserRow, ip: Option<&str>, t: i64) -> Result<(), Error> {
        let policy = self.policy().await?;
        let subject = format!("Push limit reached for {}", user.username);
        let body = format!(
            "{} ({}) caused more than {} pushes in {} minutes; more pushes are refused until the window passes.\n\n\
             Last sign-in address: {}\n\nIf the user is not signing in right now, someone may know their password.\n",
            user.username,
            user.display_name,
            policy.push_cap_per_window,
            policy.push_cap_window_minutes,
            ip.unwrap_or("unknown"),
        );
        self.mail_admins(&subject, &body, t).await
    }

    /// The user's push request (anyone else's is as if it did not exist), timed out if overdue.
    pub async fn push_state(&self, user_id: &str, id: &str) -> Result<Option<PushRequestRow>, Error> {
        let Some(row) = store::push_requests::by_id(&self.db, id).await?.filter(|r| r.user_id == user_id) else {
            return Ok(None);
        };
        let t = self.now();
        if row.status == PushStatus::Pending.as_str() && row.expires_at <= t {
            store::push_requests::time_out(&self.db, id, t).await?;
            return Ok(store::push_requests::by_id(&self.db, id).await?);
        }
        Ok(Some(row))
    }

    /// Uses an approved push to sign in: once, while the account is unlocked (checked when the
    /// approval is used, not when the push was sent).
    pub async fn finish_push(&self, caller: &Caller<'_>, id: &str) -> Result<Verdict, Error> {
        let row = store::push_requests::by_id(&self.db, id).await?.filter(|r| r.user_id == caller.user.id);
        let device = row.as_ref().and_then(|r| r.device_id.clone()).unwrap_or_default();
        let accepted = Accepted { factor: Factor::Push, detail: format!("push {id} from device {device}") };
        // Only the session that started the push may use its approval.
        let consume = Consume::PushApproval { id: id.to_string(), session: caller.session.map(str::to_string) };
        let check = move || Check { candidates: vec![(consume, accepted)], ..Check::default() };
        let failure = Failure::new(AuditEvent::MfaPush, format!("push {id} not approved"));
        self.attempt(caller, Kind::Approval, failure, check).await
    }

    /// "Use another method": the waiting push is cancelled, so a late approval does nothing.
    pub async fn cancel_push(&self, user_id: &str, id: &str) -> Result<(), Error> {
        store::push_requests::cancel(&self.db, id, user_id, self.now()).await?;
        Ok(())
    }

    /// Waits for the push to end (woken by the change feed, so an answer handled by another
    /// instance counts) and settles an approval once, here. When the server stops, a push still
    /// pending at the settle time is cancelled.
    pub async fn wait_push(&self, caller: &Caller<'_>, id: &str) -> Result<PushEnd, Error> {
        let end = self.push_end(caller, id).await?;
        let why = match &end {
            PushEnd::Settled(_) => None,
            PushEnd::Denied => Some("denied"),
            PushEnd::Fraud => Some("reported as fraudulent"),
            PushEnd::TimedOut => Some("timed out"),
            PushEnd::Stopped => Some("ended: the server stopped"),
        };
        if let Some(why) = why {
            let e = entry(caller, AuditEvent::MfaPush, Outcome::Failure, &format!("push {id} {why}"));
            store::audit::record_entry(&self.db, e, self.now()).await?;
        }
        Ok(end)
    }

    async fn push_end(&self, caller: &Caller<'_>, id: &str) -> Result<PushEnd, Error> {
        let user_id = &caller.user.id;
        let topic = store::push_requests::topic(id);
        let mut sub = self.db.changes().subscribe(&topic).await?;
        loop {
            let Some(row) = self.push_state(user_id, id).await? else { return Ok(PushEnd::Denied) };
            return Ok(match PushStatus::parse(&row.status) {
                Some(PushStatus::Pending) => {
                    let left = Duration::from_secs(u64::try_from(row.expires_at - self.now() + 1).unwrap_or(0));
                    tokio::select! {
                        _ = sub.changed(tokio::time::Instant::now() + left) => {}
                        _ = self.shutdown.settle_time() => {
                            if store::push_requests::cancel(&self.db, id, user_id, self.now()).await? {
                                return Ok(PushEnd::Stopped);
                            }
                        }
                    }
                    continue;
                }
                Some(PushStatus::Approved) => PushEnd::Settled(self.finish_push(caller, id).await?),
                Some(PushStatus::Fraud) => PushEnd::Fraud,
                Some(PushStatus::TimedOut) => PushEnd::TimedOut,
                _ => PushEnd::Denied,
            });
        }
    }

    /// Whether the prompt should start a push by itself ("Automatically send this device a
    /// Push"): not when a push in the last timeout ended without approval, so coming back after a
    /// denial, a time-out or "Use another method" does not send another one by itself.
    pub async fn auto_push_wanted(
        &self,
        user_id: &str,
        devices: &[store::devices::DeviceRow],
        push_ids: &[String],
    ) -> Result<bool, Error> {
        let wanted = devices.iter().any(|d| d.login_action == LoginAction::Push && push_ids.contains(&d.id));
        if !wanted {
            return Ok(false);
        }
        let since = self.now() - i64::from(self.settings.push.timeout_seconds);
        Ok(store::push_requests::unapproved_since(&self.db, user_id, since).await? == 0)
    }

    /// The app's answer to a request of its user, from a device that proved itself with its key.
    pub async fn answer_push(
        &self,
        key: &PushKeyRow,
        request_id: &str,
        decision: Decision,
        number: &str,
        ip: Option<&str>,
    ) -> Result<Answered, Error> {
        let t = self.now();
        let Some(request) =
            store::push_requests::by_id(&self.db, request_id).await?.filter(|r| r.user_id == key.user_id)
        else {
            return Ok(Answered::NotFound);
        };
        let Some(user) = store::users::by_id(&self.db, &key.user_id).await? else { return Ok(Answered::NotFound) };
        if request.status == PushStatus::Pending.as_str() && request.expires_at <= t {
            store::push_requests::time_out(&self.db, &request.id, t).await?;
            return Ok(Answered::Expired);
        }
        let outcome = match decision {
            Decision::Approve if !constant_time_eq(number, &request.number) => PushStatus::Denied,
            Decision::Approve => PushStatus::Approved,
            Decision::Deny => PushStatus::Denied,
            Decision::Fraud => PushStatus::Fraud,
        };
        if !store::push_requests::answer(&self.db, &request.id, outcome.as_str(), &key.device_id, t).await? {
            return Ok(Answered::AlreadyAnswered);
        }
        let wrong_number = decision == Decision::Approve && outcome == PushStatus::Denied;
        let detail = format!("request {} answered by device {}: {}", request.id, key.device_id, outcome.as_str());
        let (event, result) = match outcome {
            PushStatus::Approved => (AuditEvent::PushApproved, Outcome::Success),
            PushStatus::Fraud => (AuditEvent::PushFraud, Outcome::Failure),
            _ if wrong_number => (AuditEvent::PushWrongNumber, Outcome::Failure),
            _ => (AuditEvent::PushDenied, Outcome::Failure),
        };
        let e = Event::new(event, result).user(&user.id, &user.username).ip(ip).detail(&detail);
        store::audit::record(&self.db, e, t).await?;
        if wrong_number {
            // Approving with the wrong number is a failed attempt like a wrong passcode.
            let max = self.policy().await?.lockout_max_failures;
            let (id, username) = (user.id.clone(), user.username.clone());
            store::users::record_failure(&self.db, &user.id, max, t, move |attempts, locked| {
                let d = format!("wrong push number; {attempts} failed attempt(s)");
                let e = Event::new(AuditEvent::AccountLocked, Outcome::Info).user(&id, &username).detail(&d);
                if locked { vec![e.into()] } else { Vec::new() }
            })
            .await?;
            return Ok(Answered::WrongNumber);
        }
        if outcome == PushStatus::Fraud {
            self.report_push_fraud(&user, &request, t).await?;
        }
        Ok(Answered::Recorded(outcome))
    }

    /// Notifies the user's subscribed apps of a new request (in the background; errors are
    /// logged). Tracked, so a graceful stop still delivers the notice of a push made just before.
    pub(crate) fn notify_new_request(&self, user_id: &str, request_id: &str) {
        let (core, user_id, request_id) = (self.clone(), user_id.to_string(), request_id.to_string());
        self.shutdown.spawn(async move {
            let subject = core.public_url.as_str().trim_end_matches('/').to_string();
            let sent = crate::channels::web_push::notify_user(&core.db, &core.keys, &subject, &user_id, &request_id);
            if let Err(e) = sent.await {
                tracing::warn!(error = %e, "web push: could not notify");
            }
        });
    }
}
