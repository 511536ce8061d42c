//! "It seems fraudulent": a push or call the user did not start. Policy: push is locked for the
//! user until an administrator handles the report, trusted browsers are revoked, administrators
//! are alerted by mail.

use crate::channels::mail::Mail;
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
        let revoked = store::trusted_browsers::revoke_all_for_user(&self.db, &user.id, t).await?;
        let audit_detail = format!("push {} reported; push locked; {revoked} trusted browser(s) revoked", request.id);
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

    /// Queues a mail to every active administrator.
    pub(crate) async fn mail_admins(&self, subject: &str, body: &str, t: i64) -> Result<(), Error> {
        for admin in store::users::admins(&self.db).await? {
            let mail = Mail { to: &admin.email, subject, body, user_id: Some(&admin.id) };
            self.mailer.queue(&self.db, &self.keys, mail, t).await.map_err(|e| Error::Other(e.to_string()))?;
        }
        Ok(())
    }
}
