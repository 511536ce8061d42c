//! Telling a person's own devices about something that happened to their account (a recovery
//! passcode was requested): a text to each mobile number on file and a notification to each
//! Twofold authenticator that accepts them. Best effort and in the background (a carrier or a push
//! service may be slow; the page that caused the notice does not wait): a spent budget or an
//! unreachable carrier is logged and audited, never a reason to fail what caused the notice.

use super::SignIn;
use crate::domain::{DeviceKind, PhoneNumber};
use crate::store::{self, users::UserRow};

/// How many devices were told.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Told {
    pub texts: usize,
    pub apps: usize,
}

impl SignIn {
    /// `tell_devices` in the background, tracked so a graceful stop still delivers it.
    pub fn tell_devices_soon(&self, user: &UserRow, title: &str, text: &str) {
        let (core, user, title, text) = (self.clone(), user.clone(), title.to_string(), text.to_string());
        self.shutdown.spawn(async move {
            core.tell_devices(&user, &title, &text).await;
        });
    }

    pub async fn tell_devices(&self, user: &UserRow, title: &str, text: &str) -> Told {
        let mut told = Told::default();
        let now = self.now();
        match store::phone_devices::for_user(&self.db, &self.keys, &user.id).await {
            Ok(phones) => {
                for phone in phones.iter().filter(|p| p.kind == DeviceKind::MobilePhone) {
                    let Ok(number) = PhoneNumber::from_e164(&phone.phone) else { continue };
                    match self.phones.send_notice(&user.id, &user.username, &number, text, now).await {
                        Ok(()) => told.texts += 1,
                        Err(e) => tracing::warn!(error = %e, "could not text a notice"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read the numbers to tell"),
        }
        let subject = self.public_url.as_str().trim_end_matches('/').to_string();
        match crate::channels::web_push::notice_user(&self.db, &self.keys, &subject, &user.id, title, text).await {
            Ok(n) => told.apps = n,
            Err(e) => tracing::warn!(error = %e, "web push: could not send a notice"),
        }
        told
    }
}
