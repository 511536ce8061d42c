//! Telephony: the `Telephony` interface (send a text, place a call) and its two adapters, the
//! simulator (embedded default) and a Twilio-compatible REST client; `Phones` adds the budgets.

pub mod phones;
pub mod signature;
pub mod simulator;
pub mod twilio;

pub use phones::{CallOutcome, PhoneError, Phones, Recipient};

use futures_util::future::BoxFuture;

use crate::domain::PhoneNumber;

/// A text to one number. The body may hold passcodes: never logged.
pub struct Text<'a> {
    pub user_id: Option<&'a str>,
    pub to: &'a PhoneNumber,
    pub body: &'a str,
}

/// A call that reads `script` and waits for one key.
pub struct OutgoingCall<'a> {
    /// Our id for the call (the row in `phone_calls`); webhooks and the simulator name it.
    pub id: &'a str,
    pub to: &'a PhoneNumber,
    /// Dialled after the call connects (landlines).
    pub extension: Option<&'a str>,
    pub script: &'a str,
}

/// Why the carrier did not take a text or call. Messages name no number and no body.
#[derive(Debug, thiserror::Error)]
pub enum CarrierError {
    #[error("the carrier did not answer in time")]
    Timeout,
    #[error("the carrier could not be reached: {0}")]
    Unreachable(String),
    #[error("the carrier failed with HTTP {0}")]
    Unavailable(u16),
    #[error("the carrier refused the request with HTTP {status}: {message}")]
    Refused { status: u16, message: String },
    #[error("telephony is misconfigured: {0}")]
    Misconfigured(String),
}

/// What every carrier adapter does. Boxed futures keep the trait object-safe, so the adapter is
/// chosen from the configuration at start.
pub trait Telephony: Send + Sync {
    /// "simulator" or "twilio"; stored with each call.
    fn provider(&self) -> &'static str;
    fn send_text<'a>(&'a self, text: Text<'a>) -> BoxFuture<'a, Result<(), CarrierError>>;
    /// Places the call; returns the carrier's id for it, if it has one.
    fn place_call<'a>(&'a self, call: OutgoingCall<'a>) -> BoxFuture<'a, Result<Option<String>, CarrierError>>;
}
