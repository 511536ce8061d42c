//! Storing the device a wizard verified: an authenticator app proved by its first passcode, a
//! phone known by its number, a security key registered. Each is stored with the wizard's move in
//! one transaction (the store moves the wizard only from the step it is at) and audited here.
//! (The Twofold authenticator's activation and a hardware token's claim are in `devices` and
//! `token_claim`.)

use webauthn_rs::prelude::{Credential, RegisterPublicKeyCredential};

use crate::domain::{AuditEvent, DeviceKind, DeviceName, EnrollEvent, LoginAction, Passcode, PhoneNumber, Platform};
use crate::factors::totp::{TotpSeed, Verification};
use crate::factors::webauthn::{Failure as KeyFailure, RegistrationState, credential_id_text, finish_registration};
use crate::store::audit::Outcome;
use crate::store::devices::NewDevice;
use crate::store::phone_devices::NumberDevice;
use crate::store::webauthn::NewCredential;
use crate::store::{self, StoreError, enrollments::EnrollmentRow};

use super::attempt::entry;
use super::passcode::seed_context;
use super::security_key::REGISTER;
use super::verdict::Caller;
use super::{Error, SignIn};

/// What became of a device the wizard was about to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    Device(String),
    /// The passcode does not fit the wizard's seed.
    Wrong,
    /// The wizard had moved on (a second submission, another tab): nothing stored.
    MovedOn,
    /// The security key is already registered (to anyone).
    AlreadyRegistered,
}

/// Why a security key's registration was refused (for the words on the page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    Unreadable,
    /// Expired, replaced or already used.
    NoCeremony,
    Unavailable,
    AlreadyRegistered,
    /// The key's answer was checked and failed (with what the audit log says).
    Failed(KeyFailure, String),
}

impl SignIn {
    /// "Passcode" + "Verify" after scanning the QR code: the app's first code proves it holds the
    /// wizard's seed; the device is stored and that code's step is spent.
    pub async fn add_app_device(
        &self,
        caller: &Caller<'_>,
        wizard: &EnrollmentRow,
        code: &Passcode,
    ) -> Result<Added, Error> {
        let user_id = &caller.user.id;
        let (Some(sealed), Some(kind), Some(platform), Some(step)) = (
            wizard.totp_secret.as_deref(),
            wizard.device_kind,
            wizard.platform,
            wizard.step.moving(EnrollEvent::ActivatedApp),
        ) else {
            return Ok(Added::MovedOn);
        };
        let seed = TotpSeed::from_bytes(&self.keys.open(&seed_context(user_id), sealed)?);
        let t = self.now();
        let Verification::Accepted { step: used } = seed.verify(code, t.max(0) as u64, None) else {
            return Ok(Added::Wrong);
        };
        let name = DeviceName::suggested(kind, platform);
        // The code just used cannot be used again at the prompt.
        let device = NewDevice::app(kind, platform, name.as_str(), sealed, Some(used));
        let Some(device_id) = store::enrollments::create_device(&self.db, wizard, step, device, t).await? else {
            return Ok(Added::MovedOn);
        };
        self.attach_verified_number(wizard, &device_id).await?;
        self.audit_added(caller, &format!("device {device_id} ({}, {})", kind.as_str(), platform.as_str())).await?;
        Ok(Added::Device(device_id))
    }

    /// A phone stored with its verified number only (a landline, or a mobile without the app):
    /// `event` is what the person did (`VerifiedLandline`, `KeepsNumberOnly`).
    pub async fn add_number_device(
        &self,
        caller: &Caller<'_>,
        wizard: &EnrollmentRow,
        event: EnrollEvent,
        (number, extension): (&PhoneNumber, Option<&str>),
    ) -> Result<Added, Error> {
        let (Some(kind), Some(step)) = (wizard.device_kind, wizard.step.moving(event)) else {
            return Ok(Added::MovedOn);
        };
        let name = DeviceName::suggested(kind, Platform::Other);
        let device = NumberDevice { kind, name: name.as_str(), phone: number.e164(), extension };
        let t = self.now();
        let Some(device_id) =
            store::phone_devices::create_number_device(&self.db, &self.keys, wizard, step, device, t).await?
        else {
            return Ok(Added::MovedOn);
        };
        self.audit_added(caller, &format!("device {device_id} ({}, {})", kind.as_str(), number.masked())).await?;
        Ok(Added::Device(device_id))
    }

    /// Checks a key's answer to the registration ceremony `ceremony_id`, which is taken (deleted)
    /// first: single use. A failed check is audited.
    pub async fn verify_registration(
        &self,
        caller: &Caller<'_>,
        ceremony_id: Option<&str>,
        submitted: &str,
    ) -> Result<Result<Credential, Registration>, Error> {
        let user_id = &caller.user.id;
        let Ok(response) = serde_json::from_str::<RegisterPublicKeyCredential>(submitted) else {
            return Ok(Err(Registration::Unreadable));
        };
        let Some(ceremony) = self.take_ceremony::<RegistrationState>(user_id, REGISTER, ceremony_id).await? else {
            return Ok(Err(Registration::NoCeremony));
        };
        let Some(rp) = self.relying_party() else { return Ok(Err(Registration::Unavailable)) };
        // The browser refuses excluded keys; a response that names one anyway is refused here too.
        let new_id = credential_id_text(&response.raw_id);
        if store::webauthn::list_for_user(&self.db, user_id).await?.iter().any(|r| r.credential_id == new_id) {
            return Ok(Err(Registration::AlreadyRegistered));
        }
        match finish_registration(&rp, &ceremony, &response) {
            Ok(credential) => Ok(Ok(credential)),
            Err(e) => {
                let failure = KeyFailure::of(&e);
                let detail = format!("{}: {e:?}", failure.as_str());
                let e = entry(caller, AuditEvent::EnrollSecurityKey, Outcome::Failure, &detail);
                store::audit::record_entry(&self.db, e, self.now()).await?;
                Ok(Err(Registration::Failed(failure, detail)))
            }
        }
    }

    /// Stores a registered security key as the wizard's device, with its credential.
    pub async fn add_security_key(
        &self,
        caller: &Caller<'_>,
        wizard: &EnrollmentRow,
        credential: &Credential,
    ) -> Result<Added, Error> {
        let Some(step) = wizard.step.moving(EnrollEvent::RegisteredKey) else { return Ok(Added::MovedOn) };
        let user_id = &caller.user.id;
        let (credential_id, sealed) = self.seal_credential(user_id, credential)?;
        let name = DeviceName::suggested(DeviceKind::SecurityKey, Platform::Other);
        let device = NewDevice {
            kind: DeviceKind::SecurityKey,
            platform: Platform::Other,
            name: name.as_str(),
            login_action: LoginAction::Ask,
            totp_secret: "",
            totp_last_step: None,
            phone: None,
            extension: None,
        };
        let new = NewCredential {
            credential_id: &credential_id,
            sealed_credential: &sealed,
            sign_count: i64::from(credential.counter),
            backup_eligible: credential.backup_eligible,
            backup_state: credential.backup_state,
            user_verified: credential.user_verified,
        };
        let t = self.now();
        let device_id =
            match store::webauthn::create_device(&self.db, (&wizard.id, user_id), step, device, new, t).await {
                Ok(Some(id)) => id,
                Ok(None) => return Ok(Added::MovedOn),
                Err(StoreError::Conflict) => return Ok(Added::AlreadyRegistered),
                Err(e) => return Err(e.into()),
            };
        self.audit_added(caller, &format!("device {device_id} (security_key, credential {credential_id})")).await?;
        Ok(Added::Device(device_id))
    }

    async fn audit_added(&self, caller: &Caller<'_>, detail: &str) -> Result<(), Error> {
        let e = entry(caller, AuditEvent::EnrollDeviceAdded, Outcome::Success, detail);
        Ok(store::audit::record_entry(&self.db, e, self.now()).await?)
    }
}
