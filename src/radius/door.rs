//! One Access-Request, decided: the first factor where Twofold checks it, the client's group
//! restriction, whether the user can be asked (locked, disabled, not enrolled), then the factor
//! the mode asks for. Every rule is the sign-in core's; this only reads RADIUS's fields.

use std::net::IpAddr;

use crate::domain::Username;
use crate::domain::access::{Decision as Access, Door};
use crate::domain::radius::{Choice, Mode, second_factor, split_append};
use crate::signin::access::radius_scope;
use crate::signin::password::PasswordVerdict;
use crate::signin::readiness::Readiness;
use crate::signin::{Application, Caller, Error, SignIn, Verdict};
use crate::store::{self, users::UserRow};

use super::challenge::{self, Pending};
use super::clients::Client;
use super::factor::{self, DISABLED, LOCKED, Words};
use super::{Decision, Reply, Said};

/// How long the enrolment link in a reply works.
const ENROLL_LINK_SECONDS: i64 = 86_400;

/// What the request carried, read from its attributes.
pub struct Asked<'a> {
    pub client: &'a Client,
    /// The NAS that asked (NAS-IP-Address or NAS-Identifier), for the audit log.
    pub nas: String,
    pub user_name: String,
    /// The User-Password, un-hidden (not UTF-8: treated as empty).
    pub password: String,
    pub state: Option<Vec<u8>>,
    /// Calling-Station-Id: the user's address as the VPN saw it.
    pub calling_station: Option<String>,
}

impl Asked<'_> {
    /// The user's address for the throttles and the audit log: the Calling-Station-Id when it is
    /// an IP address; otherwise the client's name with whatever it sent (a MAC address, a phone
    /// number), so a VPN's users never share one count with other doors.
    pub fn address(&self) -> String {
        match self.calling_station.as_deref().map(str::trim) {
            Some(ip) if ip.parse::<IpAddr>().is_ok() => ip.to_string(),
            Some(other) => format!("RADIUS {} ({other})", self.client.name),
            None => format!("RADIUS {}", self.client.name),
        }
    }
}

fn said(user: Option<UserRow>, method: &'static str, reply: Reply) -> Decision {
    Decision::new(user, method, Said::door(reply))
}

fn reject(user: Option<UserRow>, method: &'static str, words: &str) -> Decision {
    said(user, method, Reply::Reject(words.into()))
}

/// Decides a request. `Decision::user` is set once the user is known (for the audit entry).
pub async fn decide(core: &SignIn, asked: &Asked<'_>) -> Result<Decision, Error> {
    let client = asked.client;
    // The core's audit entries name the client and the NAS.
    let application = Application {
        name: client.name.clone(),
        integration_key: format!("RADIUS, NAS {}", asked.nas),
        scope: radius_scope(&client.name),
    };
    let address = asked.address();
    let ip = Some(address.as_str());
    if let Some(state) = &asked.state {
        let Some(pending) = Pending::open(core, &client.id, state, core.now()) else {
            return Ok(reject(None, "challenge", "The sign-in took too long. Please start again."));
        };
        let user = store::users::by_id(&core.db, &pending.user_id).await?;
        let Some(user) = user.filter(|u| same_name(u, &asked.user_name)) else {
            return Ok(reject(None, "challenge", "Please start again."));
        };
        let caller = Caller::new(&user, ip).for_application(Some(&application));
        let said = challenge::answer(core, &caller, client, pending, &asked.password).await?;
        return Ok(Decision::new(Some(user), "challenge", said));
    }
    let separator = &core.settings.radius.separator;
    let (password, choice) = match client.mode {
        Mode::Append => {
            let (password, choice) = split_append(&asked.password, separator);
            (Some(password), Some(choice))
        }
        Mode::Challenge => (Some(asked.password.as_str()), None),
        Mode::SecondFactorOnly => match second_factor(&asked.password) {
            Some(choice) => (None, Some(choice)),
            None => return Ok(reject(None, "none", "Enter push, phone, sms or a passcode as the password.")),
        },
    };
    let method = choice.as_ref().map_or("challenge", Choice::name);
    let user = match password {
        Some(password) => match core.password(&asked.user_name, password.to_string(), ip, None).await? {
            PasswordVerdict::Accepted(user) => user,
            PasswordVerdict::Wrong => return Ok(reject(None, "password", "Wrong username or password.")),
            PasswordVerdict::Throttled => {
                return Ok(reject(None, "password", "Too many failed sign-ins. Wait a few minutes, then try again."));
            }
            PasswordVerdict::Disabled(user) => return Ok(reject(Some(user), "password", DISABLED)),
            PasswordVerdict::DirectoryRefused(user, refusal) => {
                return Ok(reject(Some(user), "password", &crate::words::directory_refusal(core, refusal)));
            }
            PasswordVerdict::DirectoryUnavailable => {
                return Ok(reject(None, "password", crate::words::DIRECTORY_UNAVAILABLE));
            }
        },
        None => {
            let user = match Username::parse(&asked.user_name) {
                Ok(name) => store::users::by_username(&core.db, &name).await?,
                Err(_) => None,
            };
            let Some(user) = user else {
                let words = format!("This user is not set up for {}.", core.settings.institution.product_name);
                return Ok(reject(None, method, &words));
            };
            user
        }
    };
    if !client.groups.is_empty() {
        let groups = store::import::groups_of(&core.db, &user.id).await?;
        if !groups.iter().any(|g| client.groups.contains(g)) {
            let words = format!("Your account may not sign in to {}.", client.name);
            return Ok(reject(Some(user), method, &words));
        }
    }
    let caller = Caller::new(&user, ip).for_application(Some(&application));
    // The access rules (networks, locations, new users) before any second factor; the core
    // audits a denial and a sign-in let through.
    match core.access(&caller, Door::Application).await?.decision {
        Access::Continue => {}
        Access::Deny(reason) => {
            let said = Said::core(Reply::Reject(crate::words::access_denied(core, &reason)));
            return Ok(Decision::new(Some(user), "policy", said));
        }
        Access::AllowWithoutMfa(_) => {
            let said = Said::core(Reply::Accept(crate::words::ALLOWED_WITHOUT_MFA.into()));
            return Ok(Decision::new(Some(user), "policy", said));
        }
    }
    if let Some(Choice::Passcode(code)) = &choice {
        // The busiest path: the core decides (locked, disabled, refused, wrong, used). Only a
        // wrong code from someone with nothing to sign in with is told why.
        let verdict = core.passcode(&caller, code).await?;
        if matches!(verdict, Verdict::Wrong { locked_now: false })
            && let Some(decision) = unready(core, &user, method).await?.err()
        {
            return Ok(decision);
        }
        let said = Said { reply: factor::verdict_reply(core, verdict, factor::WRONG_PASSCODE), by_core: true };
        return Ok(Decision::new(Some(user), method, said));
    }
    let methods = match unready(core, &user, method).await? {
        Ok(methods) => methods,
        Err(decision) => return Ok(decision),
    };
    let said = match choice {
        None => {
            let seconds = i64::from(core.settings.radius.challenge_seconds);
            let (message, pending) = challenge::offer(core, &caller, &methods.devices, seconds).await?;
            Said::door(Reply::Challenge { message, state: pending.seal(core, &client.id)? })
        }
        Some(choice) => factor::run(core, &caller, &client.name, choice, &words(client.mode, separator)).await?,
    };
    Ok(Decision::new(Some(user), method, said))
}

/// The user's methods, or the refusal when they cannot be asked for a second factor now.
async fn unready(
    core: &SignIn,
    user: &UserRow,
    method: &'static str,
) -> Result<Result<crate::signin::devices::Methods, Decision>, Error> {
    let refuse = |words: &str| reject(Some(user.clone()), method, words);
    Ok(Err(match core.readiness(user).await? {
        Readiness::Ready(methods) => return Ok(Ok(methods)),
        Readiness::Disabled => refuse(DISABLED),
        Readiness::Locked => refuse(LOCKED),
        Readiness::NoWayIn => {
            refuse(&format!("No device is left on your account. Contact {}.", core.settings.institution.help_desk))
        }
        Readiness::MustEnroll => {
            let link = core.invitation_link(user, None, ENROLL_LINK_SECONDS).await?;
            let words = format!(
                "You have not set up two-step sign-in yet. Open this link to set it up, then connect again: {link}"
            );
            reject(Some(user.clone()), "enroll", &words)
        }
    }))
}

/// What to type, in the client's mode (with the configured separator).
fn words(mode: Mode, separator: &str) -> Words {
    match mode {
        Mode::SecondFactorOnly => Words {
            sent: "We texted you passcodes. Sign in again with one of them as the password.".into(),
            add_passcode: "Enter a passcode as the password.".into(),
        },
        _ => Words {
            sent: format!(
                "We texted you passcodes. Sign in again with your password followed by one of them: \
                 password{separator}1234567."
            ),
            add_passcode: format!("Add a passcode after your password: password{separator}123456."),
        },
    }
}

fn same_name(user: &UserRow, typed: &str) -> bool {
    Username::parse(typed).is_ok_and(|name| name.as_str() == user.username)
}
