//! One Access-Request, decided: the first factor where Twofold checks it, the client's group
//! restriction, whether the user can be asked (locked, disabled, not enrolled), then the factor
//! the mode asks for. Every rule is the sign-in core's; this only reads RADIUS's fields.

use crate::domain::Username;
use crate::domain::radius::{Choice, Mode, second_factor, split_append};
use crate::signin::password::PasswordVerdict;
use crate::signin::readiness::Readiness;
use crate::signin::{Application, Caller, Error, SignIn};
use crate::store::{self, users::UserRow};

use super::challenge::{self, Pending};
use super::clients::Client;
use super::factor::{self, DISABLED, LOCKED};
use super::{Decision, Reply};

/// How long the enrolment link in a reply works.
const ENROLL_LINK_SECONDS: i64 = 86_400;

/// What the request carried, read from its attributes.
pub struct Asked<'a> {
    pub client: &'a Client,
    pub user_name: String,
    /// The User-Password, un-hidden (not UTF-8: treated as empty).
    pub password: String,
    pub state: Option<Vec<u8>>,
    /// Calling-Station-Id: the user's address as the VPN saw it (the throttles count by it).
    pub calling_station: Option<String>,
}

/// Decides a request. `Decision::user` is set once the user is known (for the audit entry).
pub async fn decide(core: &SignIn, asked: &Asked<'_>) -> Result<Decision, Error> {
    let client = asked.client;
    let application = Application { name: client.name.clone(), integration_key: "RADIUS".into() };
    let ip = asked.calling_station.as_deref();
    if let Some(state) = &asked.state {
        let Some(pending) = Pending::open(core, &client.id, state, core.now()) else {
            return Ok(Decision::new(
                None,
                "challenge",
                Reply::Reject("The sign-in took too long. Please start again.".into()),
            ));
        };
        let user = store::users::by_id(&core.db, &pending.user_id).await?;
        let Some(user) = user.filter(|u| same_name(u, &asked.user_name)) else {
            return Ok(Decision::new(None, "challenge", Reply::Reject("Please start again.".into())));
        };
        let caller = Caller::new(&user, ip).for_application(Some(&application));
        let reply = challenge::answer(core, &caller, client, pending, &asked.password).await?;
        return Ok(Decision::new(Some(user), "challenge", reply));
    }
    let (password, choice) = match client.mode {
        Mode::Append => {
            let (password, choice) = split_append(&asked.password, &core.settings.radius.separator);
            (Some(password), Some(choice))
        }
        Mode::Challenge => (Some(asked.password.as_str()), None),
        Mode::SecondFactorOnly => match second_factor(&asked.password) {
            Some(choice) => (None, Some(choice)),
            None => {
                let words = "Enter push, phone, sms or a passcode as the password.";
                return Ok(Decision::new(None, "none", Reply::Reject(words.into())));
            }
        },
    };
    let method = choice.as_ref().map_or("challenge", Choice::name);
    let user = match password {
        Some(password) => match core.password(&asked.user_name, password.to_string(), ip, None).await? {
            PasswordVerdict::Accepted(user) => user,
            PasswordVerdict::Wrong => return Ok(reject(None, "password", "Wrong username or password.")),
            PasswordVerdict::Throttled => {
                let words = "Too many failed sign-ins. Wait a few minutes, then try again.";
                return Ok(reject(None, "password", words));
            }
            PasswordVerdict::Disabled(user) => return Ok(reject(Some(user), "password", DISABLED)),
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
    let methods = match core.readiness(&user).await? {
        Readiness::Disabled => return Ok(reject(Some(user), method, DISABLED)),
        Readiness::Locked => return Ok(reject(Some(user), method, LOCKED)),
        Readiness::NoWayIn => {
            let words = format!("No device is left on your account. Contact {}.", core.settings.institution.help_desk);
            return Ok(reject(Some(user), method, &words));
        }
        Readiness::MustEnroll => {
            let link = core.invitation_link(&user, None, ENROLL_LINK_SECONDS).await?;
            let words = format!(
                "You have not set up two-step sign-in yet. Open this link to set it up, then connect again: {link}"
            );
            return Ok(reject(Some(user), "enroll", &words));
        }
        Readiness::Ready(methods) => methods,
    };
    let caller = Caller::new(&user, ip).for_application(Some(&application));
    let reply = match choice {
        None => {
            let seconds = i64::from(core.settings.radius.challenge_seconds);
            let (message, pending) = challenge::offer(core, &user.id, &methods.devices, seconds).await?;
            Reply::Challenge { message, state: pending.seal(core, &client.id)? }
        }
        Some(choice) => {
            let sent = match client.mode {
                Mode::SecondFactorOnly => "We texted you passcodes. Sign in again with one of them as the password.",
                _ => "We texted you passcodes. Sign in again with your password, a comma and one of them.",
            };
            factor::run(core, &caller, &client.name, choice, sent).await?
        }
    };
    Ok(Decision::new(Some(user), method, reply))
}

fn same_name(user: &UserRow, typed: &str) -> bool {
    Username::parse(typed).is_ok_and(|name| name.as_str() == user.username)
}

fn reject(user: Option<UserRow>, method: &'static str, words: &str) -> Decision {
    Decision::new(user, method, Reply::Reject(words.into()))
}
