//! Temporary passcodes issued for a user (the console's "Issue temporary passcode", the Admin
//! API's bypass codes): generated, stored only as salted keyed hashes, audited as
//! `bypass.issued`, and the user is told by email. One path, so both doors issue alike.

use crate::channels::mail::Mail;
use crate::domain::AuditEvent;
use crate::factors::codes::{self, TEMPORARY_CODE_DIGITS};
use crate::store::{
    self,
    audit::{Event, Outcome},
    one_time_codes::NewCode,
    users::UserRow,
};

use super::{Error, SignIn};

/// Who issues: a staff member (their id and username) or an application (its name).
pub struct Issuer<'a> {
    pub staff_id: Option<&'a str>,
    /// "ada" or "application Splunk (DIxxxx)": the audit detail's "by …".
    pub name: &'a str,
    pub application: Option<&'a str>,
    pub ip: Option<&'a str>,
}

/// What to issue: `count` codes of `uses` uses each until `expires_at`, and why.
pub struct Issue<'a> {
    pub count: usize,
    pub uses: i64,
    pub expires_at: i64,
    pub reason: &'a str,
}

impl SignIn {
    /// Issues the codes and gives them in clear (digits only), to be shown once.
    pub async fn issue_temporary_passcodes(
        &self,
        user: &UserRow,
        by: &Issuer<'_>,
        issue: &Issue<'_>,
    ) -> Result<Vec<String>, Error> {
        let t = self.now();
        let mut issued = Vec::with_capacity(issue.count);
        for _ in 0..issue.count {
            let code = codes::random_digits(TEMPORARY_CODE_DIGITS);
            let salt = codes::new_salt();
            let new = NewCode {
                user_id: &user.id,
                kind: "helpdesk",
                salt: &salt,
                code_hash: &codes::hash(&self.keys, &salt, &code),
                uses: issue.uses,
                expires_at: issue.expires_at,
                issued_by: by.staff_id,
                not_before: None,
                reason: issue.reason,
            };
            store::one_time_codes::insert(&self.db, new, t).await?;
            issued.push(code);
        }
        let hours = (issue.expires_at - t + 3599) / 3600;
        let detail = format!(
            "{} passcode(s), {} use(s) each, {hours} hour(s), by {}: {}",
            issue.count, issue.uses, by.name, issue.reason
        );
        let mut e = Event::new(AuditEvent::BypassIssued, Outcome::Info)
            .user(&user.id, &user.username)
            .ip(by.ip)
            .detail(&detail);
        if let Some(id) = by.staff_id {
            e = e.actor(id);
        }
        if let Some(name) = by.application {
            e = e.application(name);
        }
        store::audit::record(&self.db, e, t).await?;
        let inst = &self.settings.institution;
        let body = format!(
            "Hello {name},\n\nThe help desk issued {count} temporary passcode(s) for your account on {when} ({reason}). \
             Each works {uses} time(s) until {until}.\n\nIf you did not ask for it, contact {help} now.\n\n— {product} for {inst}\n",
            name = user.display_name,
            count = issue.count,
            reason = issue.reason,
            uses = issue.uses,
            when = crate::clock::format(t),
            until = crate::clock::format(issue.expires_at),
            help = inst.help_desk,
            product = inst.product_name,
            inst = inst.name,
        );
        let subject = format!("A temporary passcode was issued for your {} account", inst.name);
        let mail = Mail { to: &user.email, subject: &subject, body: &body, user_id: Some(&user.id) };
        self.mailer.queue(&self.db, &self.keys, mail, t).await.map_err(|e| Error::Other(e.to_string()))?;
        Ok(issued)
    }
}
