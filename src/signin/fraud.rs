//! "It seems fraudulent": a push or call the user did not start. Policy: push is locked for the
//! user until an administrator handles the report (a push report; `push_devices::push_locked`),
//! every session of the user is ended (the browser that asked may be the attacker's), trusted
//! browsers are revoked, administrators are alerted by mail.

use crate::channels::mail::Mail;
use crate::channels::telephony::CallOutcome;
use crate::domain::AuditEvent;
use crate::store::{
    self,
    audit::{Event, Outcome},
    fraud_reports::NewReport,
    push_requests::PushRequestRow,
    users::UserRow,
};

use super::{Error, SignIn};

impl SignIn {
    /// Records a push reported as fraudulent and applies the policy.
    pub(crate) async fn report_push_fraud(
        &self,
        user: &UserRow,
        request: &PushRequestRow,
        t: i64,
    ) -> Result<(), Error> {
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
        store::fraud_reports::insert(&self.db, report, t).await?;
        let (ended, revoked) = self.shut_out(&user.id, t).await?;
        let audit_detail = format!(
            "push {} reported; push locked; {ended} session(s) ended; {revoked} trusted browser(s) revoked",
            request.id
        );
        let e = Event::new(AuditEvent::FraudReported, Outcome::Info)
            .user(&user.id, &user.username)
            .ip(request.ip.as_deref())
            .detail(&audit_detail);
        store::audit::record(&self.db, e, t).await?;
        let subject = format!("Reported: {} did not start a push", user.username);
        let body = format!(
            "{} ({}) reported a push request as fraudulent: someone may know their password.\n\n\
             Sign-in address: {}\n\nTwofold locked push for this user and stopped trusting their browsers. \
             Handle the report under Fraud reports in the console (clearing it unlocks push).\n",
            user.username,
            user.display_name,
            request.ip.as_deref().unwrap_or("unknown"),
        );
        self.mail_admins(&subject, &body, t).await
    }

    /// After a fraud report: every session of the user ends (the one that asked may be the
    /// attacker's) and no browser stays trusted. Returns how many of each.
    async fn shut_out(&self, user_id: &str, t: i64) -> Result<(u64, u64), Error> {
        let ended = store::sessions::delete_for_user(&self.db, user_id).await?;
        let revoked = store::trusted_browsers::revoke_all_for_user(&self.db, user_id, t).await?;
        Ok((ended, revoked))
    }

    /// A key pressed during a call (the carrier's webhook or the simulator): the fraud key files a
    /// report (in `Phones`), then the user is shut out as for a push reported as fraudulent.
    pub async fn call_key(&self, call_id: &str, digits: &str) -> Result<CallOutcome, Error> {
        let t = self.now();
        let outcome = self.phones.key_pressed(call_id, digits, t).await?;
        if outcome == CallOutcome::Fraud
            && let Some(call) = store::phone_calls::by_id(&self.db, &self.keys, call_id).await?
        {
            let (ended, revoked) = self.shut_out(&call.user_id, t).await?;
            let user = store::users::by_id(&self.db, &call.user_id).await?;
            let username = user.as_ref().map_or("", |u| u.username.as_str());
            let detail =
                format!("call {call_id} reported; {ended} session(s) ended; {revoked} trusted browser(s) revoked");
            let e = Event::new(AuditEvent::FraudReported, Outcome::Info).user(&call.user_id, username).detail(&detail);
            store::audit::record(&self.db, e, t).await?;
        }
        Ok(outcome)
    }

    /// Queues a mail to every active administrator.
    pub(crate) async fn mail_admins(&self, subject: &str, body: &str, t: i64) -> Result<(), Error> {
        for admin in store::users::admins(&self.db).await? {
            let mail = Mail { to: &admin.email, subject, body, user_id: Some(&admin.id) };
            self.mailer.queue(&self.db, &self.keys, mail, t).await.map_err(|e| Error::Other(e.to_string()))?;
        }
        Ok(())
    }
}
