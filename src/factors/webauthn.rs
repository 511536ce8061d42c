//! Security keys and passkeys through webauthn-rs: the relying party (id and origin from
//! `public_url`), the two ceremonies, and what each failure means. No I/O: the store keeps state.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;
use webauthn_rs::prelude::{
    AuthenticationResult, CreationChallengeResponse, Credential, CredentialID, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, SecurityKey,
    SecurityKeyAuthentication, SecurityKeyRegistration, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

use crate::config::webauthn::{UserVerification, WebauthnSettings};

/// The relying party for this server: its id is `public_url`'s domain and the only origin
/// accepted is `public_url` itself (a response made for any other origin or id is refused).
/// None when `public_url` is not a domain name (browsers refuse IP addresses as relying parties).
pub fn relying_party(public_url: &Url, settings: &WebauthnSettings, name: &str) -> Option<Webauthn> {
    let rp_id = public_url.domain()?;
    WebauthnBuilder::new(rp_id, public_url)
        .ok()?
        .rp_name(name)
        .timeout(Duration::from_secs(u64::from(settings.timeout_seconds)))
        .build()
        .ok()
}

/// The user handle given to authenticators: derived from the user id, so it is stable but does
/// not reveal the id itself.
pub fn user_handle(user_id: &str) -> Uuid {
    let digest = Sha256::digest(format!("twofold-webauthn-user:{user_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

/// How a credential id is written in the database and in logs.
pub fn credential_id_text(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

/// A registration in progress, kept server-side. `Required` user verification uses the
/// passkey ceremony (UV enforced by the library); `Preferred` the security-key one.
#[derive(Serialize, Deserialize)]
pub enum RegistrationState {
    SecurityKey(SecurityKeyRegistration),
    Passkey(PasskeyRegistration),
}

#[derive(Serialize, Deserialize)]
pub enum AuthenticationState {
    SecurityKey(SecurityKeyAuthentication),
    Passkey(PasskeyAuthentication),
}

/// The account a registration is for.
pub struct Registrant<'a> {
    pub user_id: &'a str,
    pub username: &'a str,
    pub display_name: &'a str,
}

/// Starts a registration. The user's existing credentials are excluded, so a key already
/// registered is refused by the browser instead of being stored twice.
pub fn start_registration(
    rp: &Webauthn,
    uv: UserVerification,
    who: &Registrant<'_>,
    exclude: Vec<CredentialID>,
) -> Result<(CreationChallengeResponse, RegistrationState), WebauthnError> {
    let handle = user_handle(who.user_id);
    let exclude = if exclude.is_empty() { None } else { Some(exclude) };
    match uv {
        UserVerification::Required => rp
            .start_passkey_registration(handle, who.username, who.display_name, exclude)
            .map(|(ccr, s)| (ccr, RegistrationState::Passkey(s))),
        UserVerification::Preferred => {
            let (mut ccr, state) =
                rp.start_securitykey_registration(handle, who.username, who.display_name, exclude, None, None)?;
            // credProtect "userVerificationRequired" would make a key without a PIN unusable, which
            // "preferred" must not do; Chromium also refuses it unless verification is required.
            if let Some(extensions) = ccr.public_key.extensions.as_mut() {
                extensions.cred_protect = None;
            }
            Ok((ccr, RegistrationState::SecurityKey(state)))
        }
    }
}

pub fn finish_registration(
    rp: &Webauthn,
    state: &RegistrationState,
    response: &RegisterPublicKeyCredential,
) -> Result<Credential, WebauthnError> {
    match state {
        RegistrationState::Passkey(s) => rp.finish_passkey_registration(response, s).map(Credential::from),
        RegistrationState::SecurityKey(s) => rp.finish_securitykey_registration(response, s).map(Credential::from),
    }
}

/// Starts a sign-in with the given credentials (the user's usable keys).
pub fn start_authentication(
    rp: &Webauthn,
    uv: UserVerification,
    credentials: &[Credential],
) -> Result<(RequestChallengeResponse, AuthenticationState), WebauthnError> {
    match uv {
        UserVerification::Required => {
            let keys: Vec<Passkey> = credentials.iter().cloned().map(Passkey::from).collect();
            rp.start_passkey_authentication(&keys).map(|(rcr, s)| (rcr, AuthenticationState::Passkey(s)))
        }
        UserVerification::Preferred => {
            let keys: Vec<SecurityKey> = credentials.iter().cloned().map(SecurityKey::from).collect();
            rp.start_securitykey_authentication(&keys).map(|(rcr, s)| (rcr, AuthenticationState::SecurityKey(s)))
        }
    }
}

/// Verifies an assertion against the ceremony it answers: challenge, origin, relying party id,
/// signature, user presence (and verification when required) and the signature counter.
pub fn finish_authentication(
    rp: &Webauthn,
    state: &AuthenticationState,
    response: &PublicKeyCredential,
) -> Result<AuthenticationResult, WebauthnError> {
    match state {
        AuthenticationState::Passkey(s) => rp.finish_passkey_authentication(response, s),
        AuthenticationState::SecurityKey(s) => rp.finish_securitykey_authentication(response, s),
    }
}

/// The credential with its counter, user-verified and backup flags updated after a sign-in.
pub fn updated(credential: &Credential, result: &AuthenticationResult) -> Credential {
    let mut key = SecurityKey::from(credential.clone());
    key.update_credential(result);
    let mut updated = Credential::from(key);
    updated.backup_state = result.backup_state();
    updated.backup_eligible = result.backup_eligible();
    updated
}

/// What a failed check means, for the audit log and the message on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The signature counter did not move forward: the key may have been cloned.
    CounterRegression,
    /// User verification (PIN, fingerprint) was required and not done.
    NotVerified,
    /// Made for another site or origin.
    WrongSite,
    /// Registration: the key is one the user already has (it was in the excluded list).
    AlreadyRegistered,
    /// Anything else: a bad signature, a wrong or reused challenge, a malformed response.
    Invalid,
}

impl Failure {
    pub fn of(error: &WebauthnError) -> Self {
        match error {
            WebauthnError::CredentialPossibleCompromise => Failure::CounterRegression,
            WebauthnError::CredentialAlreadyExists => Failure::AlreadyRegistered,
            WebauthnError::UserNotVerified => Failure::NotVerified,
            WebauthnError::InvalidRPOrigin | WebauthnError::InvalidRPIDHash | WebauthnError::CredentialCrossOrigin => {
                Failure::WrongSite
            }
            _ => Failure::Invalid,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Failure::CounterRegression => "signature counter went backwards (possible clone)",
            Failure::NotVerified => "user verification missing",
            Failure::WrongSite => "wrong origin or relying party",
            Failure::AlreadyRegistered => "key already registered",
            Failure::Invalid => "invalid response",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> WebauthnSettings {
        WebauthnSettings::default()
    }

    #[test]
    fn the_relying_party_needs_a_domain_name() {
        let https = Url::parse("https://mfa.example.edu").unwrap();
        assert!(relying_party(&https, &settings(), "Example").is_some());
        let local = Url::parse("http://localhost:8080").unwrap();
        assert!(relying_party(&local, &settings(), "Example").is_some());
        let ip = Url::parse("http://127.0.0.1:8080").unwrap();
        assert!(relying_party(&ip, &settings(), "Example").is_none(), "browsers refuse IP addresses");
    }

    #[test]
    fn user_handles_are_stable_and_do_not_show_the_id() {
        let id = "00112233445566778899aabbccddeeff";
        assert_eq!(user_handle(id), user_handle(id));
        assert_ne!(user_handle(id), user_handle("another"));
        assert!(!user_handle(id).simple().to_string().contains(id));
    }

    #[test]
    fn registration_options_carry_a_fresh_challenge_and_exclude_existing_keys() {
        let url = Url::parse("https://mfa.example.edu").unwrap();
        let rp = relying_party(&url, &settings(), "Example").unwrap();
        let who = Registrant { user_id: "u1", username: "ada", display_name: "Ada" };
        let (first, _) = start_registration(&rp, UserVerification::Preferred, &who, vec![vec![1, 2, 3]]).unwrap();
        let (second, _) = start_registration(&rp, UserVerification::Required, &who, vec![]).unwrap();
        let a = serde_json::to_value(&first).unwrap();
        let b = serde_json::to_value(&second).unwrap();
        let challenge = a["publicKey"]["challenge"].as_str().unwrap();
        assert!(URL_SAFE_NO_PAD.decode(challenge).unwrap().len() >= 16, "at least 128 bits");
        assert_ne!(challenge, b["publicKey"]["challenge"].as_str().unwrap());
        assert_eq!(a["publicKey"]["rp"]["id"], "mfa.example.edu");
        assert_eq!(a["publicKey"]["excludeCredentials"][0]["id"], "AQID");
        assert_eq!(a["publicKey"]["authenticatorSelection"]["userVerification"], "preferred");
        assert!(a["publicKey"]["extensions"].get("credentialProtectionPolicy").is_none());
        assert_eq!(b["publicKey"]["authenticatorSelection"]["userVerification"], "required");
    }

    #[test]
    fn failures_are_told_apart() {
        assert_eq!(Failure::of(&WebauthnError::CredentialPossibleCompromise), Failure::CounterRegression);
        assert_eq!(Failure::of(&WebauthnError::InvalidRPOrigin), Failure::WrongSite);
        assert_eq!(Failure::of(&WebauthnError::UserNotVerified), Failure::NotVerified);
        assert_eq!(Failure::of(&WebauthnError::MismatchedChallenge), Failure::Invalid);
    }
}
