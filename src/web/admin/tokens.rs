//! "Hardware tokens": the inventory (counts, recent tokens, never a secret) and the token CSV
//! import: upload, every problem with its line number or a preview, then "Import" — all or none.

use crate::domain::AuditEvent;
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::import::{read_upload, take_held_text};
use super::{Nav, Staff};
use crate::clock::now;
use crate::csrf_form;
use crate::domain::import::LineError;
use crate::domain::token::{TokenKind, TokenRow, parse_csv};
use crate::store::held_uploads::Upload;
use crate::store::{
    self,
    audit::{Event, Outcome},
};
use crate::tokens::{ImportError, already_imported};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppError;
use crate::web::session::UserSession;
use crate::web::state::AppState;
use crate::web::{client_ip, html};

const PREVIEW_ROWS: usize = 20;
const LISTED: i64 = 100;

pub struct TokenLine {
    pub line: u64,
    pub serial: String,
    pub kind: &'static str,
    pub detail: String,
}

pub struct InventoryLine {
    pub serial: String,
    pub kind: &'static str,
    pub status: String,
    pub user_id: String,
}

pub struct Preview {
    pub id: String,
    pub total: usize,
    pub rows: Vec<TokenLine>,
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    chrome: Chrome,
    nav: Nav,
    errors: Vec<LineError>,
    message: Option<String>,
    preview: Option<Preview>,
    done: Option<usize>,
    counts: Vec<(String, i64)>,
    inventory: Vec<InventoryLine>,
}

async fn page(state: &AppState, staff: &Staff) -> Result<TokensPage, AppError> {
    let (counts, rows) = store::tokens::inventory(&state.db, LISTED).await?;
    let inventory = rows
        .into_iter()
        .map(|t| InventoryLine {
            kind: TokenKind::parse(&t.kind).map(TokenKind::label).unwrap_or("Token"),
            serial: t.serial,
            status: t.status,
            user_id: t.user_id.unwrap_or_default(),
        })
        .collect();
    Ok(TokensPage {
        chrome: staff.chrome(state),
        nav: Nav { admin: true, current: "tokens" },
        errors: Vec::new(),
        message: None,
        preview: None,
        done: None,
        counts,
        inventory,
    })
}

fn sealed_context(id: &str) -> String {
    format!("pending-token-import:{id}")
}

pub async fn tokens_get(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    html(StatusCode::OK, &page(&state, &staff).await?)
}

fn preview_lines(rows: &[TokenRow]) -> Vec<TokenLine> {
    rows.iter()
        .take(PREVIEW_ROWS)
        .map(|r| TokenLine {
            line: r.line,
            serial: r.serial.clone(),
            kind: r.kind.label(),
            detail: match r.kind {
                TokenKind::Hotp => format!("{} digits, counter {}", r.digits, r.counter),
                TokenKind::Totp => format!("{} digits, {} s", r.digits, r.period),
                TokenKind::Yubico => format!("public id {}", r.public_id.as_deref().unwrap_or("")),
            },
        })
        .collect()
}

fn problems(p: &mut TokensPage, errors: Vec<LineError>) {
    p.message =
        Some(format!("{} problem(s) found. Nothing was imported; fix the file and upload it again.", errors.len()));
    p.errors = errors;
}

pub async fn upload_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    form: Multipart,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let mut p = page(&state, &staff).await?;
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
            problems(&mut p, errors);
            return html(StatusCode::UNPROCESSABLE_ENTITY, &p);
        }
    };
    let duplicates = already_imported(&state.db, &rows).await?;
    if !duplicates.is_empty() {
        problems(&mut p, duplicates);
        return html(StatusCode::UNPROCESSABLE_ENTITY, &p);
    }
    let id = crate::secrets::new_id();
    let sealed = state.keys.seal(&sealed_context(&id), text.as_bytes())?;
    store::held_uploads::hold(&state.db, Upload::Tokens, &id, &staff.user.id, &sealed, now()).await?;
    p.preview = Some(Preview { id, total: rows.len(), rows: preview_lines(&rows) });
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
    let text = take_held_text(&state, Upload::Tokens, &id, &staff.user.id, &sealed_context(&id), t).await?;
    let rows =
        parse_csv(&text).map_err(|_| AppError::Internal(anyhow::anyhow!("a held token import no longer parses")))?;
    let mut p = page(&state, &staff).await?;
    match crate::tokens::import(&state.db, &state.keys, &rows, &staff.user.id, t).await {
        Ok(n) => {
            let detail = format!("{n} token(s) imported by {}", staff.user.username);
            let ip = client_ip(&req);
            let event = Event::new(AuditEvent::TokensImported, Outcome::Info).actor(&staff.user.id).ip(ip.as_deref());
            store::audit::record(&state.db, event.detail(&detail), t).await?;
            let mut done = page(&state, &staff).await?;
            done.done = Some(n);
            html(StatusCode::OK, &done)
        }
        Err(ImportError::Lines(errors)) => {
            problems(&mut p, errors);
            html(StatusCode::UNPROCESSABLE_ENTITY, &p)
        }
        Err(ImportError::Store(e)) => Err(e.into()),
        Err(ImportError::Seal(e)) => Err(e.into()),
    }
}
