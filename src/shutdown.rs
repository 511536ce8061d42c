//! Graceful stop. On SIGTERM or SIGINT the server stops accepting connections, raises this flag
//! and lets in-flight requests finish for up to `STOP_TIMEOUT`:
//!
//! - long-polls (the prompt's push wait, the Auth API's `auth_status`) answer at once with the
//!   state as it stands ("still waiting"), closing the connection, so the client asks again and
//!   reaches another instance through the load balancer;
//! - a push or call still being waited for by a request or a background finisher is given until
//!   `SETTLE_AFTER` to be answered, then ended (one conditional update) and the caller told so;
//! - background tasks stop at a point where everything they wrote is whole (each write is one
//!   statement or one transaction) and the process waits for them before exiting. They run on
//!   the main runtime, not on an actix worker's (which ends with its worker).

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// How long in-flight requests may take once the stop began (actix's `shutdown_timeout`).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// When a push or call still unanswered is given up, leaving time to write that down and answer.
pub const SETTLE_AFTER: Duration = Duration::from_secs(7);

/// The stop signal shared by handlers and background tasks (in `AppState`).
#[derive(Debug)]
pub struct Shutdown {
    /// When the stop began; None while serving.
    raised: watch::Sender<Option<Instant>>,
    /// How many tracked background tasks are still running.
    tasks: watch::Sender<usize>,
    /// The runtime that outlives the server (the one `Application::build` ran on). Handlers run on
    /// actix's worker threads, each with its own runtime that ends when its worker stops: a task
    /// spawned there would be dropped half-way through a graceful stop.
    runtime: Option<tokio::runtime::Handle>,
}

impl Default for Shutdown {
    /// Tasks go to the current runtime (call it from the main one).
    fn default() -> Self {
        Self {
            raised: watch::channel(None).0,
            tasks: watch::channel(0).0,
            runtime: tokio::runtime::Handle::try_current().ok(),
        }
    }
}

impl Shutdown {
    /// Begins the stop (once; later calls change nothing).
    pub fn raise(&self) {
        self.raised.send_if_modified(|at| {
            if at.is_some() {
                return false;
            }
            *at = Some(Instant::now());
            true
        });
    }

    pub fn is_raised(&self) -> bool {
        self.raised.borrow().is_some()
    }

    /// Resolves when the stop begins (at once if it has).
    pub async fn raised(&self) -> Instant {
        let mut rx = self.raised.subscribe();
        let at = rx.wait_for(Option::is_some).await.ok().and_then(|at| *at);
        // The sender lives in `self`, so `wait_for` fails only if it is gone: treat that as now.
        at.unwrap_or_else(Instant::now)
    }

    /// Resolves `SETTLE_AFTER` after the stop began: time to give up on an unanswered push or call.
    pub async fn settle_time(&self) {
        let at = self.raised().await;
        tokio::time::sleep_until(at + SETTLE_AFTER).await;
    }

    /// Runs `task` in the background on the main runtime; `tasks_done` waits for it. The task
    /// itself watches `raised` and returns at a clean point.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.send_modify(|n| *n += 1);
        let guard = TaskGuard { tasks: self.tasks.clone() };
        let task = async move {
            let _guard = guard;
            task.await;
        };
        match &self.runtime {
            Some(runtime) => drop(runtime.spawn(task)),
            None => drop(tokio::spawn(task)),
        }
    }

    /// Waits until every tracked task has returned, or `deadline` passes; true when all did.
    pub async fn tasks_done(&self, deadline: Instant) -> bool {
        let mut rx = self.tasks.subscribe();
        matches!(tokio::time::timeout_at(deadline, rx.wait_for(|n| *n == 0)).await, Ok(Ok(_)))
    }
}

/// Counts a task as finished when it ends, also when it panics or is dropped.
struct TaskGuard {
    tasks: watch::Sender<usize>,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.tasks.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; stopping on Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn raising_wakes_waiters_and_tracked_tasks_are_awaited() {
        let shutdown = std::sync::Arc::new(Shutdown::default());
        assert!(!shutdown.is_raised());
        let s = shutdown.clone();
        shutdown.spawn(async move {
            s.raised().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        });
        assert!(!shutdown.tasks_done(Instant::now() + Duration::from_millis(50)).await);
        shutdown.raise();
        shutdown.raise();
        assert!(shutdown.is_raised());
        assert!(shutdown.tasks_done(Instant::now() + Duration::from_secs(2)).await);
    }
}
