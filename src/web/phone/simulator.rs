//! "Phone simulator": the texts Twofold would have sent and the calls it is placing, with
//! "Answer and press a key" and "Decline". Administrators only: texts hold other people's codes.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::channels::telephony::simulator::Simulator;
use crate::clock::now;
use crate::csrf_form;
use crate::domain::phone::mask;
use crate::store;
use crate::web::admin::{Nav, Staff};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::{AppError, see_other};
use crate::web::html;
use crate::web::state::AppState;

pub struct TextView {
    pub when: String,
    pub to: String,
    pub body: String,
}

pub struct CallView {
    pub id: String,
    pub when: String,
    pub to: String,
    pub script: String,
    pub status: String,
    pub ringing: bool,
}

#[derive(Template)]
#[template(path = "simulator/phone.html")]
struct PhonePage {
    chrome: Chrome,
    nav: Nav,
    simulator: bool,
    fraud_key: String,
    texts: Vec<TextView>,
    calls: Vec<CallView>,
}

pub async fn phone_get(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let t = now();
    let texts = store::phone_texts::recent(&state.db, &state.keys, 50)
        .await?
        .into_iter()
        .map(|m| TextView {
            when: crate::clock::format(m.created_at),
            body: Simulator::open_body(&state.keys, &m.id, &m.body).unwrap_or_default(),
            to: m.to_number,
        })
        .collect();
    let calls = store::phone_calls::recent_simulated(&state.db, &state.keys, 50)
        .await?
        .into_iter()
        .map(|c| CallView {
            ringing: c.status == "ringing" && c.expires_at >= t,
            when: crate::clock::format(c.created_at),
            to: if c.status == "ringing" { c.to_number } else { mask(&c.to_number) },
            script: c.script,
            status: c.status,
            id: c.id,
        })
        .collect();
    let page = PhonePage {
        chrome: staff.chrome(&state),
        nav: Nav { admin: true, current: "simulator" },
        simulator: state.phones.is_simulator(),
        fraud_key: state.phones.settings().fraud_key.clone(),
        texts,
        calls,
    };
    html(StatusCode::OK, &page)
}

csrf_form!(AnswerForm { key: String });

/// "Answer and press a key": the key the person on the phone would press.
pub async fn answer_post(
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: CsrfForm<AnswerForm>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let call = store::phone_calls::by_id(&state.db, &state.keys, &id).await?.ok_or(AppError::NotFound)?;
    if call.provider != crate::channels::telephony::simulator::PROVIDER {
        return Err(AppError::NotFound);
    }
    let key = form.0.key.trim().chars().next().filter(|c| c.is_ascii_digit() || *c == '*' || *c == '#');
    let key = key.map(String::from).unwrap_or_else(|| "1".into());
    state.call_key(&call.id, &key).await?;
    Ok(see_other("/simulator/phone"))
}

csrf_form!(DeclineForm {});

pub async fn decline_post(
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
    _form: CsrfForm<DeclineForm>,
) -> Result<HttpResponse, AppError> {
    staff.require_admin()?;
    let call = store::phone_calls::by_id(&state.db, &state.keys, &id).await?.ok_or(AppError::NotFound)?;
    if call.provider != crate::channels::telephony::simulator::PROVIDER {
        return Err(AppError::NotFound);
    }
    state.phones.call_ended(&call.id, "declined", now()).await?;
    Ok(see_other("/simulator/phone"))
}
