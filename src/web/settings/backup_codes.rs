//! "Backup codes" → "Generate new codes": ten single-use codes, shown once (and offered as a text
//! file), replacing any earlier set. Only salted keyed hashes are kept.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use base64::Engine;

use crate::clock::now;
use crate::csrf_form;
use crate::factors::codes;
use crate::store::{
    self,
    audit::{Event, Outcome},
};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppError;
use crate::web::session::SteppedUp;
use crate::web::state::AppState;
use crate::web::{client_ip, html};

#[derive(Template)]
#[template(path = "settings/backup_codes.html")]
struct BackupCodesPage {
    chrome: Chrome,
    codes: Vec<String>,
    download: String,
}

csrf_form!(GenerateForm {});

pub async fn backup_codes_post(
    req: HttpRequest,
    auth: SteppedUp,
    state: web::Data<AppState>,
    _f: CsrfForm<GenerateForm>,
) -> Result<HttpResponse, AppError> {
    let t = now();
    let fresh = codes::new_backup_codes();
    let stored: Vec<(String, String)> = fresh
        .iter()
        .map(|code| {
            let salt = codes::new_salt();
            let hash = codes::hash(&state.keys, &salt, code);
            (salt, hash)
        })
        .collect();
    // Only for a session that still exists now (not one logged out while this was on its way).
    let session = auth.session.row();
    if !store::backup_codes::replace_set(&state.db, &auth.user.id, session.as_deref(), &stored, t).await? {
        auth.session.logout();
        return Err(AppError::LoginRequired);
    }
    let ip = client_ip(&req);
    let e = Event::new(AuditEvent::BackupCodesGenerated, Outcome::Success)
        .user(&auth.user.id, &auth.user.username)
        .ip(ip.as_deref());
    store::audit::record(&state.db, e, t).await?;
    crate::web::notices::backup_codes_generated(&state, &auth.user, ip.as_deref(), t).await?;
    let shown: Vec<String> = fresh.iter().map(|c| codes::display(c)).collect();
    let text = format!(
        "{} backup codes for {} ({})\nEach code works once. Keep them somewhere safe.\n\n{}\n",
        state.settings.institution.name,
        auth.user.username,
        crate::clock::format(t),
        shown.join("\n")
    );
    let page = BackupCodesPage {
        chrome: Chrome::new(&state, Some(&auth.user.display_name), &auth.csrf),
        download: format!(
            "data:text/plain;charset=utf-8;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(text)
        ),
        codes: shown,
    };
    html(StatusCode::OK, &page)
}
