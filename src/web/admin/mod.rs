//! The administrators' console. Every page needs the admin role and a recent second factor.
//! Today: the Outbox (what Twofold sent, or, with the mail simulator, would have sent).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::channels::mail::Mailer;
use crate::domain::Role;
use crate::error::AppError;
use crate::store;
use crate::web::chrome::Chrome;
use crate::web::html;
use crate::web::session::SteppedUp;
use crate::web::settings_time;
use crate::web::state::AppState;

pub struct MessageView {
    pub when: String,
    pub to: String,
    pub subject: String,
    pub status: String,
    pub body: Option<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/outbox.html")]
struct OutboxPage {
    chrome: Chrome,
    simulator: bool,
    messages: Vec<MessageView>,
}

/// Refuses everyone but administrators (after the step-up check of `SteppedUp`).
fn require_admin(auth: &SteppedUp) -> Result<(), AppError> {
    if auth.user.role() == Role::Admin { Ok(()) } else { Err(AppError::Forbidden) }
}

pub async fn outbox_get(auth: SteppedUp, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    require_admin(&auth)?;
    let messages = store::outbox::recent(&state.db, 100)
        .await?
        .into_iter()
        .map(|m| MessageView {
            when: settings_time(m.created_at),
            body: Mailer::open_body(&state.keys, &m.body),
            to: m.recipient,
            subject: m.subject,
            status: m.status,
            error: m.last_error,
        })
        .collect();
    let page = OutboxPage {
        chrome: Chrome::new(&state, Some(&auth.user.display_name), &auth.csrf),
        simulator: state.mailer.is_simulator(),
        messages,
    };
    html(StatusCode::OK, &page)
}
