//! Sessions: actix-session over the database (revocable, shared by instances, survive restarts),
//! one typed wrapper over the session map, and the extractors that say who may reach a page.
//! Invariant: the session id is renewed after the password and again after the second factor.

use std::future::Future;
use std::pin::Pin;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError, generate_session_key};
use actix_session::{Session, SessionExt};
use actix_web::cookie::time::Duration;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use std::collections::HashMap;

use super::state::AppState;
use crate::clock::now;
use crate::domain::ReturnPath;
use crate::secrets::random_token;
use crate::store::{self, users::UserRow};
use crate::web::error::AppError;

const USER_ID: &str = "uid";
const LEVEL: &str = "level";
const STARTED: &str = "started";
const MFA_AT: &str = "mfa_at";
const CSRF: &str = "csrf";
const WIZARD: &str = "wizard";
const RETURN_TO: &str = "return_to";
const REPLACING: &str = "replacing";
/// Set on a session begun by an application's Universal Prompt request (`web::duo::authorize`):
/// such a session never counts as fully signed in to the portal.
pub const APPLICATION_FLOW: &str = "app_flow";
/// A code-flow request of the OpenID provider waiting for "Log in" (`web::app_flow::Waiting`).
const WAITING_FLOW: &str = "waiting_flow";
const FIRST_FACTOR: &str = "first_factor";
const OIDC_PENDING: &str = "oidc_pending";
const CALL: &str = "phone_call";
/// The keyed hash of the session's id, put into the map when it is loaded (never stored): the
/// core checks at the moment of an action that the session still exists.
const ROW: &str = "_row";

/// How stale a session's expiry may get before a request moves it on (one write a minute at most).
const EXTEND_EVERY_SECONDS: i64 = 60;

/// actix-session storage backed by the `sessions` table.
#[derive(Clone)]
pub struct DbSessionStore {
    pub state: web::Data<AppState>,
}

impl DbSessionStore {
    fn hash(&self, key: &SessionKey) -> String {
        self.state.keys.hash_token(key.as_ref())
    }
}

/// The map as stored: without the entries `load` adds.
fn stored(mut state: HashMap<String, String>) -> HashMap<String, String> {
    state.remove(ROW);
    state
}

fn user_of(state: &HashMap<String, String>) -> Option<String> {
    state.get(USER_ID).and_then(|v| serde_json::from_str::<String>(v).ok())
}

impl SessionStore for DbSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        let row = store::sessions::load(&self.state.db, &self.hash(key), now())
            .await
            .map_err(|e| LoadError::Other(e.into()))?;
        let Some((text, expires_at)) = row else { return Ok(None) };
        // The idle timeout moves with use, but at most once a minute: a page view is a read, not a write.
        let t = now();
        let expires = t + i64::from(self.state.settings.session.idle_timeout_minutes) * 60;
        if expires_at < expires - EXTEND_EVERY_SECONDS {
            store::sessions::extend(&self.state.db, &self.hash(key), expires)
                .await
                .map_err(|e| LoadError::Other(e.into()))?;
        }
        let mut map: HashMap<String, String> =
            serde_json::from_str(&text).map_err(|e| LoadError::Deserialization(e.into()))?;
        let row = serde_json::to_string(&self.hash(key)).map_err(|e| LoadError::Deserialization(e.into()))?;
        map.insert(ROW.to_string(), row);
        Ok(Some(map))
    }

    async fn save(&self, state: HashMap<String, String>, ttl: &Duration) -> Result<SessionKey, SaveError> {
        let state = stored(state);
        let text = serde_json::to_string(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        let key = generate_session_key();
        let t = now();
        store::sessions::insert(
            &self.state.db,
            &self.hash(&key),
            user_of(&state).as_deref(),
            &text,
            t,
            t + ttl.whole_seconds(),
        )
        .await
        .map_err(|e| SaveError::Other(e.into()))?;
        Ok(key)
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let state = stored(state);
        let text = serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let updated = store::sessions::update(
            &self.state.db,
            &self.hash(&key),
            user_of(&state).as_deref(),
            &text,
            now() + ttl.whole_seconds(),
        )
        .await
        .map_err(|e| UpdateError::Other(e.into()))?;
        if updated {
            return Ok(key);
        }
        // Ended meanwhile (logged out, revoked, expired): a request that began before must not
        // bring it back, not even under a new id. The browser gets a fresh, empty session.
        self.save(HashMap::new(), ttl).await.map_err(|e| UpdateError::Other(anyhow::anyhow!(e.to_string())))
    }

    /// Extended in `load`, at most once a minute (the idle timeout is `session.idle_timeout_minutes`).
    async fn update_ttl(&self, _key: &SessionKey, _ttl: &Duration) -> Result<(), anyhow::Error> {
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        store::sessions::delete(&self.state.db, &self.hash(key)).await?;
        Ok(())
    }
}

/// How far the holder of a session has signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthLevel {
    Anonymous,
    /// Password (first factor) only: may reach the prompt and, with no device yet, enrolment.
    Password {
        user_id: String,
    },
    /// Both factors.
    Full {
        user_id: String,
    },
    /// Came through an enrolment invitation: may use the wizard and nothing else.
    Invited {
        user_id: String,
    },
}

/// Typed access to the session map.
pub struct UserSession(Session);

impl UserSession {
    pub fn from_request(req: &HttpRequest) -> Self {
        Self(req.get_session())
    }

    /// The CSRF token for this session's forms, created on first use.
    pub fn csrf_token(&self) -> Result<String, AppError> {
        if let Ok(Some(token)) = self.0.get::<String>(CSRF) {
            return Ok(token);
        }
        let token = random_token();
        self.0.insert(CSRF, &token)?;
        Ok(token)
    }

    /// The keyed hash of this session's id as it was when the request began (`None` for a
    /// session not stored yet).
    pub fn row(&self) -> Option<String> {
        self.0.get::<String>(ROW).ok().flatten()
    }

    pub fn csrf_matches(&self, submitted: &str) -> bool {
        match self.0.get::<String>(CSRF) {
            Ok(Some(expected)) => !submitted.is_empty() && crate::secrets::constant_time_eq(&expected, submitted),
            _ => false,
        }
    }

    /// After a correct password: a new session id (no fixation), password level only.
    pub fn begin_password(&self, user_id: &str, now: i64) -> Result<(), AppError> {
        self.begin(user_id, "password", now)
    }

    /// After a sign-in at an OpenID Connect provider: exactly like a password (new id, password
    /// level only, so the prompt and enrolment follow), remembering which provider it was.
    pub fn begin_oidc(&self, user_id: &str, provider: &str, now: i64) -> Result<(), AppError> {
        self.begin(user_id, "password", now)?;
        self.0.insert(FIRST_FACTOR, format!("oidc:{provider}"))?;
        Ok(())
    }

    /// Keeps a started OpenID Connect sign-in (state, nonce, PKCE verifier) until the callback.
    pub fn set_oidc_pending(&self, pending: &crate::oidc::Pending) -> Result<(), AppError> {
        self.0.insert(OIDC_PENDING, pending)?;
        Ok(())
    }

    /// Takes the started sign-in out of the session: whatever the callback decides, it is gone.
    pub fn take_oidc_pending(&self) -> Option<crate::oidc::Pending> {
        let raw = self.0.remove(OIDC_PENDING)?;
        serde_json::from_str(&raw).ok()
    }

    /// Through an enrolment invitation: a new session id, far enough to enrol and no further
    /// (owning the mailbox is not a factor: signing in afterwards needs the password as usual).
    pub fn begin_invited(&self, user_id: &str, now: i64) -> Result<(), AppError> {
        self.begin(user_id, "invited", now)
    }

    /// A fresh session for `user_id` at `level`: new id, nothing carried over, a new CSRF token.
    fn begin(&self, user_id: &str, level: &str, now: i64) -> Result<(), AppError> {
        self.0.renew();
        self.0.clear();
        self.0.insert(USER_ID, user_id)?;
        self.0.insert(LEVEL, level)?;
        self.0.insert(STARTED, now)?;
        self.0.insert(CSRF, random_token())?;
        Ok(())
    }

    /// After a second factor (at sign-in or to step up): a new session id again, full level,
    /// and the time of the factor, which opens the step-up window.
    pub fn complete_second_factor(&self, now: i64) -> Result<(), AppError> {
        self.0.renew();
        self.0.insert(LEVEL, "full")?;
        self.0.insert(MFA_AT, now)?;
        Ok(())
    }

    /// Signed in by a trusted browser: a new session id and the full level, but no fresh second
    /// factor. The remembered factor stands in at sign-in only; seeing or changing devices, backup
    /// codes and the console still ask for a real one ("Confirm it's you").
    pub fn complete_by_trusted_browser(&self) -> Result<(), AppError> {
        self.0.renew();
        self.0.insert(LEVEL, "full")?;
        Ok(())
    }

    /// True when a second factor was given within the last `window` seconds.
    pub fn recently_verified(&self, now: i64, window: i64) -> bool {
        self.0.get::<i64>(MFA_AT).ok().flatten().is_some_and(|at| now - at < window)
    }

    /// Remembers where to return after the prompt (only plain same-origin paths are kept).
    pub fn set_return_to(&self, path: &str) -> Result<(), AppError> {
        if let Some(p) = ReturnPath::parse(path) {
            self.0.insert(RETURN_TO, p.as_str())?;
        }
        Ok(())
    }

    /// Takes the remembered path (checked again on the way out).
    pub fn take_return_to(&self) -> Option<ReturnPath> {
        let raw = self.0.remove(RETURN_TO)?;
        ReturnPath::parse(&serde_json::from_str::<String>(&raw).ok()?)
    }

    /// Remembers the enrolment wizard this session started.
    pub fn set_wizard(&self, enrollment_id: &str) -> Result<(), AppError> {
        self.0.insert(WIZARD, enrollment_id)?;
        Ok(())
    }

    /// The "Call Me" call this session is waiting for (a call placed for another session is
    /// not accepted here).
    pub fn set_call(&self, call_id: &str) -> Result<(), AppError> {
        self.0.insert(CALL, call_id)?;
        Ok(())
    }

    pub fn call(&self) -> Option<String> {
        self.0.get::<String>(CALL).ok().flatten()
    }

    pub fn wizard(&self) -> Option<String> {
        self.0.get::<String>(WIZARD).ok().flatten()
    }

    /// Signed in with a temporary or recovery passcode to replace a lost device: the wizard's
    /// last page then offers to remove the old devices.
    pub fn set_replacing(&self) -> Result<(), AppError> {
        self.0.insert(REPLACING, true)?;
        Ok(())
    }

    pub fn replacing(&self) -> bool {
        self.0.get::<bool>(REPLACING).ok().flatten().unwrap_or(false)
    }

    /// Remembers the application flow this session was begun for (`web::app_flow`).
    pub fn set_application_flow<T: serde::Serialize>(&self, flow: &T) -> Result<(), AppError> {
        self.0.insert(APPLICATION_FLOW, flow)?;
        Ok(())
    }

    pub fn set_waiting_flow<T: serde::Serialize>(&self, waiting: &T) -> Result<(), AppError> {
        self.0.insert(WAITING_FLOW, waiting)?;
        Ok(())
    }

    pub fn take_waiting_flow<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        self.0.remove_as::<T>(WAITING_FLOW)?.ok()
    }

    /// The application flow this session was begun for (`APPLICATION_FLOW`), if any.
    pub fn application_flow<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        self.0.get::<T>(APPLICATION_FLOW).ok().flatten()
    }

    /// Remembers the WebAuthn ceremony this session started (`purpose`: register or authenticate),
    /// so only this session can finish it.
    pub fn set_webauthn_ceremony(&self, purpose: &str, id: &str) -> Result<(), AppError> {
        self.0.insert(format!("webauthn_{purpose}"), id)?;
        Ok(())
    }

    /// Forgets the session's WebAuthn ceremony for `purpose` and returns its id.
    pub fn take_webauthn_ceremony(&self, purpose: &str) -> Option<String> {
        self.0.remove_as::<String>(&format!("webauthn_{purpose}"))?.ok()
    }

    /// Forgets whoever was signed in, keeping the cookie (a new id) for what comes next: a
    /// sign-in an application asked for starts afresh.
    pub fn restart(&self) {
        self.0.renew();
        self.0.clear();
    }

    pub fn logout(&self) {
        self.0.purge();
    }

    /// The current level, ending sessions past the absolute timeout.
    pub fn level(&self, state: &AppState, now: i64) -> AuthLevel {
        let user_id = self.0.get::<String>(USER_ID).ok().flatten();
        let level = self.0.get::<String>(LEVEL).ok().flatten();
        let started = self.0.get::<i64>(STARTED).ok().flatten().unwrap_or(0);
        let absolute = i64::from(state.settings.session.absolute_timeout_hours) * 3600;
        match (user_id, level.as_deref()) {
            (Some(_), _) if now >= started + absolute => {
                self.0.purge();
                AuthLevel::Anonymous
            }
            (Some(user_id), Some("full"))
                if self.0.get::<serde_json::Value>(APPLICATION_FLOW).ok().flatten().is_some() =>
            {
                AuthLevel::Password { user_id }
            }
            (Some(user_id), Some("full")) => AuthLevel::Full { user_id },
            (Some(user_id), Some("password")) => AuthLevel::Password { user_id },
            (Some(user_id), Some("invited")) => AuthLevel::Invited { user_id },
            _ => AuthLevel::Anonymous,
        }
    }
}

type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// The signed-in user; an invitation session counts as not signed in here.
async fn load_user(req: &HttpRequest) -> Result<(UserRow, UserSession, bool), AppError> {
    let (user, session, full, invited) = load_any(req).await?;
    if invited {
        return Err(AppError::LoginRequired);
    }
    Ok((user, session, full))
}

/// A signed-in user with at least a password. Handlers that take it are the prompt and enrolment.
pub struct PasswordAuthed {
    pub user: UserRow,
    pub session: UserSession,
    pub full: bool,
    /// Came through an invitation: only the wizard may accept this (see `AuthLevel::Invited`).
    pub invited: bool,
    pub csrf: String,
}

/// A user who has passed both factors.
pub struct FullyAuthed {
    pub user: UserRow,
    pub session: UserSession,
    pub csrf: String,
}

/// The application state (registered by `app::server`; missing only through a wiring mistake).
fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("AppState is not registered")))
}

/// Remembers a page someone was sent away from, to bring them back after signing in.
fn remember(req: &HttpRequest, session: &UserSession) -> Result<(), AppError> {
    if req.method() == actix_web::http::Method::GET {
        session.set_return_to(req.path())?;
    }
    Ok(())
}

/// The signed-in user, whether both factors were given, and whether the session is an invitation.
async fn load_any(req: &HttpRequest) -> Result<(UserRow, UserSession, bool, bool), AppError> {
    let state = app_state(req)?;
    let session = UserSession::from_request(req);
    let (user_id, full, invited) = match session.level(&state, now()) {
        AuthLevel::Anonymous => {
            remember(req, &session)?;
            return Err(AppError::LoginRequired);
        }
        AuthLevel::Password { user_id } => (user_id, false, false),
        AuthLevel::Full { user_id } => (user_id, true, false),
        AuthLevel::Invited { user_id } => (user_id, false, true),
    };
    match store::users::by_id(&state.db, &user_id).await? {
        Some(user) if user.is_active() => Ok((user, session, full, invited)),
        // Deleted or disabled since sign-in: the session is over.
        _ => {
            session.logout();
            Err(AppError::LoginRequired)
        }
    }
}

impl FromRequest for PasswordAuthed {
    type Error = AppError;
    type Future = LocalFuture<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let (user, session, full, invited) = load_any(&req).await?;
            let csrf = session.csrf_token()?;
            Ok(Self { user, session, full, invited, csrf })
        })
    }
}

impl FromRequest for FullyAuthed {
    type Error = AppError;
    type Future = LocalFuture<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let (user, session, full) = load_user(&req).await?;
            if !full {
                remember(&req, &session)?;
                return Err(AppError::SecondFactorRequired);
            }
            let csrf = session.csrf_token()?;
            Ok(Self { user, session, csrf })
        })
    }
}

/// A user who gave a second factor within the step-up window: needed to see and change devices.
/// Otherwise the prompt comes first ("Confirm it's you"), then the user returns here.
pub struct SteppedUp {
    pub user: UserRow,
    pub session: UserSession,
    pub csrf: String,
}

impl FromRequest for SteppedUp {
    type Error = AppError;
    type Future = LocalFuture<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let (user, session, full) = load_user(&req).await?;
            let state = app_state(&req)?;
            let window = i64::from(state.policy().await?.step_up_minutes) * 60;
            if !full || !session.recently_verified(now(), window) {
                remember(&req, &session)?;
                return Err(AppError::SecondFactorRequired);
            }
            let csrf = session.csrf_token()?;
            Ok(Self { user, session, csrf })
        })
    }
}
