//! A second factor asked for over RADIUS, run by the sign-in core: a passcode is checked, a push
//! or a call is started and waited for (while other requests are served), texted passcodes are
//! sent for the next attempt. The core decides; this turns its answers into a reply.

use crate::domain::policy::Method;
use crate::domain::radius::Choice;
use crate::domain::{DeviceKind, Passcode};
use crate::signin::allowed;
use crate::signin::phone::{CallEnd, PhoneChoice, PhoneRefusal};
use crate::signin::push::{PushAsk, PushEnd, PushRefusal, PushStart};
use crate::signin::{Caller, Error, SignIn, Verdict};
use crate::store::{self, phone_devices};
use crate::words;

use super::{Reply, Said};

pub const LOCKED: &str = "Your account is locked out. Try again later, or contact your help desk.";
pub const DISABLED: &str = "Your account is disabled.";
pub const WRONG_PASSCODE: &str = "Incorrect passcode. Please try again.";
const STOPPED: &str = "The service restarted before the request was answered. Please try again.";

/// A settled attempt's verdict as a reply.
pub fn verdict_reply(core: &SignIn, verdict: Verdict, wrong: &str) -> Reply {
    match verdict {
        Verdict::Accepted(_) => Reply::Accept("Success. Logging you in...".into()),
        Verdict::Locked => Reply::Reject(LOCKED.into()),
        Verdict::Disabled => Reply::Reject(DISABLED.into()),
        Verdict::Refused(method) => Reply::Reject(words::method_refused(core, method)),
        Verdict::Wrong { locked_now: true } | Verdict::Replayed { locked_now: true } => Reply::Reject(LOCKED.into()),
        Verdict::Wrong { .. } | Verdict::Replayed { .. } | Verdict::SessionEnded => Reply::Reject(wrong.into()),
    }
}

pub async fn passcode(core: &SignIn, caller: &Caller<'_>, code: &Passcode) -> Result<Said, Error> {
    let verdict = core.passcode(caller, code).await?;
    Ok(Said::core(verdict_reply(core, verdict, WRONG_PASSCODE)))
}

/// What the app shows: "<client>: Login request".
pub fn push_title(client: &str) -> String {
    format!("{client}: Login request")
}

/// Starts a push; `number_matching` when the reply can show the number (challenge mode).
pub async fn start_push(
    core: &SignIn,
    caller: &Caller<'_>,
    client: &str,
    number_matching: bool,
) -> Result<Result<(String, String), Reply>, Error> {
    let title = push_title(client);
    let ask = PushAsk {
        number_matching,
        title: &title,
        username: &caller.user.username,
        shown_ip: caller.ip,
        user_agent: None,
    };
    Ok(match core.start_push(caller, ask).await? {
        PushStart::Sent { id, number } => Ok((id, number)),
        PushStart::Refused(PushRefusal::Locked) => Err(Reply::Reject(LOCKED.into())),
        PushStart::Refused(PushRefusal::Disabled) => Err(Reply::Reject(DISABLED.into())),
        PushStart::Refused(refusal) => Err(Reply::Reject(words::push_refused(core, refusal))),
    })
}

/// Waits for the push to end; the core settles an approval once (and audits every end).
pub async fn wait_push(core: &SignIn, caller: &Caller<'_>, id: &str) -> Result<Said, Error> {
    const DENIED: &str = "Login request denied.";
    Ok(Said::core(match core.wait_push(caller, id).await? {
        PushEnd::Settled(verdict) => verdict_reply(core, verdict, DENIED),
        PushEnd::Fraud | PushEnd::Denied => Reply::Reject(DENIED.into()),
        PushEnd::TimedOut => Reply::Reject("Login request timed out.".into()),
        PushEnd::Stopped => Reply::Reject(STOPPED.into()),
    }))
}

/// The `n`th of the user's phones with a number (mobile phones only for texts); `None` for the
/// first, which the core chooses itself (the default first).
async fn nth_phone(core: &SignIn, user_id: &str, n: usize, mobile_only: bool) -> Result<Option<String>, Error> {
    if n <= 1 {
        return Ok(None);
    }
    let phones = phone_devices::for_user(&core.db, &core.keys, user_id).await?;
    let usable = phones.into_iter().filter(|p| !p.phone.is_empty());
    let nth = usable.filter(|p| !mobile_only || p.kind == DeviceKind::MobilePhone).nth(n - 1);
    Ok(Some(nth.map(|p| p.id).unwrap_or_default()))
}

fn phone_refused(core: &SignIn, refusal: PhoneRefusal, no_phone: &str) -> Result<Said, Error> {
    Ok(Said::door(Reply::Reject(match refusal {
        PhoneRefusal::NoPhone => no_phone.into(),
        PhoneRefusal::Locked => LOCKED.into(),
        PhoneRefusal::Disabled => DISABLED.into(),
        PhoneRefusal::NotAllowed(method) => words::method_refused(core, method),
        PhoneRefusal::Channel(e) => match words::phone_problem(&e) {
            Some(message) => message,
            None => return Err(Error::Other(e.to_string())),
        },
    })))
}

/// A call to the user's phone (`n`th), waited for; the core audits how it ended.
pub async fn call(core: &SignIn, caller: &Caller<'_>, n: usize) -> Result<Said, Error> {
    let device = nth_phone(core, &caller.user.id, n, false).await?;
    let choice = device.as_deref().map_or(PhoneChoice::Auto, PhoneChoice::Device);
    let id = match core.call(caller, choice).await? {
        Ok(id) => id,
        Err(refusal) => return phone_refused(core, refusal, "There is no phone to call on your account."),
    };
    Ok(Said::core(match core.wait_call(caller, &id).await? {
        CallEnd::Settled(verdict) => verdict_reply(core, verdict, "The call was declined."),
        CallEnd::Fraud | CallEnd::Declined => Reply::Reject("The call was declined.".into()),
        CallEnd::NotAnswered => Reply::Reject("The call was not answered.".into()),
        CallEnd::Stopped => Reply::Reject(STOPPED.into()),
    }))
}

/// Texts passcodes to the user's mobile phone (`n`th); `Ok(None)` when they were sent.
pub async fn text(core: &SignIn, caller: &Caller<'_>, n: usize) -> Result<Option<Said>, Error> {
    let device = nth_phone(core, &caller.user.id, n, true).await?;
    let choice = device.as_deref().map_or(PhoneChoice::Auto, PhoneChoice::Device);
    Ok(match core.text_codes(caller, choice).await? {
        Ok(()) => None,
        Err(refusal) => Some(phone_refused(core, refusal, "There is no mobile phone to text on your account.")?),
    })
}

/// Append and second-factor-only modes: the factor named in the password field, done now.
/// `sent`: the words after texted passcodes (the user signs in again with one); `add_passcode`:
/// how to name a passcode when nothing else can be done.
pub async fn run(
    core: &SignIn,
    caller: &Caller<'_>,
    client: &str,
    choice: Choice,
    words: &Words,
) -> Result<Said, Error> {
    let choice = match choice {
        Choice::Passcode(code) => return passcode(core, caller, &code).await,
        Choice::Auto => match default_action(core, caller).await? {
            Some(choice) => choice,
            None => return Ok(Said::door(Reply::Reject(words.add_passcode.clone()))),
        },
        other => other,
    };
    match choice {
        Choice::Push(n) => {
            let devices = store::push_devices::push_device_ids(&core.db, &caller.user.id).await?.len();
            if n > devices.max(1) {
                let words = format!("Your account has no device number {n} that can receive pushes.");
                return Ok(Said::door(Reply::Reject(words)));
            }
            match start_push(core, caller, client, false).await? {
                Ok((id, _)) => wait_push(core, caller, &id).await,
                Err(reply) => Ok(Said::door(reply)),
            }
        }
        Choice::Phone(n) => call(core, caller, n).await,
        Choice::Sms(n) => {
            Ok(text(core, caller, n).await?.unwrap_or_else(|| Said::door(Reply::Reject(words.sent.clone()))))
        }
        Choice::Auto | Choice::Passcode(_) => Ok(Said::door(Reply::Reject(words.add_passcode.clone()))),
    }
}

/// The words of append and second-factor-only modes that name what to type.
pub struct Words {
    /// After texted passcodes: sign in again with one.
    pub sent: String,
    /// Nothing to push or call: type a passcode.
    pub add_passcode: String,
}

/// Nothing named: a push when the default device takes pushes, a call when it is a phone without
/// the app (a landline), else a push to any app or a call to any phone.
async fn default_action(core: &SignIn, caller: &Caller<'_>) -> Result<Option<Choice>, Error> {
    let user_id = &caller.user.id;
    let push_ids = store::push_devices::push_device_ids(&core.db, user_id).await?;
    let push = !push_ids.is_empty() && allowed::method_allowed(core, caller, Method::Push).await?;
    let devices = store::devices::list_for_user(&core.db, user_id).await?;
    let phones: Vec<_> =
        phone_devices::among(&core.keys, &devices)?.into_iter().filter(|p| !p.phone.is_empty()).collect();
    if let Some(d) = devices.iter().find(|d| d.is_default != 0) {
        if push && push_ids.contains(&d.id) {
            return Ok(Some(Choice::Push(1)));
        }
        if let Some(n) = phones.iter().position(|p| p.id == d.id) {
            return Ok(Some(Choice::Phone(n + 1)));
        }
    }
    Ok(if push {
        Some(Choice::Push(1))
    } else if !phones.is_empty() {
        Some(Choice::Phone(1))
    } else {
        None
    })
}
