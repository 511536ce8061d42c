//! "Text Me" and "Call Me", at every door: which phone, whether the policy allows it, the
//! carrier's budgets (in `channels::telephony::Phones`), and settling an answered call once.
//! Texted codes are then typed as passcodes (`passcode`). Sending never resets the failure count.

use std::time::Duration;

use crate::channels::telephony::{CallOutcome, PhoneError, Recipient};
use crate::domain::policy::Method;
use crate::domain::{AuditEvent, DeviceKind, PhoneNumber};
use crate::store::attempts::{Check, Consume};
use crate::store::{self, phone_devices::PhoneDevice};

use super::attempt::{Failure, Kind, entry};
use super::passcode::PURPOSE;
use super::verdict::{Accepted, Caller, Factor, Verdict};
use super::{Error, SignIn};
use crate::store::audit::Outcome;

/// How often a waiting call is looked at (calls have no change-feed topic).
const CALL_POLL: Duration = Duration::from_millis(300);

/// Which of the user's phones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneChoice<'a> {
    /// The user's first phone that can do it (default first).
    Auto,
    Device(&'a str),
}

/// Why no text was sent or call placed.
#[derive(Debug)]
pub enum PhoneRefusal {
    NotAllowed(Method),
    /// No such phone of the user's (or, for texts, no mobile phone).
    NoPhone,
    Locked,
    Disabled,
    /// The budgets or the carrier said no.
    Channel(PhoneError),
}

/// How a call ended, for a door that waits for it (the Auth API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEnd {
    /// Answered and used once, here: the verdict of that use.
    Settled(Verdict),
    Declined,
    Fraud,
    NotAnswered,
    /// The server began to stop; the call was ended.
    Stopped,
}

impl SignIn {
    /// "Text Me": a batch of passcodes to the chosen mobile phone.
    pub async fn text_codes(
        &self,
        caller: &Caller<'_>,
        choice: PhoneChoice<'_>,
    ) -> Result<Result<(), PhoneRefusal>, Error> {
        let phone = match self.usable_phone(caller, choice, Method::Sms).await? {
            Ok(phone) => phone,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let number = PhoneNumber::from_e164(&phone.phone).map_err(|e| Error::Other(e.to_string()))?;
        let user = caller.user;
        let to_whom = Recipient { user_id: &user.id, username: &user.username, device_id: Some(&phone.id) };
        Ok(match self.phones.send_codes(to_whom, &number, PURPOSE, self.now()).await {
            Ok(()) => Ok(()),
            Err(PhoneError::Store(e)) => return Err(e.into()),
            Err(e) => Err(PhoneRefusal::Channel(e)),
        })
    }

    /// "Call Me": places the call; its id is what the door waits on.
    pub async fn call(
        &self,
        caller: &Caller<'_>,
        choice: PhoneChoice<'_>,
    ) -> Result<Result<String, PhoneRefusal>, Error> {
        let phone = match self.usable_phone(caller, choice, Method::PhoneCall).await? {
            Ok(phone) => phone,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let number = PhoneNumber::from_e164(&phone.phone).map_err(|e| Error::Other(e.to_string()))?;
        let (user, ext) = (caller.user, phone.phone_extension.as_deref());
        let to_whom = Recipient { user_id: &user.id, username: &user.username, device_id: Some(&phone.id) };
        Ok(match self.phones.start_call(to_whom, &number, ext, PURPOSE, self.now()).await {
            Ok(id) => Ok(id),
            Err(PhoneError::Store(e)) => return Err(e.into()),
            Err(e) => Err(PhoneRefusal::Channel(e)),
        })
    }

    /// The user's phone for `method`, if the account and the policy allow it.
    async fn usable_phone(
        &self,
        caller: &Caller<'_>,
        choice: PhoneChoice<'_>,
        method: Method,
    ) -> Result<Result<PhoneDevice, PhoneRefusal>, Error> {
        let user = caller.user;
        if !user.is_active() {
            return Ok(Err(PhoneRefusal::Disabled));
        }
        if self.lock(user).await?.is_locked() {
            return Ok(Err(PhoneRefusal::Locked));
        }
        let mobile_only = method == Method::Sms;
        let phone = store::phone_devices::for_user(&self.db, &self.keys, &user.id)
            .await?
            .into_iter()
            .filter(|d| !d.phone.is_empty())
            .filter(|d| !mobile_only || d.kind == DeviceKind::MobilePhone)
            .find(|d| match choice {
                PhoneChoice::Auto => true,
                PhoneChoice::Device(id) => d.id == id,
            });
        let Some(phone) = phone else { return Ok(Err(PhoneRefusal::NoPhone)) };
        if !super::allowed::method_allowed(self, caller, method).await? {
            self.refuse_method(caller, method).await?;
            return Ok(Err(PhoneRefusal::NotAllowed(method)));
        }
        Ok(Ok(phone))
    }

    /// Uses an answered call to sign in: once, while the account is unlocked.
    pub async fn finish_call(&self, caller: &Caller<'_>, call_id: &str) -> Result<Verdict, Error> {
        let accepted = Accepted { factor: Factor::PhoneCall, detail: format!("call {call_id}") };
        let consume = Consume::CallAnswer { id: call_id.to_string() };
        let check = move || Check { candidates: vec![(consume, accepted)], ..Check::default() };
        let failure = Failure::new(AuditEvent::MfaPhoneCall, format!("call {call_id} not answered"));
        self.attempt(caller, Kind::Approval, failure, check).await
    }

    /// Waits for the call to end (the simulator or the carrier's webhook records it) and settles
    /// an answer once, here. When the server stops, a call still ringing at the settle time is
    /// ended as failed.
    pub async fn wait_call(&self, caller: &Caller<'_>, call_id: &str) -> Result<CallEnd, Error> {
        let end = self.call_end(caller, call_id).await?;
        let why = match &end {
            CallEnd::Settled(_) => None,
            CallEnd::Declined => Some("declined"),
            CallEnd::Fraud => Some("reported as fraudulent"),
            CallEnd::NotAnswered => Some("not answered"),
            CallEnd::Stopped => Some("ended: the server stopped"),
        };
        if let Some(why) = why {
            let e = entry(caller, AuditEvent::MfaPhoneCall, Outcome::Failure, &format!("call {call_id} {why}"));
            store::audit::record_entry(&self.db, e, self.now()).await?;
        }
        Ok(end)
    }

    async fn call_end(&self, caller: &Caller<'_>, call_id: &str) -> Result<CallEnd, Error> {
        loop {
            let Some(call) = self.phones.call_for_user(call_id, &caller.user.id, self.now()).await? else {
                return Ok(CallEnd::NotAnswered);
            };
            return Ok(match CallOutcome::of(&call.status) {
                CallOutcome::Ringing => {
                    tokio::select! {
                        _ = tokio::time::sleep(CALL_POLL) => {}
                        _ = self.shutdown.settle_time() => {
                            if store::phone_calls::finish(&self.db, call_id, "failed", None, self.now()).await? {
                                return Ok(CallEnd::Stopped);
                            }
                        }
                    }
                    continue;
                }
                CallOutcome::Answered => CallEnd::Settled(self.finish_call(caller, call_id).await?),
                CallOutcome::Fraud => CallEnd::Fraud,
                CallOutcome::NotAnswered if call.status == "no_answer" || call.status == "timeout" => {
                    CallEnd::NotAnswered
                }
                _ => CallEnd::Declined,
            });
        }
    }
}
