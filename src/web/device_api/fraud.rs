//! "It seems fraudulent": a push the user did not start. Policy: push is locked for the user until
//! an administrator handles the report, trusted browsers are revoked, administrators are alerted.

use crate::channels::mail::Mail;
use crate::store::{
    self,
    audit::{Event, Outcome},
    fraud_reports::NewReport,
    push_requests::PushRequestRow,
    users::UserRow,
};
use crate::web::state::AppState;

pub async fn report(state: &AppState, user: &UserRow, request: &PushRequestRow, t: i64) -> anyhow::Result<()> {
    let detail = format!(
        "A push for {} was reported as fraudulent. Push is locked for this user until the report is handled.",
        request.application
    );
    let report = NewReport {
        user_id: &user.id,
        method: "push",
        detail: &detail,
        ip: request.ip.as_deref(),
        application: Some(&request.application),
    };
    store::fraud_reports::insert(&state.db, report, t).await?;
    let revoked = store::trusted_browsers::revoke_all_for_user(&state.db, &user.id, t).await?;
    let audit_detail = format!("push {} reported; push locked; {revoked} trusted browser(s) revoked", request.id);
    let e = Event::new("fraud.reported", Outcome::Info)
        .user(&user.id, &user.username)
        .ip(request.ip.as_deref())
        .detail(&audit_detail);
    store::audit::record(&state.db, e, t).await?;
    let subject = format!("Reported: {} did not start a push", user.username);
    let body = format!(
        "{} ({}) reported a push request as fraudulent: someone may know their password.\n\n\
         Sign-in address: {}\n\nTwofold locked push for this user and stopped trusting their browsers. \
         Handle the report under Fraud reports in the console (clearing it unlocks push).\n",
        user.username,
        user.display_name,
        request.ip.as_deref().unwrap_or("unknown"),
    );
    for admin in store::users::admins(&state.db).await? {
        let mail = Mail { to: &admin.email, subject: &subject, body: &body, user_id: Some(&admin.id) };
        state.mailer.queue(&state.db, &state.keys, mail, t).await?;
    }
    Ok(())
}
