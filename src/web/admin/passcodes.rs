//! "Issue temporary passcode": the help desk gives a user who lost their device a 9-digit passcode
//! (default: one use, one hour; a reason is required). Shown once, stored only as a salted keyed
//! hash, audit-logged, and the user is told by email.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Nav, Staff};
use crate::clock::now;
use crate::csrf_form;
use crate::factors::codes;
use crate::signin::bypass::{Issue, Issuer};
use crate::store::users::UserRow;
use crate::web::chrome::Chrome;
use crate::web::csrf::CsrfForm;
use crate::web::error::AppError;
use crate::web::state::AppState;
use crate::web::{client_ip, html};

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
    let expires_at = now() + hours * 3600;
    let ip = client_ip(&req);
    let by =
        Issuer { staff_id: Some(&staff.user.id), name: &staff.user.username, application: None, ip: ip.as_deref() };
    let issue = Issue { count, uses, expires_at, reason: &reason };
    let issued = state.issue_temporary_passcodes(&user, &by, &issue).await?;
    let issued = issued.iter().map(|c| codes::display(c)).collect();
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
