//! Running a sync on one instance at a time: a lease row in `job_leases` (one conditional
//! statement, so instances sharing PostgreSQL cannot both take it), the summary recorded with it
//! and in the audit log; and the scheduled task (`directory.sync_interval_minutes`).

use std::sync::Arc;
use std::time::Duration;

use super::sync::{JOB, Options, Summary};
use super::{Directory, DirectoryError};
use crate::clock::now;
use crate::domain::AuditEvent;
use crate::secrets::{Keys, new_id};
use crate::shutdown::Shutdown;
use crate::store::{
    self, Db,
    audit::{Event, Outcome},
};

/// A sync may hold the lease this long; a crashed instance's lease lapses after it.
const LEASE_SECONDS: i64 = 3600;

/// What a run under the lease came to.
#[derive(Debug)]
pub enum Run {
    Done(Summary),
    /// Another instance (or another run here) holds the lease.
    Busy,
}

impl Directory {
    /// One sync under the lease (a dry run takes it too, so it sees a directory nobody is
    /// writing). `by` names who asked, for the audit log.
    pub async fn sync_leased(
        &self,
        db: &Db,
        keys: &Keys,
        allowed_countries: &[String],
        options: &Options,
        by: &str,
        progress: &(dyn Fn(usize, usize) + Send + Sync),
    ) -> Result<Run, DirectoryError> {
        let holder = new_id();
        let t = now();
        if !store::directory::take_lease(db, JOB, &holder, t + LEASE_SECONDS, t).await? {
            return Ok(Run::Busy);
        }
        let result = self.sync(db, keys, allowed_countries, options, t, progress).await;
        let line = match &result {
            Ok(summary) => summary.line(),
            Err(e) => format!("failed: {e}"),
        };
        store::directory::release_lease(db, JOB, &holder, &line, now()).await?;
        let summary = result?;
        if summary.changed() {
            let detail = format!("{line} (by {by})");
            store::audit::record(db, Event::new(AuditEvent::DirectorySynced, Outcome::Success).detail(&detail), now())
                .await?;
        }
        Ok(Run::Done(summary))
    }

    /// The scheduled sync: every `sync_interval_minutes` (the first one interval after start),
    /// on whichever instance takes the lease first. Stops with the server.
    pub fn spawn_schedule(self, db: Db, keys: Keys, allowed_countries: Vec<String>, shutdown: &Arc<Shutdown>) {
        let minutes = self.settings.sync_interval_minutes;
        if minutes == 0 {
            return;
        }
        let stop = shutdown.clone();
        shutdown.spawn(async move {
            let period = Duration::from_secs(u64::from(minutes) * 60);
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.raised() => return,
                }
                let (quiet, all) = (|_: usize, _: usize| {}, Options::default());
                let run = self.sync_leased(&db, &keys, &allowed_countries, &all, "schedule", &quiet);
                let run = tokio::select! {
                    run = run => run,
                    _ = stop.raised() => return,
                };
                match run {
                    Ok(Run::Done(summary)) => tracing::info!(summary = %summary.line(), "directory sync"),
                    Ok(Run::Busy) => tracing::debug!("directory sync: another instance is running it"),
                    Err(e) => tracing::warn!(error = %e, "directory sync failed"),
                }
            }
        });
    }
}
