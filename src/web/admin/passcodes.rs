//! "Issue temporary passcode": the help desk gives a user who lost their device a 9-digit passcode
//! (default: one use, one hour; a reason is required). Shown once, stored only as a salted keyed
//! hash, audit-logged, and the user is told by email.

use crate::domain::AuditEvent;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::users::audit;
use super::{Nav, Staff};
use crate::channels::mail::Mail;
use crate::clock::now;
use crate::csrf_form;
use crate::factors::codes::{self, TEMPORARY_CODE_DIGITS};
use crate::store::{self, one_time_codes::NewCode, users::UserRow};
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppError;
use crate::web::html;
use crate::web::state::AppState;

pub const MAX_USES: i64 = 10;
pub const MAX_COUNT: usize = 10;
pub const MAX_HOURS: i64 = 72;

#[derive(Template)]
#[template(path = "admin/passcode.html")]
struct PasscodeForm {
    chrome: Chrome,
    nav: Nav,
    user: UserRow,
    reason: String,
    count: String,
    uses: String,
    hours: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/passcode_issued.html")]
struct IssuedPage {
    chrome: Chrome,
    nav: Nav,
    user: UserRow,
    codes: Vec<String>,
    uses: i64,
    expires: String,
}

pub async fn passcode_get(
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let user = staff.managed(&state, &id).await?;
    let page = PasscodeForm {
        chrome: staff.chrome(&state),
        nav: Nav { admin: staff.is_admin(), current: "users" },
        user,
        reason: String::new(),
        count: "1".into(),
        uses: "1".into(),
        hours: "1".into(),
        error: None,
    };
    html(StatusCode::OK, &page)
}

csrf_form!(IssueForm { reason: String, count: String, uses: String, hours: String });

/// Checks the form: a reason, 1–10 passcodes (an empty field means one), 1–10 uses, 1–72 hours.
fn parse(form: &IssueForm) -> Result<(String, usize, i64, i64), String> {
    let reason: String = form.reason.trim().chars().take(200).collect();
    if reason.is_empty() {
        return Err("Give a reason, for example \"Lost phone, identity checked by video call\".".into());
    }
    let uses = form.uses.trim().parse::<i64>().ok().filter(|n| (1..=MAX_USES).contains(n));
    let Some(uses) = uses else { return Err(format!("Uses must be a number from 1 to {MAX_USES}.")) };
    let hours = form.hours.trim().parse::<i64>().ok().filter(|n| (1..=MAX_HOURS).contains(n));
    let Some(hours) = hours else { return Err(format!("Valid for must be a number of hours from 1 to {MAX_HOURS}.")) };
    let count = if form.count.trim().is_empty() { Some(1) } else { form.count.trim().parse::<usize>().ok() };
    let Some(count) = count.filter(|n| (1..=MAX_COUNT).contains(n)) else {
        return Err(format!("Number of passcodes must be from 1 to {MAX_COUNT}."));
    };
    Ok((reason, count, uses, hours))
}

pub async fn passcode_post(
    req: HttpRequest,
    staff: Staff,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: CsrfForm<IssueForm>,
) -> Result<HttpResponse, AppError> {
    let user = staff.managed(&state, &id).await?;
    let form = form.0;
    let nav = Nav { admin: staff.is_admin(), current: "users" };
    let (reason, count, uses, hours) = match parse(&form) {
        Ok(v) => v,
        Err(message) => {
            let page = PasscodeForm {
                chrome: staff.chrome(&state),
                nav,
                user,
                reason: form.reason.chars().take(200).collect(),
                count: form.count.chars().take(4).collect(),
                uses: form.uses.chars().take(4).collect(),
                hours: form.hours.chars().take(4).collect(),
                error: Some(message),
            };
            return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let t = now();
    let expires_at = t + hours * 3600;
    let mut issued = Vec::with_capacity(count);
    for _ in 0..count {
        let code = codes::random_digits(TEMPORARY_CODE_DIGITS);
        let salt = codes::new_salt();
        let new = NewCode {
            user_id: &user.id,
            kind: "helpdesk",
            salt: &salt,
            code_hash: &codes::hash(&state.keys, &salt, &code),
            uses,
            expires_at,
            issued_by: Some(&staff.user.id),
            not_before: None,
            reason: &reason,
        };
        store::one_time_codes::insert(&state.db, new, t).await?;
        issued.push(codes::display(&code));
    }
    let detail =
        format!("{count} passcode(s), {uses} use(s) each, {hours} hour(s), by {}: {reason}", staff.user.username);
    audit(&state, &req, &staff, &user, AuditEvent::BypassIssued, &detail).await?;
    let body = format!(
        "Hello {name},\n\nThe help desk issued {count} temporary passcode(s) for your account on {when} ({reason}). \
         Each works {uses} time(s) until {until}.\n\nIf you did not ask for it, contact {help} now.\n\n— {product} for {inst}\n",
        name = user.display_name,
        when = crate::clock::format(t),
        until = crate::clock::format(expires_at),
        help = state.settings.institution.help_desk,
        product = state.settings.institution.product_name,
        inst = state.settings.institution.name,
    );
    let subject = format!("A temporary passcode was issued for your {} account", state.settings.institution.name);
    state
        .mailer
        .queue(
            &state.db,
            &state.keys,
            Mail { to: &user.email, subject: &subject, body: &body, user_id: Some(&user.id) },
            t,
        )
        .await?;
    let page = IssuedPage {
        chrome: staff.chrome(&state),
        nav,
        user,
        codes: issued,
        uses,
        expires: crate::clock::format(expires_at),
    };
    html(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(reason: &str, uses: &str, hours: &str) -> IssueForm {
        IssueForm {
            csrf_token: String::new(),
            reason: reason.into(),
            count: String::new(),
            uses: uses.into(),
            hours: hours.into(),
        }
    }

    #[test]
    fn a_reason_and_bounded_uses_and_hours_are_required() {
        assert!(parse(&form("", "1", "1")).is_err());
        assert!(parse(&form("  ", "1", "1")).is_err());
        assert!(parse(&form("lost phone", "0", "1")).is_err());
        assert!(parse(&form("lost phone", "11", "1")).is_err());
        assert!(parse(&form("lost phone", "1", "73")).is_err());
        assert!(parse(&form("lost phone", "x", "1")).is_err());
        assert_eq!(parse(&form(" lost phone ", "2", "24")).unwrap(), ("lost phone".into(), 1, 2, 24));
        let many = IssueForm { count: "3".into(), ..form("lost phone", "1", "1") };
        assert_eq!(parse(&many).unwrap().1, 3);
        let too_many = IssueForm { count: "11".into(), ..form("lost phone", "1", "1") };
        assert!(parse(&too_many).is_err());
    }
}
