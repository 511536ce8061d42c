//! The change feed: wakes whoever waits on a topic (`push:<id>`, later calls and Duo's
//! `auth_status`) as soon as it changes. In-process for SQLite; LISTEN/NOTIFY for PostgreSQL.
//!
//! A waiter subscribes *before* reading the state it waits on, then waits; a change published in
//! between is therefore never lost. Notifications are hints, not data: the waiter always reads the
//! database again, and waits in short slices so a lost PostgreSQL connection costs seconds, not
//! the whole wait.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OnceCell, broadcast};
use tokio::time::Instant;

use super::{Backend, Db, StoreError};

/// The PostgreSQL channel every instance listens on; the payload is the topic.
const CHANNEL: &str = "twofold_changes";
/// The longest a waiter sleeps before reading the database again, even without a notification.
const SLICE: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct ChangeFeed {
    inner: Arc<Inner>,
}

struct Inner {
    tx: broadcast::Sender<String>,
    /// The PostgreSQL URL to LISTEN on; None for SQLite (one instance, in-process only).
    postgres_url: Option<String>,
    listening: OnceCell<()>,
}

impl std::fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeFeed").field("postgres", &self.inner.postgres_url.is_some()).finish()
    }
}

impl ChangeFeed {
    pub(crate) fn new(postgres_url: Option<String>) -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self { inner: Arc::new(Inner { tx, postgres_url, listening: OnceCell::new() }) }
    }

    /// Starts listening (PostgreSQL: once per instance, on first use) and returns a subscription.
    pub async fn subscribe(&self) -> Result<Subscription, StoreError> {
        let rx = self.inner.tx.subscribe();
        if let Some(url) = &self.inner.postgres_url {
            self.inner.listening.get_or_try_init(|| start_listener(url.clone(), self.inner.tx.clone())).await?;
        }
        Ok(Subscription { rx })
    }

    /// Announces that `topic` changed, to this instance and (PostgreSQL) every other one.
    pub async fn publish(&self, db: &Db, topic: &str) -> Result<(), StoreError> {
        match db.backend() {
            Backend::Sqlite => {
                // No receivers is fine: nobody is waiting.
                let _ = self.inner.tx.send(topic.to_string());
            }
            Backend::Postgres => {
                // Delivered to every listener, this instance's included, after the commit.
                sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(topic).execute(db.writes()).await?;
            }
        }
        Ok(())
    }
}

async fn start_listener(url: String, tx: broadcast::Sender<String>) -> Result<(), StoreError> {
    let mut listener = sqlx::postgres::PgListener::connect(&url).await?;
    listener.listen(CHANNEL).await?;
    tokio::spawn(async move {
        loop {
            // `recv` reconnects by itself after a lost connection (notifications in the gap are
            // lost; waiters read the database again every `SLICE`).
            match listener.recv().await {
                Ok(n) => {
                    let _ = tx.send(n.payload().to_string());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "change feed: listening failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(())
}

pub struct Subscription {
    rx: broadcast::Receiver<String>,
}

impl Subscription {
    /// Waits until `topic` is announced, `deadline` passes, or one `SLICE` passes; returns so the
    /// caller reads the database again. True when the topic (or possibly it: a lagging receiver)
    /// was announced.
    pub async fn changed(&mut self, topic: &str, deadline: Instant) -> bool {
        let until = deadline.min(Instant::now() + SLICE);
        loop {
            match tokio::time::timeout_at(until, self.rx.recv()).await {
                Ok(Ok(t)) if t == topic => return true,
                Ok(Ok(_)) => continue,
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => return true,
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiter_wakes_on_its_topic_and_not_on_others() {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        let feed = db.changes().clone();
        let mut sub = feed.subscribe().await.unwrap();
        feed.publish(&db, "push:other").await.unwrap();
        feed.publish(&db, "push:mine").await.unwrap();
        assert!(sub.changed("push:mine", Instant::now() + Duration::from_secs(2)).await);
        let started = Instant::now();
        assert!(!sub.changed("push:mine", Instant::now() + Duration::from_millis(200)).await);
        assert!(started.elapsed() >= Duration::from_millis(190));
    }
}
