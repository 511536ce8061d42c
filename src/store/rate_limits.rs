//! Request counts per subject (an application's integration key) per minute, in the database so
//! every instance shares one budget.

use super::{Db, StoreError};

/// Counts one request in the minute that contains `now`; returns the count so far. Through the
/// group commit like the verification's own writes (every Auth API request counts).
pub async fn hit(db: &Db, subject: &str, now: i64) -> Result<i64, StoreError> {
    let window = now - now.rem_euclid(60);
    let subject = subject.to_string();
    let hits = db
        .write_statement(move |c| {
            Box::pin(async move {
                let (hits,): (i64,) = sqlx::query_as(
                    "INSERT INTO api_rate_limits (subject, window_start, hits) VALUES ($1, $2, 1) \
                     ON CONFLICT (subject, window_start) DO UPDATE SET hits = api_rate_limits.hits + 1 RETURNING hits",
                )
                .bind(&subject)
                .bind(window)
                .fetch_one(&mut *c)
                .await?;
                Ok(hits)
            })
        })
        .await?;
    if hits == 1 {
        // The first request of a minute clears old minutes.
        db.write_statement(move |c| {
            Box::pin(async move {
                sqlx::query("DELETE FROM api_rate_limits WHERE window_start < $1")
                    .bind(window - 120)
                    .execute(&mut *c)
                    .await?;
                Ok(())
            })
        })
        .await?;
    }
    Ok(hits)
}
