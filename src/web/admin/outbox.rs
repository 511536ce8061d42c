//! "Outbox": what Twofold sent or is sending; with the mail simulator, what it would have sent.
//! Administrators only: messages may hold other people's one-time links.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Nav, Staff};
use crate::channels::mail::Mailer;
use crate::store;
use crate::web::chrome::Chrome;
use crate::web::error::AppError;
use crate::web::html;
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
    nav: Nav,
    simulator: bool,
    messages: Vec<MessageView>,
}

pub async fn outbox_get(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let messages = store::outbox::recent(&state.db, 100)
        .await?
        .into_iter()
        .map(|m| MessageView {
            when: crate::clock::format(m.created_at),
            body: Mailer::open_body(&state.keys, &m.body),
            to: m.recipient,
            subject: m.subject,
            status: m.status,
            error: m.last_error,
        })
        .collect();
    let page = OutboxPage {
        chrome: staff.chrome(&state),
        nav: Nav { admin: true, current: "outbox" },
        simulator: state.mailer.is_simulator(),
        messages,
    };
    html(StatusCode::OK, &page)
}
