//! A sign-in an application began (Universal Prompt): the session it started reaches only the
//! prompt (and enrolment when needed), and ends when the second factor is given, with a code for
//! the application instead of a portal session. The Universal Prompt's front channel begins it;
//! the prompt finishes it. Kept in the server-side session.

use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::duo::universal::{AuthorizeRequest, CODE_SECONDS};
use crate::secrets::random_token;
use crate::signin::Application;
use crate::store::{self, universal_codes::NewCode, users::UserRow};
use crate::web::error::{AppError, see_other};
use crate::web::session::{APPLICATION_FLOW, UserSession};
use crate::web::state::AppState;

/// The application flow a session was begun for.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Flow {
    application_id: String,
    user_id: String,
    request: AuthorizeRequest,
}

/// Remembers in a session just begun (at the password level) that it is for an application.
pub fn begin(
    session: &UserSession,
    application_id: &str,
    user_id: &str,
    request: AuthorizeRequest,
) -> Result<(), AppError> {
    let flow = Flow { application_id: application_id.into(), user_id: user_id.into(), request };
    session.set_application_flow(&flow)
}

/// The application a session's sign-in continues to, if an application began it.
pub async fn application(state: &AppState, session: &UserSession) -> Result<Option<Application>, AppError> {
    let Some(flow) = session.application_flow::<Flow>() else { return Ok(None) };
    Ok(store::applications::by_id(&state.db, &flow.application_id).await?.map(|a| Application {
        scope: crate::signin::access::registered_scope(&a.id),
        name: a.name,
        integration_key: a.integration_key,
    }))
}

/// Called once a second factor is accepted (`factor`: its audit event's name), or the access rules
/// let the sign-in through without one, *before* the session is upgraded. For a session an
/// application began it issues the code, ends the session (it never becomes a portal session)
/// and returns where the browser goes next; otherwise `None`.
pub async fn finish(
    req: &HttpRequest,
    state: &AppState,
    user: &UserRow,
    factor: &str,
    ip: Option<&str>,
    t: i64,
) -> Result<Option<HttpResponse>, AppError> {
    let session = req.get_session();
    let Ok(Some(flow)) = session.get::<Flow>(APPLICATION_FLOW) else { return Ok(None) };
    session.purge();
    let app = store::applications::by_id(&state.db, &flow.application_id).await?;
    let (Some(app), true) = (app, flow.user_id == user.id) else {
        return Err(AppError::Explained {
            status: StatusCode::BAD_REQUEST,
            title: "This sign-in request cannot be used",
            message: "The application is no longer registered. Go back to the application and sign in again.".into(),
        });
    };
    let code = random_token();
    let r = &flow.request;
    let new = NewCode {
        code_hash: &state.keys.hash_token(&code),
        application_id: &app.id,
        user_id: &user.id,
        username: &user.username,
        redirect_uri: &r.redirect_uri,
        state: &r.state,
        nonce: r.nonce.as_deref(),
        use_duo_code: r.use_duo_code,
        factor,
        ip,
    };
    store::universal_codes::insert(&state.db, new, t, t + CODE_SECONDS).await?;
    // Through a page of ours: the prompt's form may only lead to us (CSP form-action 'self'
    // covers every redirect after a form post).
    Ok(Some(see_other(&format!("/oauth/v1/continue?code={code}"))))
}
