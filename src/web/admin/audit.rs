//! "Audit log": every security-relevant event, filtered by user and event, and exported as CSV.
//! Administrators only.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Nav, Staff};
use crate::domain::Username;
use crate::store::{self, audit::AuditRow};
use crate::web::chrome::Chrome;
use crate::web::error::AppError;
use crate::web::html;
use crate::web::state::AppState;

const PAGE_SIZE: i64 = 100;
const CSV_LIMIT: i64 = 100_000;

#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    page: Option<i64>,
}

pub struct EntryView {
    pub when: String,
    pub event: String,
    pub outcome: String,
    pub username: String,
    pub actor: String,
    pub ip: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    nav: Nav,
    user: String,
    event: String,
    entries: Vec<EntryView>,
    page: i64,
    more: bool,
    unknown_user: bool,
}

/// The filter as the store takes it: `None` user id means "any"; an unknown username matches nothing.
async fn filter(state: &AppState, q: &AuditQuery) -> Result<(Option<String>, Option<String>, bool), AppError> {
    let event = Some(q.event.trim().to_string()).filter(|e| !e.is_empty());
    if q.user.trim().is_empty() {
        return Ok((None, event, false));
    }
    let user = match Username::parse(&q.user) {
        Ok(name) => store::users::by_username(&state.db, &name).await?,
        Err(_) => None,
    };
    match user {
        Some(u) => Ok((Some(u.id), event, false)),
        None => Ok((Some(String::new()), event, true)),
    }
}

async fn actor_names(
    state: &AppState,
    rows: &[AuditRow],
) -> Result<std::collections::HashMap<String, String>, AppError> {
    let mut names = std::collections::HashMap::new();
    for id in rows.iter().filter_map(|r| r.actor_id.as_ref()) {
        if !names.contains_key(id)
            && let Some(u) = store::users::by_id(&state.db, id).await?
        {
            names.insert(id.clone(), u.username);
        }
    }
    Ok(names)
}

fn view(r: AuditRow, actors: &std::collections::HashMap<String, String>) -> EntryView {
    EntryView {
        when: crate::clock::format(r.at),
        actor: r.actor_id.as_ref().map(|id| actors.get(id).cloned().unwrap_or_else(|| id.clone())).unwrap_or_default(),
        event: r.event,
        outcome: r.outcome,
        username: r.username.unwrap_or_default(),
        ip: r.ip.unwrap_or_default(),
        detail: r.detail,
    }
}

pub async fn audit_get(
    staff: Staff,
    state: web::Data<AppState>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let page = q.page.unwrap_or(1).max(1);
    let (user_id, event, unknown_user) = filter(&state, &q).await?;
    let rows =
        store::audit::search(&state.db, user_id.as_deref(), event.as_deref(), PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
            .await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    let actors = actor_names(&state, &rows).await?;
    let entries = rows.into_iter().take(PAGE_SIZE as usize).map(|r| view(r, &actors)).collect();
    let page = AuditPage {
        chrome: staff.chrome(&state),
        nav: Nav { admin: true, current: "audit" },
        user: q.user.chars().take(64).collect(),
        event: q.event.chars().take(64).collect(),
        entries,
        page,
        more,
        unknown_user,
    };
    html(StatusCode::OK, &page)
}

/// One CSV field: quoted, quotes doubled, and a leading formula character neutralised so a
/// spreadsheet never runs what a username or detail contains.
fn csv_field(value: &str) -> String {
    let value =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_string() };
    format!("\"{}\"", value.replace('"', "\"\""))
}

pub async fn audit_csv_get(
    staff: Staff,
    state: web::Data<AppState>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let (user_id, event, _) = filter(&state, &q).await?;
    let rows = store::audit::search(&state.db, user_id.as_deref(), event.as_deref(), CSV_LIMIT, 0).await?;
    let actors = actor_names(&state, &rows).await?;
    let mut out = String::from("time_utc,unix_time,event,outcome,user,actor,ip,detail\r\n");
    for r in rows {
        let at = r.at;
        let v = view(r, &actors);
        let fields = [v.when, at.to_string(), v.event, v.outcome, v.username, v.actor, v.ip, v.detail];
        out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"twofold-audit.csv\""))
        .body(out))
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_field("plain"), "\"plain\"");
        assert_eq!(csv_field("say \"hi\", then"), "\"say \"\"hi\"\", then\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1"), "\"'-1\"");
    }
}
