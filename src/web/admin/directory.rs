//! "Sync now" in the console (administrators): the whole directory in the background (the users
//! page shows the last run's summary), or one user from their page (at once). Both go through the
//! same lease as the scheduled sync, so two runs never overlap.

use actix_web::{HttpRequest, HttpResponse, web};

use super::Staff;
use super::users::{PlainForm, audit, target, user_page};
use crate::directory::schedule::Run;
use crate::directory::sync::{JOB, Options};
use crate::domain::AuditEvent;
use crate::store::{self, users::Source};
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::html;
use crate::web::state::AppState;

/// The users page's line about the directory: when the last sync finished and what it did.
pub async fn last_sync(state: &AppState) -> Result<Option<String>, AppError> {
    if state.directory.is_none() {
        return Ok(None);
    }
    Ok(Some(match store::directory::last_run(&state.db, JOB).await? {
        Some((at, summary)) => format!("Last directory sync {}: {summary}.", crate::clock::format(at)),
        None => "The directory has not been synced yet.".to_string(),
    }))
}

pub async fn sync_all_post(
    staff: Staff,
    state: web::Data<AppState>,
    _f: CsrfForm<PlainForm>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let Some(directory) = state.directory.clone() else { return Err(AppError::NotFound) };
    let (db, keys) = (state.db.clone(), state.keys.clone());
    let countries = state.settings.telephony.allowed_countries.clone();
    let by = format!("console, {}", staff.user.username);
    state.shutdown.spawn(async move {
        let quiet = |_: usize, _: usize| {};
        match directory.sync_leased(&db, &keys, &countries, &Options::default(), &by, &quiet).await {
            Ok(Run::Done(summary)) => tracing::info!(summary = %summary.line(), "directory sync"),
            Ok(Run::Busy) => tracing::info!("directory sync asked for while one is running"),
            Err(e) => tracing::warn!(error = %e, "directory sync failed"),
        }
    });
    Ok(see_other("/admin/users?sync=started"))
}

pub async fn sync_user_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _f: CsrfForm<PlainForm>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let user = target(&state, &id).await?;
    let Some(directory) = state.directory.clone() else { return Err(AppError::NotFound) };
    if user.source() != Source::Directory {
        let page = user_page(&state, &staff, user, Some("This account does not come from the directory.".into()));
        return html(actix_web::http::StatusCode::CONFLICT, &page.await?);
    }
    let options = Options { user: Some(user.username.clone()), dry_run: false };
    let countries = &state.settings.telephony.allowed_countries;
    let by = format!("console, {}", staff.user.username);
    let quiet = |_: usize, _: usize| {};
    let error = match directory.sync_leased(&state.db, &state.keys, countries, &options, &by, &quiet).await {
        Ok(Run::Done(summary)) => {
            let detail = format!("directory sync by {}: {}", staff.user.username, summary.line());
            audit(&state, &req, &staff, &user, AuditEvent::DirectorySynced, &detail).await?;
            None
        }
        Ok(Run::Busy) => Some("A directory sync is running. Try again when it has finished.".to_string()),
        Err(e) => {
            tracing::warn!(error = %e, "directory sync of one user failed");
            Some("The directory could not be read. Try again later.".to_string())
        }
    };
    match error {
        None => Ok(see_other(&format!("/admin/users/{}", user.id))),
        Some(message) => {
            let user = target(&state, &user.id).await?;
            html(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                &user_page(&state, &staff, user, Some(message)).await?,
            )
        }
    }
}
