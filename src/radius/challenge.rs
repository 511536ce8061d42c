//! Challenge mode: after the password, an Access-Challenge lists the user's options; the next
//! Access-Request answers it with the State it was given. The State is sealed (bound to the
//! client that received it, expiring), so any instance can read it and nobody can forge one.

use crate::domain::phone::mask;
use crate::domain::policy::Method;
use crate::domain::radius::Choice;
use crate::signin::{Caller, Error, SignIn, allowed};
use crate::store::{self, devices::DeviceRow, phone_devices};

use super::factor;
use super::{Reply, Said};

/// Where a challenge conversation is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The options were listed: `p` push, `c` call, `s` text, in the order shown.
    Options(String),
    /// Passcodes were texted; the answer is one of them.
    Texted,
    /// A push with number matching was sent; the answer (any text) waits for it.
    Push(String),
}

/// A conversation's sealed State, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub user_id: String,
    pub expires_at: i64,
    pub step: Step,
}

fn context(client_id: &str) -> String {
    format!("radius-state:{client_id}")
}

impl Pending {
    fn text(&self) -> String {
        let step = match &self.step {
            Step::Options(codes) => format!("o:{codes}"),
            Step::Texted => "t".into(),
            Step::Push(id) => format!("p:{id}"),
        };
        format!("{}|{}|{step}", self.user_id, self.expires_at)
    }

    fn parse(text: &str) -> Option<Pending> {
        let mut parts = text.splitn(3, '|');
        let (user_id, expires_at, step) = (parts.next()?, parts.next()?.parse().ok()?, parts.next()?);
        let step = match step.split_once(':') {
            Some(("o", codes)) => Step::Options(codes.into()),
            Some(("p", id)) => Step::Push(id.into()),
            None if step == "t" => Step::Texted,
            _ => return None,
        };
        Some(Pending { user_id: user_id.into(), expires_at, step })
    }

    /// The State attribute's value.
    pub fn seal(&self, core: &SignIn, client_id: &str) -> Result<Vec<u8>, Error> {
        Ok(core.keys.seal(&context(client_id), self.text().as_bytes())?.into_bytes())
    }

    /// The conversation a State continues, if it was sealed for this client and is not overdue.
    pub fn open(core: &SignIn, client_id: &str, state: &[u8], now: i64) -> Option<Pending> {
        let sealed = std::str::from_utf8(state).ok()?;
        let text = core.keys.open(&context(client_id), sealed).ok()?;
        let pending = Pending::parse(std::str::from_utf8(&text).ok()?)?;
        (pending.expires_at >= now).then_some(pending)
    }
}

/// The options a user is offered, with the words of each.
async fn options(core: &SignIn, caller: &Caller<'_>, devices: &[DeviceRow]) -> Result<Vec<(char, String)>, Error> {
    let user_id = &caller.user.id;
    let allowed = allowed::methods_for_user(core, user_id, caller.application).await?;
    let push_ids = store::push_devices::push_device_ids(&core.db, user_id).await?;
    let phones = phone_devices::among(&core.keys, devices)?;
    let phones: Vec<_> = phones.into_iter().filter(|p| !p.phone.is_empty()).collect();
    let mut options = Vec::new();
    if allowed.allows(Method::Push)
        && let Some(device) = devices.iter().find(|d| push_ids.contains(&d.id))
    {
        let number = phones.iter().find(|p| p.id == device.id).map(|p| format!(" ({})", mask(&p.phone)));
        options.push(('p', format!("Push to {}{}", device.name, number.unwrap_or_default())));
    }
    if allowed.allows(Method::PhoneCall)
        && let Some(phone) = phones.first()
    {
        options.push(('c', format!("Call {}", mask(&phone.phone))));
    }
    if allowed.allows(Method::Sms)
        && let Some(mobile) = phones.iter().find(|p| p.kind == crate::domain::DeviceKind::MobilePhone)
    {
        options.push(('s', format!("Text me passcodes at {}", mask(&mobile.phone))));
    }
    Ok(options)
}

/// The first challenge: the user's options, numbered.
pub async fn offer(
    core: &SignIn,
    caller: &Caller<'_>,
    devices: &[DeviceRow],
    seconds: i64,
) -> Result<(String, Pending), Error> {
    let user_id = &caller.user.id;
    let options = options(core, caller, devices).await?;
    let mut message = String::from("Choose how to verify it's you:\n");
    for (i, (_, words)) in options.iter().enumerate() {
        message.push_str(&format!("{}. {words}\n", i + 1));
    }
    message.push_str(if options.is_empty() { "Enter a passcode." } else { "Or enter a passcode." });
    let codes = options.iter().map(|(c, _)| *c).collect();
    Ok((message, Pending { user_id: user_id.into(), expires_at: core.now() + seconds, step: Step::Options(codes) }))
}

/// The answer to a challenge; a new challenge continues the same conversation.
pub async fn answer(
    core: &SignIn,
    caller: &Caller<'_>,
    client: &super::clients::Client,
    pending: Pending,
    typed: &str,
) -> Result<Said, Error> {
    let again = |message: &str, step: Step| -> Result<Said, Error> {
        let next = Pending { step, ..pending.clone() };
        Ok(Said::door(Reply::Challenge { message: message.into(), state: next.seal(core, &client.id)? }))
    };
    let choice = match &pending.step {
        Step::Push(id) => return factor::wait_push(core, caller, id).await,
        Step::Texted => match Choice::parse(typed) {
            Some(Choice::Passcode(code)) => return factor::passcode(core, caller, &code).await,
            _ => return again("Enter one of the passcodes we texted you.", Step::Texted),
        },
        Step::Options(codes) => {
            let picked = typed.trim().parse::<usize>().ok().filter(|n| (1..=codes.len()).contains(n));
            match picked.and_then(|n| codes.chars().nth(n - 1)) {
                Some('p') => Choice::Push(1),
                Some('c') => Choice::Phone(1),
                Some('s') => Choice::Sms(1),
                _ => match Choice::parse(typed) {
                    Some(Choice::Passcode(code)) => Choice::Passcode(code),
                    _ => {
                        let words = "Enter the number of an option, or a passcode.";
                        return again(words, pending.step.clone());
                    }
                },
            }
        }
    };
    match choice {
        Choice::Passcode(code) => factor::passcode(core, caller, &code).await,
        Choice::Phone(n) => factor::call(core, caller, n).await,
        Choice::Sms(n) => match factor::text(core, caller, n).await? {
            Some(refused) => Ok(refused),
            None => again("We texted you passcodes. Enter one of them:", Step::Texted),
        },
        Choice::Push(_) | Choice::Auto => match factor::start_push(core, caller, &client.name, true).await? {
            Ok((id, number)) => {
                let words = if number.is_empty() {
                    "We sent a login request to your app. Approve it, then press Enter (or OK) here.".to_string()
                } else {
                    format!(
                        "We sent a login request to your app. Enter {number} in the app to approve it, then press Enter (or OK) here."
                    )
                };
                again(&words, Step::Push(id))
            }
            Err(reply) => Ok(Said::door(reply)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{Pending, Step};

    #[test]
    fn a_state_reads_back_as_written() {
        for step in
            [Step::Options("pcs".into()), Step::Texted, Step::Push("abc123".into()), Step::Options(String::new())]
        {
            let p = Pending { user_id: "u1".into(), expires_at: 1_700_000_000, step };
            assert_eq!(Pending::parse(&p.text()), Some(p));
        }
        assert_eq!(Pending::parse("u1|x|t"), None);
        assert_eq!(Pending::parse("u1|5|z:1"), None);
    }
}
