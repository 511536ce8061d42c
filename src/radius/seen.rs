//! Duplicate detection (RFC 5080 §2.2.2): a client that hears nothing sends the same request again
//! (same source, Identifier and Request Authenticator). While the first is being decided (a push
//! may take a minute) the copy is dropped; once answered, the copy gets the same reply bytes.
//! Nothing is decided twice, so a retransmission never starts a second push.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// More requests than this remembered at once: new ones are dropped (the clients retry).
const CAPACITY: usize = 200_000;

type Key = (SocketAddr, u8, [u8; 16]);

enum Entry {
    Working(Instant),
    Answered(Instant, Vec<u8>),
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// A new request: decide it (then call `answered`).
    New,
    /// A copy of one being decided: drop it.
    InProgress,
    /// A copy of one answered: send these bytes again.
    Answered(Vec<u8>),
    /// Too many requests remembered: drop it.
    Full,
}

pub struct Requests {
    /// How long a reply is kept for copies.
    keep: Duration,
    /// How long a request may be in progress before it is forgotten (longer than any push).
    working: Duration,
    entries: Mutex<(HashMap<Key, Entry>, Instant)>,
}

impl Requests {
    pub fn new(keep: Duration, working: Duration) -> Self {
        Self { keep, working, entries: Mutex::new((HashMap::new(), Instant::now())) }
    }

    pub fn check(&self, from: SocketAddr, identifier: u8, authenticator: [u8; 16]) -> Seen {
        let now = Instant::now();
        let Ok(mut guard) = self.entries.lock() else { return Seen::New };
        let (entries, swept) = &mut *guard;
        if now.duration_since(*swept) > Duration::from_secs(1) {
            let (keep, working) = (self.keep, self.working);
            entries.retain(|_, e| match e {
                Entry::Working(at) => now.duration_since(*at) < working,
                Entry::Answered(at, _) => now.duration_since(*at) < keep,
            });
            *swept = now;
        }
        let key = (from, identifier, authenticator);
        match entries.get(&key) {
            Some(Entry::Working(_)) => Seen::InProgress,
            Some(Entry::Answered(at, bytes)) if now.duration_since(*at) < self.keep => Seen::Answered(bytes.clone()),
            _ if entries.len() >= CAPACITY => Seen::Full,
            _ => {
                entries.insert(key, Entry::Working(now));
                Seen::New
            }
        }
    }

    /// Records the reply sent to a request (`None`: it was dropped, forget it).
    pub fn answered(&self, from: SocketAddr, identifier: u8, authenticator: [u8; 16], reply: Option<&[u8]>) {
        if let Ok(mut guard) = self.entries.lock() {
            let key = (from, identifier, authenticator);
            match reply {
                Some(bytes) => guard.0.insert(key, Entry::Answered(Instant::now(), bytes.to_vec())),
                None => guard.0.remove(&key),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_dropped_while_working_and_answered_the_same_afterwards() {
        let r = Requests::new(Duration::from_secs(30), Duration::from_secs(90));
        let from: SocketAddr = "192.0.2.1:4000".parse().unwrap();
        assert_eq!(r.check(from, 7, [1; 16]), Seen::New);
        assert_eq!(r.check(from, 7, [1; 16]), Seen::InProgress);
        assert_eq!(r.check(from, 7, [2; 16]), Seen::New, "a new authenticator is a new request");
        assert_eq!(r.check("192.0.2.1:4001".parse().unwrap(), 7, [1; 16]), Seen::New, "another port");
        r.answered(from, 7, [1; 16], Some(b"reply"));
        assert_eq!(r.check(from, 7, [1; 16]), Seen::Answered(b"reply".to_vec()));
        r.answered(from, 7, [2; 16], None);
        assert_eq!(r.check(from, 7, [2; 16]), Seen::New, "a dropped request is forgotten");
        let short = Requests::new(Duration::from_millis(0), Duration::from_secs(90));
        assert_eq!(short.check(from, 1, [0; 16]), Seen::New);
        short.answered(from, 1, [0; 16], Some(b"x"));
        assert_eq!(short.check(from, 1, [0; 16]), Seen::New, "kept no longer than asked");
    }
}
