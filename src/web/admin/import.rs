//! "Import": upload a CSV of users, see every problem with its line number or a preview of what
//! would change (a dry run), then "Import" — all rows or none. Administrators only.

use crate::domain::AuditEvent;
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use futures_util::StreamExt;

use super::{Nav, Staff};
use crate::clock::now;
use crate::csrf_form;
use crate::domain::import::{ImportRow, LineError, parse_csv};
use crate::store::held_uploads::Upload;
use crate::store::{
    self,
    audit::{Event, Outcome},
};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppError;
use crate::web::session::UserSession;
use crate::web::state::AppState;
use crate::web::{client_ip, html};

/// Largest file accepted (50,000 rows of typical width fit easily).
const MAX_BYTES: usize = 8 * 1024 * 1024;
const PREVIEW_ROWS: usize = 20;

pub struct RowView {
    pub line: u64,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub groups: String,
    pub facts: bool,
}

#[derive(Template)]
#[template(path = "admin/import.html")]
struct ImportPage {
    chrome: Chrome,
    nav: Nav,
    errors: Vec<LineError>,
    message: Option<String>,
    preview: Option<Preview>,
    done: Option<(usize, usize)>,
}

pub struct Preview {
    pub id: String,
    pub total: usize,
    pub created: usize,
    pub updated: usize,
    pub rows: Vec<RowView>,
}

fn page(state: &AppState, staff: &Staff) -> ImportPage {
    ImportPage {
        chrome: staff.chrome(state),
        nav: Nav { admin: true, current: "import" },
        errors: Vec::new(),
        message: None,
        preview: None,
        done: None,
    }
}

fn sealed_context(id: &str) -> String {
    format!("pending-import:{id}")
}

pub async fn import_get(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    html(StatusCode::OK, &page(&state, &staff))
}

/// Reads the multipart form: the CSRF token and the file's text.
/// A held upload's text, taken back once; a clear page when it was used or has expired.
pub(super) async fn take_held_text(
    state: &AppState,
    kind: Upload,
    id: &str,
    by: &str,
    context: &str,
    t: i64,
) -> Result<String, AppError> {
    let Some(sealed) = store::held_uploads::take(&state.db, kind, id, by, t).await? else {
        return Err(AppError::Explained {
            status: StatusCode::NOT_FOUND,
            title: "This import has expired",
            message: "It was already imported, or more than an hour has passed. Upload the file again.".into(),
        });
    };
    String::from_utf8(state.keys.open(context, &sealed)?.to_vec()).map_err(|e| AppError::Internal(e.into()))
}

pub(super) async fn read_upload(mut form: Multipart) -> Result<(String, Vec<u8>), String> {
    let mut token = String::new();
    let mut file = Vec::new();
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|_| "The upload could not be read. Try again.".to_string())?;
        let name = field.name().unwrap_or_default().to_string();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| "The upload could not be read. Try again.".to_string())?;
            if bytes.len() + chunk.len() > MAX_BYTES {
                return Err("That file is larger than 8 MB. Split it into smaller files.".into());
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "csrf_token" => token = String::from_utf8_lossy(&bytes).into_owned(),
            "file" => file = bytes,
            _ => {}
        }
    }
    Ok((token, file))
}

fn views(rows: &[ImportRow]) -> Vec<RowView> {
    rows.iter()
        .take(PREVIEW_ROWS)
        .map(|r| RowView {
            line: r.line,
            username: r.username.as_str().to_string(),
            display_name: r.display_name.as_str().to_string(),
            email: r.email.as_str().to_string(),
            groups: r.groups.join(", "),
            facts: r.facts.is_some(),
        })
        .collect()
}

pub async fn upload_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    form: Multipart,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let mut p = page(&state, &staff);
    let (token, file) = match read_upload(form).await {
        Ok(v) => v,
        Err(message) => {
            p.message = Some(message);
            return html(StatusCode::UNPROCESSABLE_ENTITY, &p);
        }
    };
    if !UserSession::from_request(&req).csrf_matches(&token) {
        return Err(AppError::Csrf);
    }
    let Ok(text) = String::from_utf8(file) else {
        p.message = Some("The file is not UTF-8 text. Save it as \"CSV UTF-8\" and try again.".into());
        return html(StatusCode::UNPROCESSABLE_ENTITY, &p);
    };
    if text.trim().is_empty() {
        p.message = Some("Choose a CSV file to upload.".into());
        return html(StatusCode::UNPROCESSABLE_ENTITY, &p);
    }
    let rows = match parse_csv(&text) {
        Ok(rows) => rows,
        Err(errors) => {
            p.message = Some(format!(
                "{} problem(s) found. Nothing was imported; fix the file and upload it again.",
                errors.len()
            ));
            p.errors = errors;
            return html(StatusCode::UNPROCESSABLE_ENTITY, &p);
        }
    };
    let owned = store::import::owned_elsewhere(&state.db, &rows).await?;
    if !owned.is_empty() {
        p.message =
            Some(format!("{} problem(s) found. Nothing was imported; fix the file and upload it again.", owned.len()));
        p.errors = owned;
        return html(StatusCode::UNPROCESSABLE_ENTITY, &p);
    }
    let counts = store::import::preview(&state.db, &rows).await?;
    let id = crate::secrets::new_id();
    let t = now();
    let sealed = state.keys.seal(&sealed_context(&id), text.as_bytes())?;
    store::held_uploads::hold(&state.db, Upload::Users, &id, &staff.user.id, &sealed, t).await?;
    p.preview =
        Some(Preview { id, total: rows.len(), created: counts.created, updated: counts.updated, rows: views(&rows) });
    html(StatusCode::OK, &p)
}

csrf_form!(CommitForm {});

pub async fn commit_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _f: CsrfForm<CommitForm>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let t = now();
    let text = take_held_text(&state, Upload::Users, &id, &staff.user.id, &sealed_context(&id), t).await?;
    let rows = parse_csv(&text).map_err(|_| AppError::Internal(anyhow::anyhow!("a held import no longer parses")))?;
    let keys = state.keys.clone();
    let counts =
        store::import::apply(&state.db, &rows, &|user, fact, value| keys.hash_fact(user, fact, value), t).await?;
    let detail = format!("{} created, {} updated, by {}", counts.created, counts.updated, staff.user.username);
    let ip = client_ip(&req);
    store::audit::record(
        &state.db,
        Event::new(AuditEvent::UsersImported, Outcome::Info).actor(&staff.user.id).ip(ip.as_deref()).detail(&detail),
        t,
    )
    .await?;
    let mut p = page(&state, &staff);
    p.done = Some((counts.created, counts.updated));
    html(StatusCode::OK, &p)
}
