//! "Lost your device?" → "Get recovery passcode": the person gives the facts the institution
//! imported (date of birth, last 4 characters of an ID document) and their password; a 9-digit
//! passcode that works once is then *emailed to the address on file*, never shown here, with a
//! "This wasn't me" link, and may start to work only after the policy's waiting period. Facts
//! and a password alone never sign anyone in. Every failure looks the same (no hint which fact
//! was wrong) and is reserved against the sign-in throttle before anything is checked.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

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
use crate::web::notices;
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
#[template(path = "recover/sent.html")]
struct SentPage {
    chrome: Chrome,
    /// The address on file, masked.
    email: String,
    /// When the passcode starts to work, if the institution makes recovered accounts wait.
    works_from: Option<String>,
    until: String,
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
    // Identity facts and a password never sign anyone in: the passcode goes to the address on
    // file (a channel the person already holds), with "This wasn't me"; it may only start to
    // work after the institution's waiting period.
    let wait = i64::from(state.policy().await?.recovery_wait_hours) * 3600;
    let works_from = t + wait;
    let until = works_from + i64::from(state.settings.recovery.passcode_minutes) * 60;
    if user.email.trim().is_empty() {
        let help = &state.settings.institution.help_desk;
        return retry(StatusCode::UNPROCESSABLE_ENTITY, format!("Your account has no email address. Contact {help}."));
    }
    let code = codes::random_digits(TEMPORARY_CODE_DIGITS);
    let salt = codes::new_salt();
    let new = NewCode {
        user_id: &user.id,
        kind: "recovery",
        salt: &salt,
        code_hash: &codes::hash(&state.keys, &salt, &code),
        uses: 1,
        expires_at: until,
        issued_by: None,
        reason: "self-service recovery",
        not_before: (wait > 0).then_some(works_from),
    };
    let code_id = store::one_time_codes::insert(&state.db, new, t).await?;
    let detail =
        format!("sent to {}; works from {}", notices::masked_email(&user.email), crate::clock::format(works_from));
    let e = Event::new(AuditEvent::RecoveryIssued, Outcome::Success).user(&user.id, &user.username).ip(ip.as_deref());
    store::audit::record(&state.db, e.detail(&detail), t).await?;
    let mail = notices::RecoveryMail { code_id: &code_id, code: &code, works_from, until, ip: ip.as_deref() };
    notices::recovery_requested(&state, &user, mail, t).await?;
    let page = SentPage {
        chrome: Chrome::new(&state, None, ""),
        email: notices::masked_email(&user.email),
        works_from: (wait > 0).then(|| crate::clock::format(works_from)),
        until: crate::clock::format(until),
    };
    html(StatusCode::OK, &page)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/recover", crate::web::get().to(recover_get)).route("/recover", web::post().to(recover_post));
}
