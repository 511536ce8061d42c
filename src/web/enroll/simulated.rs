//! On the embedded default (the telephony simulator) no text reaches a real phone: an
//! administrator setting up their own first device reads the texts sent to their wizard's number
//! here, before they can reach the console's "Phone simulator" (which needs a second factor).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::phone::wizard_number;
use super::{at_step, chrome};
use crate::channels::telephony::simulator::Simulator;
use crate::domain::{EnrollStep, Role};
use crate::store;
use crate::web::chrome::Chrome;
use crate::web::error::AppError;
use crate::web::html;
use crate::web::session::PasswordAuthed;
use crate::web::state::AppState;

pub const PATH: &str = "/enroll/phone/simulator";

pub struct TextView {
    pub when: String,
    pub body: String,
}

#[derive(Template)]
#[template(path = "enroll/simulated_texts.html")]
struct SimulatedTextsPage {
    chrome: Chrome,
    number: String,
    texts: Vec<TextView>,
}

/// Only in simulator mode, and only for an administrator: the texts hold codes that prove the
/// number, so for anyone else they stay on the console's page (read by an administrator).
pub fn may_read(state: &AppState, auth: &PasswordAuthed) -> bool {
    state.phones.is_simulator() && auth.user.role() == Role::Admin && !auth.invited
}

/// The texts the simulator "sent" to this user's wizard number, newest first.
pub async fn texts_get(auth: PasswordAuthed, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if !may_read(&state, &auth) {
        return Err(AppError::NotFound);
    }
    let row = at_step(&state, &auth, EnrollStep::PhoneVerify).await?;
    let (number, _) = wizard_number(&state, &row).await?;
    let texts = store::phone_texts::recent(&state.db, &state.keys, 50)
        .await?
        .into_iter()
        .filter(|m| m.user_id.as_deref() == Some(auth.user.id.as_str()) && m.to_number == number.e164())
        .map(|m| TextView {
            when: crate::clock::format(m.created_at),
            body: Simulator::open_body(&state.keys, &m.id, &m.body).unwrap_or_default(),
        })
        .collect();
    let page = SimulatedTextsPage { chrome: chrome(&state, &auth), number: number.international().to_string(), texts };
    html(StatusCode::OK, &page)
}
