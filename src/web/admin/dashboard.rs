//! "Dashboard": users by status, users one lost phone away from the help desk, and enrolments and
//! fraud reports over the last 30 days as a small chart drawn on the server (SVG, no script).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Nav, Staff};
use crate::clock::now;
use crate::store::{self, users::StatusCounts};
use crate::web::chrome::Chrome;
use crate::web::error::AppError;
use crate::web::html;
use crate::web::state::AppState;

pub const DAYS: usize = 30;
const CHART_WIDTH: u32 = 600;
const CHART_HEIGHT: u32 = 120;

/// One bar of a chart, in SVG units.
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub count: usize,
    pub day: String,
}

pub struct Chart {
    pub title: &'static str,
    pub total: usize,
    pub max: usize,
    pub bars: Vec<Bar>,
    pub width: u32,
    pub height: u32,
}

/// Counts `times` into `DAYS` daily buckets ending today (UTC) and lays them out as bars.
pub fn chart(title: &'static str, times: &[i64], now: i64) -> Chart {
    let today = now.div_euclid(86_400);
    let mut counts = [0usize; DAYS];
    for t in times {
        let age = today - t.div_euclid(86_400);
        if (0..DAYS as i64).contains(&age) {
            counts[DAYS - 1 - age as usize] += 1;
        }
    }
    let max = counts.iter().copied().max().unwrap_or(0);
    let slot = CHART_WIDTH / DAYS as u32;
    let bars = counts
        .iter()
        .enumerate()
        .map(|(i, &count)| {
            let height = if max == 0 { 0 } else { (count as u32 * (CHART_HEIGHT - 4)) / max as u32 };
            let day_number = today - (DAYS - 1 - i) as i64;
            let day = time::OffsetDateTime::from_unix_timestamp(day_number * 86_400)
                .map(|d| format!("{} {}", d.day(), d.month()))
                .unwrap_or_default();
            Bar { x: i as u32 * slot + 1, y: CHART_HEIGHT - height, width: slot - 2, height, count, day }
        })
        .collect();
    Chart { title, total: counts.iter().sum(), max, bars, width: CHART_WIDTH, height: CHART_HEIGHT }
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    nav: Nav,
    counts: StatusCounts,
    open_reports: i64,
    charts: Vec<Chart>,
}

pub async fn dashboard_get(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let t = now();
    let since = t - DAYS as i64 * 86_400;
    let enrolments = store::audit::times_of(&state.db, "enroll.complete", since).await?;
    let reports = store::audit::times_of(&state.db, "change.reported", since).await?;
    let page = DashboardPage {
        chrome: staff.chrome(&state),
        nav: Nav { admin: true, current: "dashboard" },
        counts: store::users::status_counts(&state.db).await?,
        open_reports: store::fraud_reports::count_open(&state.db).await?,
        charts: vec![chart("Devices enrolled", &enrolments, t), chart("Changes reported as fraud", &reports, t)],
    };
    html(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_fall_into_their_days_and_the_tallest_bar_fills_the_chart() {
        let now = 1_795_336_140; // 22 Nov 2026
        let c = chart("x", &[now, now - 10, now - 86_400, now - 40 * 86_400], now);
        assert_eq!(c.total, 3, "older than 30 days is left out");
        assert_eq!(c.max, 2);
        assert_eq!(c.bars.len(), DAYS);
        assert_eq!(c.bars[DAYS - 1].count, 2);
        assert_eq!(c.bars[DAYS - 2].count, 1);
        assert_eq!(c.bars[DAYS - 1].height, CHART_HEIGHT - 4);
        assert_eq!(c.bars[DAYS - 1].day, "22 November");
        assert_eq!(c.bars[0].height, 0);
    }

    #[test]
    fn an_empty_chart_has_no_bars_standing() {
        let c = chart("x", &[], 1_795_336_140);
        assert!(c.bars.iter().all(|b| b.height == 0));
    }
}
