//! The change feed: wakes whoever waits on a topic (`push:<id>`, calls, Duo's `auth_status`) as
//! soon as it changes. In-process for SQLite; LISTEN/NOTIFY for PostgreSQL.
//!
//! Each topic has its own wake-up, made when the first waiter subscribes and dropped with the
//! last: an answer wakes the waiters of that topic only, not every waiting prompt (with 10,000
//! waiting, waking them all made each answer cost milliseconds of everyone's time).
//!
//! A waiter subscribes *before* reading the state it waits on, then waits; a change published in
//! between is therefore never lost. Notifications are hints, not data: the waiter always reads the
//! database again, and waits in short slices: a change made where this process cannot hear it (a
//! lost PostgreSQL listening connection; another process on the same SQLite file, such as a
//! command-line tool) costs seconds, not the whole wait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{OnceCell, watch};
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
    /// The topics someone waits on; each sender's value counts the changes announced.
    topics: Topics,
    /// The PostgreSQL URL to LISTEN on; None for SQLite (one instance, in-process only).
    postgres_url: Option<String>,
    listening: OnceCell<()>,
}

type Topics = Arc<Mutex<HashMap<String, Weak<watch::Sender<u64>>>>>;

impl std::fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeFeed").field("postgres", &self.inner.postgres_url.is_some()).finish()
    }
}

/// Wakes the waiters of `topic` in this process (none waiting: nothing to do).
fn wake(topics: &Topics, topic: &str) {
    let sender = topics.lock().ok().and_then(|map| map.get(topic).and_then(Weak::upgrade));
    if let Some(sender) = sender {
        sender.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl ChangeFeed {
    pub(crate) fn new(postgres_url: Option<String>) -> Self {
        let topics = Arc::new(Mutex::new(HashMap::new()));
        Self { inner: Arc::new(Inner { topics, postgres_url, listening: OnceCell::new() }) }
    }

    /// Starts listening (PostgreSQL: once per instance, on first use) and returns a subscription
    /// to `topic`: it sees every change announced from now on.
    pub async fn subscribe(&self, topic: &str) -> Result<Subscription, StoreError> {
        if let Some(url) = &self.inner.postgres_url {
            self.inner.listening.get_or_try_init(|| start_listener(url.clone(), self.inner.topics.clone())).await?;
        }
        let mut map = self.inner.topics.lock().map_err(|_| StoreError::Commit("change feed poisoned".into()))?;
        let sender = match map.get(topic).and_then(Weak::upgrade) {
            Some(sender) => sender,
            None => {
                let sender = Arc::new(watch::channel(0u64).0);
                map.insert(topic.to_string(), Arc::downgrade(&sender));
                sender
            }
        };
        let rx = sender.subscribe();
        Ok(Subscription { rx, sender: Some(sender), topic: topic.to_string(), topics: self.inner.topics.clone() })
    }

    /// Announces that `topic` changed, to this instance and (PostgreSQL) every other one.
    pub async fn publish(&self, db: &Db, topic: &str) -> Result<(), StoreError> {
        match db.backend() {
            Backend::Sqlite => wake(&self.inner.topics, topic),
            Backend::Postgres => {
                // Delivered to every listener, this instance's included, after the commit.
                sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(topic).execute(db.writes()).await?;
            }
        }
        Ok(())
    }
}

async fn start_listener(url: String, topics: Topics) -> Result<(), StoreError> {
    let mut listener = sqlx::postgres::PgListener::connect(&url).await?;
    listener.listen(CHANNEL).await?;
    tokio::spawn(async move {
        loop {
            // `recv` reconnects by itself after a lost connection (notifications in the gap are
            // lost; waiters read the database again every `SLICE`).
            match listener.recv().await {
                Ok(n) => wake(&topics, n.payload()),
                Err(e) => {
                    tracing::warn!(error = %e, "change feed: listening failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(())
}

/// A wait on one topic. Dropping the last subscription of a topic forgets the topic.
pub struct Subscription {
    rx: watch::Receiver<u64>,
    sender: Option<Arc<watch::Sender<u64>>>,
    topic: String,
    topics: Topics,
}

impl Subscription {
    /// Waits until the topic is announced, `deadline` passes, or one `SLICE` passes; returns so
    /// the caller reads the database again. True when the topic was announced.
    pub async fn changed(&mut self, deadline: Instant) -> bool {
        let until = deadline.min(Instant::now() + SLICE);
        matches!(tokio::time::timeout_at(until, self.rx.changed()).await, Ok(Ok(())))
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let Some(sender) = self.sender.take() else { return };
        let Ok(mut map) = self.topics.lock() else { return };
        drop(sender);
        // Gone when no other subscription holds it (checked under the lock, so a new subscriber
        // either found it alive before this or makes a new one after).
        if map.get(&self.topic).is_some_and(|w| w.strong_count() == 0) {
            map.remove(&self.topic);
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
        let mut sub = feed.subscribe("push:mine").await.unwrap();
        let mut other = feed.subscribe("push:other").await.unwrap();
        feed.publish(&db, "push:mine").await.unwrap();
        assert!(sub.changed(Instant::now() + Duration::from_secs(2)).await);
        let started = Instant::now();
        assert!(!sub.changed(Instant::now() + Duration::from_millis(200)).await);
        assert!(started.elapsed() >= Duration::from_millis(190));
        assert!(!other.changed(Instant::now() + Duration::from_millis(50)).await, "another topic's waiter slept on");
    }

    #[tokio::test]
    async fn a_topic_is_forgotten_with_its_last_waiter() {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        let feed = db.changes().clone();
        let a = feed.subscribe("push:1").await.unwrap();
        let mut b = feed.subscribe("push:1").await.unwrap();
        drop(a);
        assert_eq!(feed.inner.topics.lock().unwrap().len(), 1);
        feed.publish(&db, "push:1").await.unwrap();
        assert!(b.changed(Instant::now() + Duration::from_secs(1)).await, "the remaining waiter still wakes");
        drop(b);
        assert!(feed.inner.topics.lock().unwrap().is_empty());
        // A change with nobody waiting is simply dropped.
        feed.publish(&db, "push:1").await.unwrap();
    }
}
