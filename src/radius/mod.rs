//! The RADIUS door (RFC 2865, PAP) for VPNs and network devices: another adapter over the
//! sign-in core, like the Auth API. `server` receives and answers datagrams (clients, the
//! Message-Authenticator, duplicates), `door` decides a request by the client's mode, `factor`
//! and `challenge` run the second factor, `packet` is the wire format. See docs/radius.md.

pub mod challenge;
pub mod clients;
mod door;
mod factor;
pub mod packet;
mod seen;
pub mod server;

pub use clients::Clients;
pub use server::Server;

use crate::store::users::UserRow;

/// What the request is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Access-Accept, with a Reply-Message.
    Accept(String),
    /// Access-Reject, with the reason as Reply-Message.
    Reject(String),
    /// Access-Challenge: the message to show and the State to send back.
    Challenge { message: String, state: Vec<u8> },
}

/// A reply, and whether the sign-in core already audited the outcome (a passcode's verdict, a
/// push's or a call's end): then the door writes no second entry (the core's names the client,
/// the NAS and the user's address through the `Application` and the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub reply: Reply,
    pub by_core: bool,
}

impl Said {
    /// An outcome the door decided (the door audits it).
    fn door(reply: Reply) -> Self {
        Self { reply, by_core: false }
    }

    /// An outcome of the core's, audited there.
    fn core(reply: Reply) -> Self {
        Self { reply, by_core: true }
    }
}

/// A decided request: what is said, the user it was about (once known) and the method asked for.
pub struct Decision {
    pub user: Option<UserRow>,
    pub method: &'static str,
    pub said: Said,
}

impl Decision {
    fn new(user: Option<UserRow>, method: &'static str, said: Said) -> Self {
        Self { user, method, said }
    }
}
