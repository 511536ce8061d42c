//! A Twilio-compatible REST carrier: the Messages and Calls APIs with Basic auth, TwiML `<Gather>`
//! for the key press and webhooks back to `public_url`. Retries only requests that never left.

use std::time::Duration;

use askama::Template;
use futures_util::future::BoxFuture;
use url::Url;

use super::{CarrierError, OutgoingCall, Telephony, Text};
use crate::config::TelephonySettings;

pub const PROVIDER: &str = "twilio";

/// Webhook paths (under `public_url`); the call's id is the last segment.
pub const GATHER_PATH: &str = "/telephony/twilio/gather/";
pub const STATUS_PATH: &str = "/telephony/twilio/status/";

pub struct Twilio {
    client: reqwest::Client,
    account_sid: String,
    auth_token: String,
    from: String,
    base_url: String,
    max_attempts: u32,
    public_url: Url,
}

#[derive(Template)]
#[template(path = "phone/gather.xml")]
struct GatherTwiml<'a> {
    action: &'a str,
    script: &'a str,
}

impl Twilio {
    pub fn new(settings: &TelephonySettings, public_url: Url) -> Result<Self, CarrierError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_seconds.max(1)))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| CarrierError::Misconfigured(e.to_string()))?;
        Ok(Self {
            client,
            account_sid: settings.account_sid.clone(),
            auth_token: settings.auth_token.clone(),
            from: settings.from_number.clone(),
            base_url: settings.base_url.trim_end_matches('/').to_string(),
            max_attempts: settings.max_attempts.max(1),
            public_url,
        })
    }

    fn endpoint(&self, resource: &str) -> String {
        format!("{}/2010-04-01/Accounts/{}/{resource}.json", self.base_url, self.account_sid)
    }

    /// The absolute webhook URL for `path` + call id, as the carrier will request and sign it.
    pub fn webhook_url(public_url: &Url, path: &str, call_id: &str) -> String {
        let base = public_url.as_str().trim_end_matches('/');
        format!("{base}{path}{call_id}")
    }

    /// POSTs a form. A request that failed to connect never reached the carrier and is tried
    /// again (bounded); one that reached it is never repeated, so nobody is charged or texted twice.
    async fn post(&self, resource: &str, form: &[(&str, &str)]) -> Result<serde_json::Value, CarrierError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self
                .client
                .post(self.endpoint(resource))
                .basic_auth(&self.account_sid, Some(&self.auth_token))
                .form(form)
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) if e.is_connect() && attempt < self.max_attempts => {
                    tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt))).await;
                    continue;
                }
                Err(e) if e.is_timeout() => return Err(CarrierError::Timeout),
                Err(e) => return Err(CarrierError::Unreachable(without_url(&e))),
            };
            let status = response.status().as_u16();
            if response.status().is_server_error() {
                return Err(CarrierError::Unavailable(status));
            }
            let body: serde_json::Value = match response.json().await {
                Ok(v) => v,
                Err(e) if e.is_timeout() => return Err(CarrierError::Timeout),
                Err(_) => serde_json::Value::Null,
            };
            if !(200..300).contains(&status) {
                let message = body.get("message").and_then(|m| m.as_str()).unwrap_or("no message").to_string();
                return Err(CarrierError::Refused { status, message });
            }
            return Ok(body);
        }
    }
}

/// reqwest's errors print the URL, which holds the account SID; keep only the kind.
fn without_url(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection failed".into()
    } else if e.is_request() {
        "request failed".into()
    } else {
        "transport error".into()
    }
}

impl Telephony for Twilio {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn send_text<'a>(&'a self, text: Text<'a>) -> BoxFuture<'a, Result<(), CarrierError>> {
        Box::pin(async move {
            self.post("Messages", &[("To", text.to.e164()), ("From", &self.from), ("Body", text.body)]).await?;
            Ok(())
        })
    }

    fn place_call<'a>(&'a self, call: OutgoingCall<'a>) -> BoxFuture<'a, Result<Option<String>, CarrierError>> {
        Box::pin(async move {
            let action = Self::webhook_url(&self.public_url, GATHER_PATH, call.id);
            let status = Self::webhook_url(&self.public_url, STATUS_PATH, call.id);
            let twiml = GatherTwiml { action: &action, script: call.script }
                .render()
                .map_err(|e| CarrierError::Misconfigured(e.to_string()))?;
            // "w" waits half a second: let the switchboard answer before dialling the extension.
            let digits = call.extension.map(|ext| format!("wwww{ext}"));
            let mut form = vec![
                ("To", call.to.e164()),
                ("From", self.from.as_str()),
                ("Twiml", twiml.as_str()),
                ("StatusCallback", status.as_str()),
                ("Timeout", "30"),
            ];
            if let Some(d) = digits.as_deref() {
                form.push(("SendDigits", d));
            }
            let body = self.post("Calls", &form).await?;
            Ok(body.get("sid").and_then(|s| s.as_str()).map(str::to_string))
        })
    }
}
