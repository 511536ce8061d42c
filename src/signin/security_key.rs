//! "Use a security key", at every door that has a browser: the relying party, ceremony state
//! (sealed in the database, single use: taken before anything is verified), stored credentials,
//! and the sign-in assertion. A refused key counts towards the lockout like a wrong passcode.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use webauthn_rs::prelude::{Credential, PublicKeyCredential, RequestChallengeResponse, Webauthn};

use crate::config::webauthn::CounterRegression;
use crate::domain::AuditEvent;
use crate::domain::policy::Method;
use crate::factors::webauthn::{
    AuthenticationState, Failure as KeyFailure, credential_id_text, finish_authentication, relying_party,
    start_authentication, updated,
};
use crate::store::attempts::{Check, Consume, KeyUse};
use crate::store::audit::Outcome;
use crate::store::{self, webauthn::CredentialRow};

use super::attempt::{Failure, Kind, entry};
use super::verdict::{Accepted, Caller, Factor, Verdict};
use super::{Error, SignIn};

/// Ceremony purposes (one ceremony of each kind per user at a time).
pub const REGISTER: &str = "register";
pub const AUTHENTICATE: &str = "authenticate";

fn state_context(user_id: &str, purpose: &str) -> String {
    format!("webauthn-state:{user_id}:{purpose}")
}

/// The context a credential is sealed under: a sealed credential copied to another row does not open.
pub fn credential_context(user_id: &str, credential_id: &str) -> String {
    format!("webauthn-credential:{user_id}:{credential_id}")
}

/// Why no sign-in ceremony was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionsRefusal {
    Locked,
    NotAllowed,
    /// No relying party: `public_url` is not a domain name.
    Unavailable,
    NoKeys,
}

/// Why a security key did not sign in (beside the verdict), for the words on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    Unreadable,
    /// Expired, replaced or already used.
    NoCeremony,
    NotRegistered,
    Unavailable,
    Failed(KeyFailure),
    /// Another sign-in used the same answer at the same moment.
    UsedMeanwhile,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOutcome {
    pub verdict: Verdict,
    pub problem: Option<KeyProblem>,
}

impl SignIn {
    /// The relying party for this server, or None when `public_url` is not a domain name.
    pub fn relying_party(&self) -> Option<Webauthn> {
        relying_party(&self.public_url, &self.settings.webauthn, &self.settings.institution.name)
    }

    /// Stores a new ceremony (replacing the user's earlier one for the same purpose), sealed;
    /// returns its id, which the door keeps (in the session) so only it can finish the ceremony.
    pub async fn begin_ceremony<T: Serialize>(&self, user_id: &str, purpose: &str, value: &T) -> Result<String, Error> {
        let json = serde_json::to_vec(value).map_err(|e| Error::Other(e.to_string()))?;
        let sealed = self.keys.seal(&state_context(user_id, purpose), &json)?;
        let t = self.now();
        let expires = t + i64::from(self.settings.webauthn.timeout_seconds) + 30;
        Ok(store::webauthn::put_ceremony(&self.db, user_id, purpose, &sealed, t, expires).await?)
    }

    /// Takes the ceremony `id`: consumed before anything is verified, so it answers once.
    pub async fn take_ceremony<T: DeserializeOwned>(
        &self,
        user_id: &str,
        purpose: &str,
        id: Option<&str>,
    ) -> Result<Option<T>, Error> {
        let Some(id) = id else { return Ok(None) };
        let Some(sealed) = store::webauthn::take_ceremony(&self.db, (user_id, purpose, id), self.now()).await? else {
            return Ok(None);
        };
        let json = self.keys.open(&state_context(user_id, purpose), &sealed)?;
        Ok(serde_json::from_slice(&json).ok())
    }

    /// A stored credential, opened.
    pub fn open_credential(&self, row: &CredentialRow) -> Result<Credential, Error> {
        let json = self.keys.open(&credential_context(&row.user_id, &row.credential_id), &row.sealed_credential)?;
        serde_json::from_slice(&json).map_err(|e| Error::Other(format!("stored credential: {e}")))
    }

    /// (credential id, sealed credential) for storing.
    pub fn seal_credential(&self, user_id: &str, credential: &Credential) -> Result<(String, String), Error> {
        let id = URL_SAFE_NO_PAD.encode(&credential.cred_id);
        let json = serde_json::to_vec(credential).map_err(|e| Error::Other(e.to_string()))?;
        Ok((id.clone(), self.keys.seal(&credential_context(user_id, &id), &json)?))
    }

    /// The user's keys that may sign in: all of them, or, when the policy disables possibly
    /// cloned keys, those never flagged.
    async fn usable_keys(&self, user_id: &str) -> Result<Vec<CredentialRow>, Error> {
        let disable = self.settings.webauthn.counter_regression == CounterRegression::Disable;
        let rows = store::webauthn::list_for_user(&self.db, user_id).await?;
        Ok(rows.into_iter().filter(|r| !(disable && r.flagged_at.is_some())).collect())
    }

    /// Starts a sign-in ceremony: the options for `navigator.credentials.get` and the
    /// ceremony's id.
    pub async fn security_key_options(
        &self,
        caller: &Caller<'_>,
    ) -> Result<Result<(RequestChallengeResponse, String), OptionsRefusal>, Error> {
        let user = caller.user;
        if self.lock(user).await?.is_locked() {
            return Ok(Err(OptionsRefusal::Locked));
        }
        if !super::allowed::method_allowed(self, caller, Method::SecurityKey).await? {
            return Ok(Err(OptionsRefusal::NotAllowed));
        }
        let Some(rp) = self.relying_party() else { return Ok(Err(OptionsRefusal::Unavailable)) };
        let rows = self.usable_keys(&user.id).await?;
        let credentials = rows.iter().map(|r| self.open_credential(r)).collect::<Result<Vec<_>, _>>()?;
        if credentials.is_empty() {
            return Ok(Err(OptionsRefusal::NoKeys));
        }
        let (options, ceremony) = start_authentication(&rp, self.settings.webauthn.user_verification, &credentials)
            .map_err(|e| Error::Other(format!("starting a WebAuthn sign-in: {e:?}")))?;
        let id = self.begin_ceremony(&user.id, AUTHENTICATE, &ceremony).await?;
        Ok(Ok((options, id)))
    }

    /// Checks a key's answer to the ceremony `ceremony_id`. The ceremony is single use, so the
    /// assertion is verified before the attempt is reserved (there is nothing to guess: one
    /// answer per challenge); using the key (its counter moves on) is the attempt itself.
    pub async fn security_key(
        &self,
        caller: &Caller<'_>,
        ceremony_id: Option<&str>,
        submitted: &str,
    ) -> Result<KeyOutcome, Error> {
        if !super::allowed::method_allowed(self, caller, Method::SecurityKey).await? {
            let verdict = self.refuse_method(caller, Method::SecurityKey).await?;
            return Ok(KeyOutcome { verdict, problem: None });
        }
        let (problem, detail, candidate) = match self.verify_assertion(caller, ceremony_id, submitted).await? {
            Ok((key, accepted)) => (None, String::new(), Some((Consume::SecurityKey(key), accepted))),
            Err((problem, detail)) => (Some(problem), detail, None),
        };
        let check = move || Check { candidates: candidate.into_iter().collect(), ..Check::default() };
        let failure = Failure {
            event: AuditEvent::MfaSecurityKey,
            reason: detail,
            replay: Some("used by another sign-in at the same moment".into()),
        };
        let verdict = self.attempt(caller, Kind::Guess, failure, check).await?;
        let problem = match (&verdict, problem) {
            (Verdict::Replayed { .. }, None) => Some(KeyProblem::UsedMeanwhile),
            (_, problem) => problem,
        };
        Ok(KeyOutcome { verdict, problem })
    }

    /// The assertion checked against the ceremony and the stored key: what to store when it
    /// signs in, or why not (with the audit detail).
    async fn verify_assertion(
        &self,
        caller: &Caller<'_>,
        ceremony_id: Option<&str>,
        submitted: &str,
    ) -> Result<Result<(KeyUse, Accepted), (KeyProblem, String)>, Error> {
        let user_id = &caller.user.id;
        let Ok(response) = serde_json::from_str::<PublicKeyCredential>(submitted) else {
            return Ok(Err((KeyProblem::Unreadable, "unreadable response".into())));
        };
        // Consumed before verification: a replayed or second answer finds no ceremony.
        let Some(ceremony) = self.take_ceremony::<AuthenticationState>(user_id, AUTHENTICATE, ceremony_id).await?
        else {
            let detail = "no ceremony in progress (expired, replaced or already used)";
            return Ok(Err((KeyProblem::NoCeremony, detail.into())));
        };
        let credential_id = credential_id_text(&response.raw_id);
        let rows = self.usable_keys(user_id).await?;
        let Some(row) = rows.into_iter().find(|r| r.credential_id == credential_id) else {
            let detail = format!("credential {credential_id} is not registered to this user");
            return Ok(Err((KeyProblem::NotRegistered, detail)));
        };
        let Some(rp) = self.relying_party() else {
            return Ok(Err((KeyProblem::Unavailable, "no relying party".into())));
        };
        let result = match finish_authentication(&rp, &ceremony, &response) {
            Ok(r) => r,
            Err(e) => {
                let failure = KeyFailure::of(&e);
                if failure == KeyFailure::CounterRegression {
                    let t = self.now();
                    store::webauthn::flag(&self.db, &row.id, t).await?;
                    let detail = format!(
                        "device {}, credential {credential_id}: signature counter went backwards",
                        row.device_id
                    );
                    let e = entry(caller, AuditEvent::SecurityKeyCloneWarning, Outcome::Failure, &detail);
                    store::audit::record_entry(&self.db, e, t).await?;
                }
                let detail = format!("credential {credential_id}: {}", failure.as_str());
                return Ok(Err((KeyProblem::Failed(failure), detail)));
            }
        };
        let credential = updated(&self.open_credential(&row)?, &result);
        let (_, sealed) = self.seal_credential(user_id, &credential)?;
        let key = KeyUse {
            credential_row_id: row.id.clone(),
            device_id: row.device_id.clone(),
            read_sign_count: row.sign_count,
            sealed_credential: sealed,
            sign_count: i64::from(credential.counter),
            backup_eligible: credential.backup_eligible,
            backup_state: credential.backup_state,
            user_verified: result.user_verified(),
        };
        let detail = format!("device {}, credential {credential_id}", row.device_id);
        Ok(Ok((key, Accepted { factor: Factor::SecurityKey, detail })))
    }
}
