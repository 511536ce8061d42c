//! The help desk's verification push (issue 16): before issuing a temporary passcode, the agent
//! sends the caller a push; approved on the caller's enrolled app, it shows a code the caller
//! reads back and the agent compares with the one on the console. It proves the caller holds the
//! device; it never signs anyone in (`push_requests::consume_on` refuses purpose "verify").

use crate::domain::AuditEvent;
use crate::factors::codes::random_digits;
use crate::factors::push::PushStatus;
use crate::store::{
    self,
    audit::{Event, Outcome},
    push_devices::PushKeyRow,
    push_requests::{NewPush, PushRequestRow},
    users::UserRow,
};

use super::{Error, SignIn};

/// Digits of the code the caller reads back.
pub const CODE_DIGITS: usize = 6;

fn context(user_id: &str, request_id: &str) -> String {
    format!("verification-push:{user_id}:{request_id}")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyStart {
    Sent {
        id: String,
    },
    /// The account has no device that receives pushes: verify the caller another way.
    NoDevice,
    /// A push was reported as fraudulent and the report is still open.
    FraudLock,
    Disabled,
}

/// Who sends a verification push and alone may read its answer.
pub struct Requester<'a> {
    /// A staff member's user id, or `app:<application id>`.
    pub id: &'a str,
    /// For the audit detail: a username or "application <name> (<ikey>)".
    pub name: &'a str,
    /// `id` is a user id (recorded as the entry's actor).
    pub staff: bool,
    pub application: Option<&'a str>,
}

/// A verification push as its agent sees it: the code only once approved.
#[derive(Debug, Clone)]
pub struct Verification {
    pub request: PushRequestRow,
    pub status: PushStatus,
    pub code: Option<String>,
}

impl SignIn {
    /// Sends `user` a verification push on behalf of `agent` (who is allowed to act on them:
    /// the console checks that first).
    pub async fn send_verification_push(
        &self,
        user: &UserRow,
        agent: &UserRow,
        ip: Option<&str>,
    ) -> Result<VerifyStart, Error> {
        let by = Requester { id: &agent.id, name: &agent.username, staff: true, application: None };
        self.send_verification_push_by(user, &by, ip).await
    }

    /// Sends `user` a verification push for `by` (a staff member, or an Admin API application:
    /// then `by.id` is `app:<application id>` and only that application reads the answer).
    pub async fn send_verification_push_by(
        &self,
        user: &UserRow,
        by: &Requester<'_>,
        ip: Option<&str>,
    ) -> Result<VerifyStart, Error> {
        let t = self.now();
        if !user.is_active() {
            return Ok(VerifyStart::Disabled);
        }
        if store::push_devices::push_device_ids(&self.db, &user.id).await?.is_empty() {
            return Ok(VerifyStart::NoDevice);
        }
        if store::push_devices::push_locked(&self.db, &user.id).await? {
            return Ok(VerifyStart::FraudLock);
        }
        let title = format!("{}: your help desk is verifying it's you", self.settings.institution.name);
        let push = NewPush {
            user_id: &user.id,
            number: "",
            application: &title,
            username: &user.username,
            ip: None,
            user_agent: None,
            expires_at: t + i64::from(self.settings.push.timeout_seconds),
            session: None,
        };
        let code = random_digits(CODE_DIGITS);
        let keys = &self.keys;
        let seal = |id: &str| keys.seal(&context(&user.id, id), code.as_bytes()).ok();
        let Some(id) = store::push_requests::insert_verification(&self.db, push, by.id, seal, t).await? else {
            return Err(Error::Other("could not seal the verification code".into()));
        };
        self.notify_new_request(&user.id, &id);
        let detail = format!("request {id} by {}", by.name);
        let mut e = Event::new(AuditEvent::VerificationPushSent, Outcome::Info)
            .user(&user.id, &user.username)
            .ip(ip)
            .detail(&detail);
        if by.staff {
            e = e.actor(by.id);
        }
        if let Some(name) = by.application {
            e = e.application(name);
        }
        store::audit::record(&self.db, e, t).await?;
        Ok(VerifyStart::Sent { id })
    }

    /// The verification push `id` to `user_id`, for the agent who sent it (nobody else).
    pub async fn verification(&self, agent_id: &str, user_id: &str, id: &str) -> Result<Option<Verification>, Error> {
        let Some(request) = self.push_state(user_id, id).await? else { return Ok(None) };
        if !request.is_verification() || request.requested_by.as_deref() != Some(agent_id) {
            return Ok(None);
        }
        let status = PushStatus::parse(&request.status).unwrap_or(PushStatus::Pending);
        let code = if status == PushStatus::Approved { self.open_code(&request) } else { None };
        Ok(Some(Verification { request, status, code }))
    }

    /// The code an approved verification push shows in the app that approved it.
    pub async fn verification_code_for_device(
        &self,
        key: &PushKeyRow,
        request_id: &str,
    ) -> Result<Option<String>, Error> {
        let request = store::push_requests::by_id(&self.db, request_id).await?.filter(|r| {
            r.is_verification()
                && r.user_id == key.user_id
                && r.status == PushStatus::Approved.as_str()
                && r.device_id.as_deref() == Some(key.device_id.as_str())
        });
        Ok(request.and_then(|r| self.open_code(&r)))
    }

    fn open_code(&self, request: &PushRequestRow) -> Option<String> {
        let sealed = request.verification_sealed.as_deref()?;
        let plain = self.keys.open(&context(&request.user_id, &request.id), sealed).ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}
