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

/// A decided request: the reply, the user it was about (once known) and the method asked for.
pub struct Decision {
    pub user: Option<UserRow>,
    pub method: &'static str,
    pub reply: Reply,
}

impl Decision {
    fn new(user: Option<UserRow>, method: &'static str, reply: Reply) -> Self {
        Self { user, method, reply }
    }
}
