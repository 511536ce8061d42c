//! Mail: messages are written to the outbox first (durable, sealed body), then a background sender
//! delivers them over SMTP with retries. In simulator mode they stay in the outbox for the Outbox
//! page instead; nothing leaves the machine.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use prometheus_client::metrics::counter::Counter;
use tokio::sync::Notify;

use crate::config::{MailMode, MailSettings, SmtpSecurity};
use crate::secrets::Keys;
use crate::shutdown::Shutdown;
use crate::store::{self, Db, StoreError, outbox::NewMessage};

const CHANNEL: &str = "mail";
const LEASE_SECONDS: i64 = 120;
const MAX_ATTEMPTS: i64 = 8;

/// Sealing context for outbox bodies.
const BODY_CONTEXT: &str = "outbox-body";

pub struct Mailer {
    mode: MailMode,
    from: Mailbox,
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    wake: Notify,
    /// Failed delivery attempts, for the metrics.
    failures: Counter,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("mode", &self.mode).finish_non_exhaustive()
    }
}

/// A message to one person.
pub struct Mail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub user_id: Option<&'a str>,
}

impl Mailer {
    pub fn new(settings: &MailSettings) -> anyhow::Result<Self> {
        let from: Mailbox = settings.from.parse()?;
        let transport = match settings.mode {
            MailMode::Simulator => None,
            MailMode::Smtp => {
                let host = settings.smtp_host.as_str();
                let mut builder = match settings.smtp_security {
                    SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
                    SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
                    SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
                };
                builder = builder.port(settings.smtp_port).timeout(Some(Duration::from_secs(20)));
                if let (Some(user), Some(password)) = (&settings.smtp_username, &settings.smtp_password) {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                Some(builder.build())
            }
        };
        Ok(Self { mode: settings.mode, from, transport, wake: Notify::new(), failures: Counter::default() })
    }

    /// Counts failed delivery attempts in `counter` (the server's metrics).
    pub fn count_failures_in(mut self, counter: Counter) -> Self {
        self.failures = counter;
        self
    }

    pub fn is_simulator(&self) -> bool {
        self.mode == MailMode::Simulator
    }

    /// The outbox row of `mail` with its sealed body: simulated, or pending for the sender.
    fn message<'a>(&self, mail: &Mail<'a>, sealed_body: &'a str) -> NewMessage<'a> {
        NewMessage {
            channel: CHANNEL,
            recipient: mail.to,
            subject: mail.subject,
            sealed_body,
            user_id: mail.user_id,
            status: if self.is_simulator() { "simulated" } else { "pending" },
        }
    }

    /// Queues a message (committed before this returns) and wakes the sender.
    pub async fn queue(&self, db: &Db, keys: &Keys, mail: Mail<'_>, now: i64) -> anyhow::Result<()> {
        let sealed = keys.seal(BODY_CONTEXT, mail.body.as_bytes())?;
        store::outbox::insert(db, self.message(&mail, &sealed), now).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Queues a mail a person asked for (`purpose`, e.g. "activation-link"), within the budget per
    /// user and per address of the last hour; false, and nothing queued, past it.
    pub async fn queue_requested(
        &self,
        db: &Db,
        keys: &Keys,
        mail: Mail<'_>,
        purpose: &str,
        (per_user, per_recipient): (u32, u32),
        now: i64,
    ) -> anyhow::Result<bool> {
        let sealed = keys.seal(BODY_CONTEXT, mail.body.as_bytes())?;
        let message = self.message(&mail, &sealed);
        let budget = store::outbox::Budget {
            purpose,
            per_user: i64::from(per_user),
            per_recipient: i64::from(per_recipient),
            since: now - 3600,
        };
        let queued = store::outbox::insert_within(db, message, budget, now).await?;
        if queued {
            self.wake.notify_one();
        }
        Ok(queued)
    }

    /// The body of a stored message, for the simulator's Outbox page.
    pub fn open_body(keys: &Keys, sealed: &str) -> Option<String> {
        if sealed.is_empty() {
            return None;
        }
        keys.open(BODY_CONTEXT, sealed).ok().and_then(|b| String::from_utf8(b.to_vec()).ok())
    }

    /// Delivers queued mail until the server stops. Safe to run on every instance. Each message
    /// is claimed with a lease and then marked sent or failed (one statement each); on stop the
    /// message being sent is finished, no new one is claimed, and a message whose sending was cut
    /// short is sent again by any instance once its lease ends.
    pub fn spawn_sender(self: Arc<Self>, db: Db, keys: Keys, shutdown: Arc<Shutdown>) {
        if self.transport.is_none() {
            return;
        }
        let stop = shutdown.clone();
        shutdown.spawn(async move {
            while !stop.is_raised() {
                loop {
                    if stop.is_raised() {
                        return;
                    }
                    match self.send_one(&db, &keys).await {
                        Ok(true) => continue,
                        Ok(false) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "mail sender could not read the outbox");
                            break;
                        }
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                    _ = self.wake.notified() => {}
                    _ = stop.raised() => return,
                }
            }
        });
    }

    /// Sends the next due message, if any; true when one was handled.
    async fn send_one(&self, db: &Db, keys: &Keys) -> Result<bool, StoreError> {
        let t = crate::clock::now();
        let Some(row) = store::outbox::claim_next(db, CHANNEL, t, LEASE_SECONDS).await? else { return Ok(false) };
        let result = match Self::open_body(keys, &row.body) {
            Some(body) => self.deliver(&row.recipient, &row.subject, body).await,
            None => Err("the message body cannot be opened".to_string()),
        };
        match result {
            Ok(()) => {
                store::outbox::mark_sent(db, &row.id, crate::clock::now()).await?;
                tracing::info!(message = %row.id, "mail delivered");
            }
            Err(error) => {
                let retry = (row.attempts < MAX_ATTEMPTS).then(|| t + backoff_seconds(row.attempts));
                tracing::warn!(message = %row.id, attempt = row.attempts, %error, "mail delivery failed");
                self.failures.inc();
                store::outbox::mark_failed(db, &row.id, &error, retry).await?;
            }
        }
        Ok(true)
    }

    async fn deliver(&self, to: &str, subject: &str, body: String) -> Result<(), String> {
        let transport = self.transport.as_ref().ok_or("no SMTP transport")?;
        let to: Mailbox = to.parse().map_err(|e| format!("recipient: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| e.to_string())?;
        transport.send(message).await.map(|_| ()).map_err(|e| e.to_string())
    }
}

/// 30 s, 1 min, 2 min, … up to an hour between attempts.
fn backoff_seconds(attempts: i64) -> i64 {
    let exponent = attempts.clamp(1, 8) - 1;
    (30 * (1i64 << exponent)).min(3600)
}

#[cfg(test)]
mod tests {
    use super::backoff_seconds;

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(backoff_seconds(1), 30);
        assert_eq!(backoff_seconds(2), 60);
        assert_eq!(backoff_seconds(8), 3600);
        assert_eq!(backoff_seconds(50), 3600);
    }
}
