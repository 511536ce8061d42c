//! The telephony simulator: texts are kept (sealed) for the clearly marked simulator page, and
//! calls ring there with "Answer and press a key" / "Decline". Nothing leaves the machine.

use futures_util::future::BoxFuture;

use super::{CarrierError, OutgoingCall, Telephony, Text};
use crate::clock::now;
use crate::secrets::Keys;
use crate::store::{self, Db};

pub const PROVIDER: &str = "simulator";

pub struct Simulator {
    db: Db,
    keys: Keys,
}

impl Simulator {
    pub fn new(db: Db, keys: Keys) -> Self {
        Self { db, keys }
    }

    /// Sealing context for a simulated text's body.
    pub fn context(id: &str) -> String {
        format!("phone-text:{id}")
    }

    /// Opens a stored text's body for the simulator page.
    pub fn open_body(keys: &Keys, id: &str, sealed: &str) -> Option<String> {
        keys.open(&Self::context(id), sealed).ok().and_then(|b| String::from_utf8(b.to_vec()).ok())
    }
}

impl Telephony for Simulator {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn send_text<'a>(&'a self, text: Text<'a>) -> BoxFuture<'a, Result<(), CarrierError>> {
        Box::pin(async move {
            let keys = &self.keys;
            let stored = store::phone_texts::insert(
                &self.db,
                keys,
                text.user_id,
                text.to.e164(),
                |id| keys.seal(&Self::context(id), text.body.as_bytes()).ok(),
                now(),
            )
            .await
            .map_err(|e| CarrierError::Unreachable(format!("simulator store: {e}")))?;
            match stored {
                Some(_) => Ok(()),
                None => Err(CarrierError::Misconfigured("could not seal the simulated text".into())),
            }
        })
    }

    /// The call's row (written before this) is what the simulator page rings.
    fn place_call<'a>(&'a self, _call: OutgoingCall<'a>) -> BoxFuture<'a, Result<Option<String>, CarrierError>> {
        Box::pin(async move { Ok(None) })
    }
}
