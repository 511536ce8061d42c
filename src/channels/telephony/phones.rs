//! `Phones`: what the rest of Twofold asks of telephony. It spends the hourly budgets before any
//! carrier request, keeps texted codes as keyed hashes, and settles calls exactly once.

use crate::domain::AuditEvent;
use askama::Template;
use url::Url;

use super::simulator::Simulator;
use super::twilio::Twilio;
use super::{CarrierError, OutgoingCall, Telephony, Text};
use crate::config::{TelephonyMode, TelephonySettings};
use crate::domain::PhoneNumber;
use crate::factors::codes::random_digits;
use crate::secrets::{Keys, new_id};
use crate::store::audit::{Event, Outcome};
use crate::store::phone_calls::{CallRow, NewCall};
use crate::store::phone_sends::Send;
use crate::store::{self, Db, StoreError};

/// Texted and spoken passcodes have 7 digits (about 23 bits; a length no other code uses).
pub const CODE_DIGITS: usize = 7;

#[derive(Debug, thiserror::Error)]
pub enum PhoneError {
    /// A budget is spent: nothing was sent. Names the budget, never the number.
    #[error("the {0} budget is spent")]
    Budget(&'static str),
    #[error(transparent)]
    Carrier(#[from] CarrierError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a call ended, as the waiting page and the enrolment see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    Ringing,
    Answered,
    Declined,
    Fraud,
    /// Busy, no answer, failed or timed out: the message says so and other methods stay.
    NotAnswered,
    /// Already handed to a sign-in.
    Used,
}

impl CallOutcome {
    pub fn of(status: &str) -> Self {
        match status {
            "ringing" => Self::Ringing,
            "answered" => Self::Answered,
            "declined" => Self::Declined,
            "fraud" => Self::Fraud,
            "used" => Self::Used,
            _ => Self::NotAnswered,
        }
    }
}

#[derive(Template)]
#[template(path = "phone/sms_codes.txt")]
struct SmsCodes<'a> {
    institution: &'a str,
    codes: &'a [String],
    minutes: u32,
}

#[derive(Template)]
#[template(path = "phone/call_script.txt")]
struct CallScript<'a> {
    institution: &'a str,
    username: &'a str,
    purpose: &'a str,
    fraud_key: &'a str,
}

/// Whom a text or call is for: the user, and the device it goes to (none while a number is being
/// verified at enrolment), so a sign-in with it shows on that device's "Last used".
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub user_id: &'a str,
    pub username: &'a str,
    pub device_id: Option<&'a str>,
}

pub struct Phones {
    carrier: Box<dyn Telephony>,
    settings: TelephonySettings,
    institution: String,
    db: Db,
    keys: Keys,
}

impl Phones {
    pub fn new(
        settings: &TelephonySettings,
        institution: &str,
        db: Db,
        keys: Keys,
        public_url: Url,
    ) -> Result<Self, CarrierError> {
        let carrier: Box<dyn Telephony> = match settings.mode {
            TelephonyMode::Simulator => Box::new(Simulator::new(db.clone(), keys.clone())),
            TelephonyMode::Twilio => Box::new(Twilio::new(settings, public_url)?),
        };
        Ok(Self { carrier, settings: settings.clone(), institution: institution.to_string(), db, keys })
    }

    pub fn is_simulator(&self) -> bool {
        self.carrier.provider() == super::simulator::PROVIDER
    }

    pub fn settings(&self) -> &TelephonySettings {
        &self.settings
    }

    /// The keyed hash a texted or spoken code is stored as.
    pub fn code_hash(&self, user_id: &str, code: &str) -> String {
        self.keys.hash_token(&format!("phone-code:{user_id}:{code}"))
    }

    /// Counts this send against every budget; past one, records an alert and refuses.
    async fn spend(
        &self,
        user_id: &str,
        username: &str,
        to: &PhoneNumber,
        kind: &str,
        now: i64,
    ) -> Result<(), PhoneError> {
        // The console's budgets, read at the point of use: a change applies to the next send.
        let saved = store::policies::all(&self.db).await?;
        let b = &crate::policy::phone_budgets(&self.settings, &saved);
        let prefix = to.prefix(b.prefix_digits as usize);
        let send = Send { user_id: Some(user_id), to_number: to.e164(), prefix: &prefix, kind };
        let (id, counts) = store::phone_sends::record_and_count(&self.db, &self.keys, send, now).await?;
        let spent = if counts.global > i64::from(b.global_per_hour) {
            Some("global")
        } else if counts.prefix > i64::from(b.per_prefix_per_hour) {
            Some("per-prefix")
        } else if counts.number > i64::from(b.per_number_per_hour) {
            Some("per-number")
        } else if counts.user > i64::from(b.per_user_per_hour) {
            Some("per-user")
        } else {
            None
        };
        let Some(which) = spent else { return Ok(()) };
        store::phone_sends::forget(&self.db, &id).await?;
        let detail = format!("{which} hourly {kind} budget spent; nothing sent to {}", to.masked());
        tracing::warn!(budget = which, number = %to.masked(), "telephony budget spent");
        store::audit::record(
            &self.db,
            Event::new(AuditEvent::PhoneBudgetExceeded, Outcome::Failure).user(user_id, username).detail(&detail),
            now,
        )
        .await?;
        Err(PhoneError::Budget(which))
    }

    async fn carrier_failed(&self, user_id: &str, username: &str, what: &str, e: &CarrierError, now: i64) {
        tracing::warn!(error = %e, what, "carrier request failed");
        let detail = format!("{what}: {e}");
        let event = Event::new(AuditEvent::PhoneCarrierError, Outcome::Failure).user(user_id, username).detail(&detail);
        if let Err(e) = store::audit::record(&self.db, event, now).await {
            tracing::warn!(error = %e, "could not record the carrier failure");
        }
    }

    /// "Text Me": a batch of single-use passcodes, stored as keyed hashes before the text leaves.
    pub async fn send_codes(
        &self,
        to_whom: Recipient<'_>,
        to: &PhoneNumber,
        purpose: &str,
        now: i64,
    ) -> Result<(), PhoneError> {
        let Recipient { user_id, username, device_id } = to_whom;
        self.spend(user_id, username, to, "sms", now).await?;
        let batch = self.settings.sms_batch_size.max(1) as usize;
        let codes: Vec<String> = (0..batch).map(|_| random_digits(CODE_DIGITS)).collect();
        let hashes: Vec<String> = codes.iter().map(|c| self.code_hash(user_id, c)).collect();
        let expires = now + i64::from(self.settings.code_minutes) * 60;
        store::phone_codes::insert_batch(&self.db, user_id, device_id, purpose, &hashes, now, expires).await?;
        let body = SmsCodes { institution: &self.institution, codes: &codes, minutes: self.settings.code_minutes }
            .render()
            .map_err(|e| CarrierError::Misconfigured(e.to_string()))?;
        let detail = format!("{} passcode(s) to {}", codes.len(), to.masked());
        self.text(user_id, username, to, body.trim(), &detail, now).await
    }

    /// Hands a text (its budget already spent) to the carrier; a failure is recorded once, a
    /// success audited as `phone.text_sent` with `detail`.
    async fn text(
        &self,
        user_id: &str,
        username: &str,
        to: &PhoneNumber,
        body: &str,
        detail: &str,
        now: i64,
    ) -> Result<(), PhoneError> {
        if let Err(e) = self.carrier.send_text(Text { user_id: Some(user_id), to, body }).await {
            self.carrier_failed(user_id, username, "text", &e, now).await;
            return Err(e.into());
        }
        let event = Event::new(AuditEvent::PhoneTextSent, Outcome::Info).user(user_id, username).detail(detail);
        store::audit::record(&self.db, event, now).await?;
        Ok(())
    }

    /// A text that tells the owner of something (no code in it), e.g. that a recovery passcode
    /// was requested; counted against the same budgets as passcodes.
    pub async fn send_notice(
        &self,
        user_id: &str,
        username: &str,
        to: &PhoneNumber,
        body: &str,
        now: i64,
    ) -> Result<(), PhoneError> {
        self.spend(user_id, username, to, "sms", now).await?;
        let body = format!("{}: {body}", self.institution);
        self.text(user_id, username, to, &body, &format!("notice to {}", to.masked()), now).await
    }

    /// True for the one submission that uses a live texted code.
    pub async fn use_code(&self, user_id: &str, purpose: &str, typed: &str, now: i64) -> Result<bool, StoreError> {
        if typed.len() != CODE_DIGITS {
            return Ok(false);
        }
        store::phone_codes::consume(&self.db, user_id, purpose, &self.code_hash(user_id, typed), now).await
    }

    /// "Call Me" / "Call me to verify": records the call, then asks the carrier to place it.
    pub async fn start_call(
        &self,
        to_whom: Recipient<'_>,
        to: &PhoneNumber,
        extension: Option<&str>,
        purpose: &str,
        now: i64,
    ) -> Result<String, PhoneError> {
        let Recipient { user_id, username, device_id } = to_whom;
        self.spend(user_id, username, to, "call", now).await?;
        let script =
            CallScript { institution: &self.institution, username, purpose, fraud_key: &self.settings.fraud_key }
                .render()
                .map_err(|e| CarrierError::Misconfigured(e.to_string()))?;
        let script = script.trim();
        let id = new_id();
        let expires_at = now + i64::from(self.settings.call_timeout_seconds);
        let call = NewCall {
            id: &id,
            user_id,
            to_number: to.e164(),
            purpose,
            provider: self.carrier.provider(),
            script,
            expires_at,
            device_id,
        };
        store::phone_calls::insert(&self.db, &self.keys, call, now).await?;
        match self.carrier.place_call(OutgoingCall { id: &id, to, extension, script }).await {
            Ok(Some(sid)) => store::phone_calls::set_provider_sid(&self.db, &id, &sid).await?,
            Ok(None) => {}
            Err(e) => {
                store::phone_calls::finish(&self.db, &id, "failed", None, now).await?;
                self.carrier_failed(user_id, username, "call", &e, now).await;
                return Err(e.into());
            }
        }
        let detail = format!("{purpose} call to {}", to.masked());
        store::audit::record(
            &self.db,
            Event::new(AuditEvent::PhoneCallPlaced, Outcome::Info).user(user_id, username).detail(&detail),
            now,
        )
        .await?;
        Ok(id)
    }

    /// A key was pressed on the call (webhook or simulator). The fraud key denies and reports;
    /// any other key answers. Only the first event for a ringing call counts.
    pub async fn key_pressed(&self, call_id: &str, digits: &str, now: i64) -> Result<CallOutcome, StoreError> {
        let Some(call) = store::phone_calls::by_id(&self.db, &self.keys, call_id).await? else {
            return Ok(CallOutcome::NotAnswered);
        };
        let fraud = digits.trim() == self.settings.fraud_key;
        let status = if fraud { "fraud" } else { "answered" };
        if call.expires_at < now || !store::phone_calls::finish(&self.db, call_id, status, Some(""), now).await? {
            return Ok(CallOutcome::of(&self.refresh(&call, now).await?.status));
        }
        let user = store::users::by_id(&self.db, &call.user_id).await?;
        let username = user.as_ref().map(|u| u.username.as_str()).unwrap_or("");
        let masked = crate::domain::phone::mask(&call.to_number);
        if fraud {
            let detail = format!("{} call to {masked}: the fraud key was pressed", call.purpose);
            let report = store::fraud_reports::NewReport {
                user_id: &call.user_id,
                method: "phone_call",
                detail: &detail,
                ip: None,
                application: None,
            };
            store::fraud_reports::insert(&self.db, report, now).await?;
            let event =
                Event::new(AuditEvent::PhoneCallFraud, Outcome::Failure).user(&call.user_id, username).detail(&detail);
            store::audit::record(&self.db, event, now).await?;
            return Ok(CallOutcome::Fraud);
        }
        let detail = format!("{} call to {masked} answered", call.purpose);
        let event =
            Event::new(AuditEvent::PhoneCallAnswered, Outcome::Success).user(&call.user_id, username).detail(&detail);
        store::audit::record(&self.db, event, now).await?;
        Ok(CallOutcome::Answered)
    }

    /// The call ended without a key: declined, busy, no answer or failed.
    pub async fn call_ended(&self, call_id: &str, status: &str, now: i64) -> Result<bool, StoreError> {
        let status = match status {
            "declined" => "declined",
            "busy" => "busy",
            "no-answer" | "no_answer" => "no_answer",
            "completed" => "no_key",
            _ => "failed",
        };
        store::phone_calls::finish(&self.db, call_id, status, None, now).await
    }

    /// The call as the waiting page sees it; a call ringing past its time is ended as timed out.
    pub async fn call_for_user(&self, call_id: &str, user_id: &str, now: i64) -> Result<Option<CallRow>, StoreError> {
        let Some(call) = store::phone_calls::by_id(&self.db, &self.keys, call_id).await? else { return Ok(None) };
        if call.user_id != user_id {
            return Ok(None);
        }
        Ok(Some(self.refresh(&call, now).await?))
    }

    async fn refresh(&self, call: &CallRow, now: i64) -> Result<CallRow, StoreError> {
        if call.status == "ringing" && call.expires_at < now {
            store::phone_calls::finish(&self.db, &call.id, "timeout", None, now).await?;
            return Ok(store::phone_calls::by_id(&self.db, &self.keys, &call.id)
                .await?
                .unwrap_or_else(|| call.clone()));
        }
        Ok(call.clone())
    }
}
