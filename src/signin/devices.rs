//! Devices as the core creates them: what a user can sign in with now, the Twofold
//! authenticator's single-use activation links, and the app's activation (which stores the device
//! of a wizard, or gives a device a new key).

use crate::domain::{AuditEvent, DeviceKind, DeviceName, EnrollEvent};
use crate::factors::totp::TotpSeed;
use crate::secrets::random_token;
use crate::store::audit::{Event, Outcome};
use crate::store::{
    self,
    devices::{DeviceRow, NewDevice},
    enrollments::EnrollmentRow,
    phone_devices,
    push_devices::{ActivationRow, NewActivation},
    users::UserRow,
};

use super::passcode::seed_context;
use super::{Error, SignIn};

/// What the user can sign in with.
pub struct Methods {
    pub devices: Vec<DeviceRow>,
    pub backup_codes: i64,
    pub temporary_codes: i64,
}

impl Methods {
    pub fn any(&self) -> bool {
        !self.devices.is_empty() || self.backup_codes > 0 || self.temporary_codes > 0
    }
}

/// The app's activation, done: which device, for whom, and the seed for offline passcodes.
pub struct Activated {
    pub device_id: String,
    pub user: UserRow,
    pub seed: TotpSeed,
}

fn sealing_context(user_id: &str) -> String {
    format!("push-activation:{user_id}")
}

impl SignIn {
    /// The user's devices in use, unused backup codes and usable temporary passcodes.
    pub async fn methods(&self, user_id: &str) -> Result<Methods, Error> {
        let (backup_codes, temporary_codes) = store::backup_codes::counts(&self.db, user_id, self.now()).await?;
        let devices = store::devices::list_for_user(&self.db, user_id).await?;
        Ok(Methods { devices, backup_codes, temporary_codes })
    }

    /// A new activation link for the wizard (`enrollment_id`) or for reactivating `device_id`;
    /// the token is stored as a keyed hash (to find it) and sealed (to show the QR code again).
    pub async fn new_activation(
        &self,
        user_id: &str,
        enrollment_id: Option<&str>,
        device_id: Option<&str>,
    ) -> Result<(), Error> {
        let t = self.now();
        let token = random_token();
        let sealed = self.keys.seal(&sealing_context(user_id), token.as_bytes())?;
        let activation = NewActivation {
            token_hash: &self.keys.hash_token(&token),
            token_sealed: &sealed,
            user_id,
            enrollment_id,
            device_id,
            expires_at: t + i64::from(self.settings.push.activation_hours) * 3600,
        };
        store::push_devices::insert_activation(&self.db, activation, t).await?;
        Ok(())
    }

    /// The link the QR code holds. The token is in the fragment, so it never reaches server logs.
    pub fn activation_link(&self, user_id: &str, sealed: &str) -> Result<String, Error> {
        let token = self.keys.open(&sealing_context(user_id), sealed)?;
        let token = String::from_utf8_lossy(&token);
        let base = self.public_url.as_str().trim_end_matches('/');
        Ok(format!("{base}/authenticator/#activate={token}"))
    }

    /// The app presents a link's token and its new public key (already checked to be P-256).
    /// The link is used up first (single use, even when two phones open it at once); then the
    /// wizard's device is stored, or the device's seed replaced (reactivation), and the key kept.
    /// `None`: the link has expired, was used, or its wizard has moved on.
    pub async fn activate_app(
        &self,
        token: &str,
        public_key: &str,
        ip: Option<&str>,
    ) -> Result<Option<Activated>, Error> {
        let t = self.now();
        let hash = self.keys.hash_token(token);
        let Some(activation) = store::push_devices::consume_activation(&self.db, &hash, t).await? else {
            return Ok(None);
        };
        let Some(user) = store::users::by_id(&self.db, &activation.user_id).await? else { return Ok(None) };
        let device_id = match &activation.device_id {
            Some(id) => {
                let Some(device) = store::devices::for_user(&self.db, &user.id, id).await? else { return Ok(None) };
                let sealed = self.keys.seal(&seed_context(&user.id), TotpSeed::generate().as_bytes())?;
                store::push_devices::replace_seed(&self.db, &device.id, &sealed).await?;
                device.id
            }
            None => match self.create_wizard_device(&user, &activation, t).await? {
                Some(id) => id,
                None => return Ok(None),
            },
        };
        store::push_devices::set_key(&self.db, &device_id, &user.id, public_key, t).await?;
        let what = if activation.device_id.is_some() { "reactivated" } else { "activated" };
        let detail = format!("device {device_id} {what} the Twofold authenticator");
        let event = Event::new(AuditEvent::PushActivated, Outcome::Success)
            .user(&user.id, &user.username)
            .ip(ip)
            .detail(&detail);
        store::audit::record(&self.db, event, t).await?;
        let Some(device) = store::devices::for_user(&self.db, &user.id, &device_id).await? else { return Ok(None) };
        let seed = TotpSeed::from_bytes(&self.keys.open(&seed_context(&user.id), &device.totp_secret)?);
        Ok(Some(Activated { device_id, user, seed }))
    }

    /// The wizard's link: the device is stored now (the app holds the key, so no passcode check
    /// is needed) and the wizard moves on to "Device options".
    async fn create_wizard_device(
        &self,
        user: &UserRow,
        activation: &ActivationRow,
        t: i64,
    ) -> Result<Option<String>, Error> {
        let wizard = store::enrollments::current(&self.db, &user.id, t)
            .await?
            .filter(|w| Some(&w.id) == activation.enrollment_id.as_ref());
        let Some(wizard) = wizard else { return Ok(None) };
        let (Some(step), Some(kind), Some(platform)) =
            (wizard.step.moving(EnrollEvent::ActivatedApp), wizard.device_kind, wizard.platform)
        else {
            return Ok(None);
        };
        let Some(sealed) = wizard.totp_secret.clone() else { return Ok(None) };
        let name = DeviceName::suggested(kind, platform);
        // No passcode used yet: the current step and the one after stay usable at the prompt.
        let device = NewDevice::app(kind, platform, name.as_str(), &sealed, Some(t / 30 - 2));
        let Some(device_id) = store::enrollments::create_device(&self.db, &wizard, step, device, t).await? else {
            return Ok(None);
        };
        // The mobile number verified earlier in the wizard stays with the device (as with a passcode).
        self.attach_verified_number(&wizard, &device_id).await?;
        let detail = format!("device {device_id} ({}, {}, Twofold authenticator)", kind.as_str(), platform.as_str());
        let event =
            Event::new(AuditEvent::EnrollDeviceAdded, Outcome::Success).user(&user.id, &user.username).detail(&detail);
        store::audit::record(&self.db, event, t).await?;
        self.db.changes().publish(&self.db, &format!("enroll:{}", wizard.id)).await?;
        Ok(Some(device_id))
    }

    /// After the app path created a mobile phone's device: it gets the number the wizard verified.
    pub async fn attach_verified_number(&self, wizard: &EnrollmentRow, device_id: &str) -> Result<(), Error> {
        if wizard.device_kind == Some(DeviceKind::MobilePhone)
            && let Some(wp) = phone_devices::wizard_phone(&self.db, &self.keys, &wizard.id).await?
            && let (Some(phone), Some(_)) = (wp.phone.as_deref(), wp.phone_verified_at)
        {
            phone_devices::attach(
                &self.db,
                &self.keys,
                &wizard.user_id,
                device_id,
                phone,
                wp.phone_extension.as_deref(),
            )
            .await?;
        }
        Ok(())
    }
}
