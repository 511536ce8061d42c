//! Group commit on SQLite. A write given to `Db::write` is queued to one task that owns the
//! writer connection; the task runs whatever writes are waiting in one transaction, each in its
//! own savepoint unless it is a single statement (a write that fails is undone alone), commits
//! once, and only then answers each caller. Every caller still hears back only once its write is
//! durable (`synchronous = FULL`: the commit is on disk), but one fsync serves every request that
//! arrived meanwhile, where one commit per statement made the disk's flush time the ceiling of
//! every busy path.
//!
//! On PostgreSQL a write is its own transaction on the pool (a single statement needs none):
//! concurrent commits there already share WAL flushes.
//!
//! A write must only use the connection it is given (no transactions of its own: it already runs
//! inside one) and must not wait on anything but the database.

use futures_util::future::BoxFuture;
use sqlx::{AnyConnection, AnyPool, Connection};
use tokio::sync::{mpsc, oneshot};

use super::StoreError;

/// The most writes one commit carries.
const MAX_BATCH: usize = 256;

/// A queued write: runs on the connection, says whether it succeeded, and hands back how to
/// answer its caller once the commit is known.
type Work = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, (bool, Reply)> + Send>;

struct Job {
    work: Work,
    /// False for a single statement: SQLite undoes a failed statement by itself, so it needs no
    /// savepoint of its own (two round trips to the database thread saved).
    savepoint: bool,
}
type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;

/// The queue to the writer task.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommit {
    queue: mpsc::UnboundedSender<Job>,
}

impl GroupCommit {
    /// Starts the writer task on `writer` (a pool of one connection). It ends when every handle is dropped.
    pub(crate) fn start(writer: AnyPool) -> Self {
        let (queue, jobs) = mpsc::unbounded_channel();
        tokio::spawn(run(writer, jobs));
        Self { queue }
    }

    pub(crate) async fn write<T, F>(&self, savepoint: bool, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T, StoreError>>();
        let job: Work = Box::new(move |conn: &mut AnyConnection| -> BoxFuture<'_, (bool, Reply)> {
            Box::pin(async move {
                let result = work(conn).await;
                let ok = result.is_ok();
                let reply: Reply = Box::new(move |committed: Result<(), String>| {
                    let _ = answer.send(match (result, committed) {
                        (Ok(_), Err(e)) => Err(StoreError::Commit(e)),
                        (result, _) => result,
                    });
                });
                (ok, reply)
            })
        });
        self.queue
            .send(Job { work: job, savepoint })
            .map_err(|_| StoreError::Commit("the database writer has stopped".into()))?;
        // A dropped job (the batch could not start) drops its answer: report it as a failed commit.
        answered.await.map_err(|_| StoreError::Commit("the write could not be started".into()))?
    }
}

async fn run(writer: AnyPool, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (replies, committed) = run_batch(&writer, batch.drain(..)).await;
        if let Err(e) = &committed {
            tracing::error!(error = %e, writes = replies.len(), "a group of database writes was not committed");
        }
        for reply in replies {
            reply(committed.clone());
        }
    }
}

/// Runs one batch in one transaction (each multi-statement job in a savepoint), then one commit.
async fn run_batch(writer: &AnyPool, batch: impl Iterator<Item = Job>) -> (Vec<Reply>, Result<(), String>) {
    let mut replies = Vec::new();
    let mut conn = match writer.acquire().await {
        Ok(conn) => conn,
        Err(e) => {
            tracing::error!(error = %e, "the database writer connection is unavailable");
            return (replies, Err(e.to_string()));
        }
    };
    let mut tx = match conn.begin().await {
        Ok(tx) => tx,
        Err(e) => return (replies, Err(e.to_string())),
    };
    for job in batch {
        if !job.savepoint {
            let (_, reply) = (job.work)(&mut tx).await;
            replies.push(reply);
            continue;
        }
        let mut savepoint = match tx.begin().await {
            Ok(sp) => sp,
            Err(e) => return (replies, Err(e.to_string())),
        };
        let (ok, reply) = (job.work)(&mut savepoint).await;
        replies.push(reply);
        let ended = if ok { savepoint.commit().await } else { savepoint.rollback().await };
        if let Err(e) = ended {
            return (replies, Err(e.to_string()));
        }
    }
    let committed = tx.commit().await.map_err(|e| e.to_string());
    (replies, committed)
}

#[cfg(test)]
mod tests {
    use super::super::Db;

    async fn file_db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.unwrap();
        sqlx::query("CREATE TABLE t (k TEXT PRIMARY KEY, n BIGINT)").execute(db.writes()).await.unwrap();
        (dir, db)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_is_undone_alone_and_the_rest_of_its_batch_commits() {
        let (_dir, db) = file_db().await;
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let db = db.clone();
                tokio::spawn(async move {
                    db.write(move |c| {
                        Box::pin(async move {
                            sqlx::query("INSERT INTO t (k, n) VALUES ($1, 1)")
                                .bind(format!("k{i}"))
                                .execute(&mut *c)
                                .await?;
                            if i % 4 == 0 {
                                // Fails after the first statement, which must be undone with it.
                                sqlx::query("INSERT INTO missing (k) VALUES ('x')").execute(&mut *c).await?;
                            }
                            Ok(i)
                        })
                    })
                    .await
                })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.unwrap().is_ok(), i % 4 != 0, "write {i}");
        }
        let keys: Vec<(String,)> = sqlx::query_as("SELECT k FROM t").fetch_all(db.pool()).await.unwrap();
        assert_eq!(keys.len(), 30);
        assert!(keys.iter().all(|(k,)| k[1..].parse::<usize>().unwrap() % 4 != 0), "{keys:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn twenty_concurrent_conditional_updates_have_one_winner() {
        let (_dir, db) = file_db().await;
        sqlx::query("INSERT INTO t (k, n) VALUES ('code', 1)").execute(db.writes()).await.unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move {
                    db.write_statement(|c| {
                        Box::pin(async move {
                            let done =
                                sqlx::query("UPDATE t SET n = 0 WHERE k = 'code' AND n = 1").execute(&mut *c).await?;
                            Ok(done.rows_affected() == 1)
                        })
                    })
                    .await
                    .unwrap()
                })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            winners += usize::from(task.await.unwrap());
        }
        assert_eq!(winners, 1);
    }
}
