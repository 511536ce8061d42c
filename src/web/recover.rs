//! "Lost your device?" → "Get recovery passcode": the person proves who they are with the facts
//! the institution imported (date of birth, last 4 characters of an ID document) and their
//! password, and gets a 9-digit passcode that works once, for a short time. Every failure looks
//! the same (no hint which fact was wrong) and counts towards the sign-in throttle.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::channels::mail::Mail;
use crate::clock::now;
use crate::csrf_form;
use crate::domain::Username;
use crate::domain::import::{parse_date_of_birth, parse_id_last4};
use crate::factors::codes::{self, TEMPORARY_CODE_DIGITS};
use crate::passwords;
use crate::secrets::constant_time_eq;
use crate::signin::password::Purpose;
use crate::store::{
    self,
    audit::{Event, Outcome},
    one_time_codes::NewCode,
};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppError;
use crate::web::session::UserSession;
use crate::web::state::AppState;
use crate::web::{client_ip, html};

#[derive(Template)]
#[template(path = "recover/form.html")]
struct RecoverPage {
    chrome: Chrome,
    username: String,
    date_of_birth: String,
    id_last4: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "recover/issued.html")]
struct IssuedPage {
    chrome: Chrome,
    code: String,
    expires: String,
}

fn disabled() -> AppError {
    AppError::NotFound
}

pub async fn recover_get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if !state.policy().await?.recovery_enabled {
        return Err(disabled());
    }
    let csrf = UserSession::from_request(&req).csrf_token()?;
    let page = RecoverPage {
        chrome: Chrome::new(&state, None, &csrf),
        username: String::new(),
        date_of_birth: String::new(),
        id_last4: String::new(),
        error: None,
    };
    html(StatusCode::OK, &page)
}

csrf_form!(RecoverForm { username: String, date_of_birth: String, id_last4: String, password: String });

pub async fn recover_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: CsrfForm<RecoverForm>,
) -> Result<HttpResponse, AppError> {
    if !state.policy().await?.recovery_enabled {
        return Err(disabled());
    }
    let form = form.0;
    let t = now();
    let ip = client_ip(&req);
    let csrf = UserSession::from_request(&req).csrf_token()?;
    let retry = |status: StatusCode, message: String| {
        let page = RecoverPage {
            chrome: Chrome::new(&state, None, &csrf),
            username: form.username.chars().take(64).collect(),
            date_of_birth: form.date_of_birth.chars().take(10).collect(),
            id_last4: form.id_last4.chars().take(4).collect(),
            error: Some(message),
        };
        html(status, &page)
    };
    // The format of a date is no secret: say so plainly, and do not count it as a guess.
    if let Err(e) = parse_date_of_birth(&form.date_of_birth) {
        return retry(StatusCode::UNPROCESSABLE_ENTITY, e.0);
    }
    // Reserved before anything is checked: parallel guesses get no more checks than the limit.
    let Some(reserved) = state.reserve_guess(Purpose::Recovery, &form.username, ip.as_deref(), false).await? else {
        return retry(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many attempts. Wait {} minutes, then try again.", state.settings.login.window_minutes),
        );
    };

    let user = match Username::parse(&form.username) {
        Ok(name) => store::users::by_username(&state.db, &name).await?,
        Err(_) => None,
    };
    let facts = match &user {
        Some(u) => store::import::facts_of(&state.db, &u.id).await?,
        None => None,
    };
    let user_id = user.as_ref().map(|u| u.id.clone()).unwrap_or_default();
    // Every fact is hashed and compared, and the password always verified, whatever fails first.
    let dob = parse_date_of_birth(&form.date_of_birth).map(|d| state.keys.hash_fact(&user_id, "date_of_birth", &d));
    let id4 = parse_id_last4(&form.id_last4).map(|d| state.keys.hash_fact(&user_id, "id_last4", &d));
    let facts_ok = match (&facts, &dob, &id4) {
        (Some((stored_dob, stored_id)), Ok(dob), Ok(id4)) => {
            constant_time_eq(stored_dob, dob) & constant_time_eq(stored_id, id4)
        }
        _ => false,
    };
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let candidate = form.password.clone();
    let password_ok = passwords::verify_blocking(candidate, stored).await.map_err(|e| AppError::Internal(e.into()))?;

    let user = match user {
        Some(u) if facts_ok && password_ok && u.is_active() => u,
        other => {
            if let Some(u) = &other {
                let e = Event::new(AuditEvent::RecoveryRefused, Outcome::Failure)
                    .user(&u.id, &u.username)
                    .ip(ip.as_deref());
                store::audit::record(&state.db, e, t).await?;
            }
            return retry(
                StatusCode::UNAUTHORIZED,
                format!(
                    "We could not confirm those details. Check them and try again, or contact {}.",
                    state.settings.institution.help_desk
                ),
            );
        }
    };
    state.guess_succeeded(&reserved).await?;
    let code = codes::random_digits(TEMPORARY_CODE_DIGITS);
    let salt = codes::new_salt();
    let expires_at = t + i64::from(state.settings.recovery.passcode_minutes) * 60;
    let new = NewCode {
        user_id: &user.id,
        kind: "recovery",
        salt: &salt,
        code_hash: &codes::hash(&state.keys, &salt, &code),
        uses: 1,
        expires_at,
        issued_by: None,
        reason: "self-service recovery",
    };
    store::one_time_codes::insert(&state.db, new, t).await?;
    store::audit::record(
        &state.db,
        Event::new(AuditEvent::RecoveryIssued, Outcome::Success).user(&user.id, &user.username).ip(ip.as_deref()),
        t,
    )
    .await?;
    let subject = format!("A recovery passcode was issued for your {} account", state.settings.institution.name);
    let body = format!(
        "Hello {name},\n\nA recovery passcode for your account was issued on {when}, from the address {ip}, after your \
         identity details and password were entered. It works once, until {until}.\n\nIf this wasn't you, contact {help} \
         now and change your password.\n\n— {product} for {inst}\n",
        name = user.display_name,
        when = crate::clock::format(t),
        ip = ip.as_deref().unwrap_or("unknown"),
        until = crate::clock::format(expires_at),
        help = state.settings.institution.help_desk,
        product = state.settings.institution.product_name,
        inst = state.settings.institution.name,
    );
    state
        .mailer
        .queue(
            &state.db,
            &state.keys,
            Mail { to: &user.email, subject: &subject, body: &body, user_id: Some(&user.id) },
            t,
        )
        .await?;
    html(
        StatusCode::OK,
        &IssuedPage {
            chrome: Chrome::new(&state, None, ""),
            code: codes::display(&code),
            expires: crate::clock::format(expires_at),
        },
    )
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/recover", crate::web::get().to(recover_get)).route("/recover", web::post().to(recover_post));
}
