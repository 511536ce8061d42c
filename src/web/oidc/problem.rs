//! The page shown when a sign-in through a provider does not end in a session: one clear
//! explanation per cause (the words are in templates/login/oidc_problem.html), never a 500.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::web::chrome::Chrome;
use crate::web::error::AppError;
use crate::web::session::UserSession;
use crate::web::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The user declined at the provider (`error=access_denied`).
    Denied,
    /// The provider sent another error, or no code.
    ProviderError,
    /// Wrong, missing, old or replayed state, or a code the provider no longer accepts.
    Expired,
    /// Discovery, keys or the token endpoint unreachable.
    Unreachable,
    /// The ID token failed verification.
    BadToken,
    /// No Twofold account for this person (and none may be created).
    NotSetUp,
    /// Not in an allowed group.
    NotAllowed,
    /// The username names an account linked to another identity at the provider.
    Mismatch,
    Disabled,
}

impl Problem {
    fn status(self) -> StatusCode {
        match self {
            Problem::Denied | Problem::ProviderError | Problem::Expired => StatusCode::BAD_REQUEST,
            Problem::Unreachable => StatusCode::BAD_GATEWAY,
            Problem::BadToken => StatusCode::UNAUTHORIZED,
            Problem::NotSetUp | Problem::NotAllowed | Problem::Mismatch | Problem::Disabled => StatusCode::FORBIDDEN,
        }
    }
}

#[derive(Template)]
#[template(path = "login/oidc_problem.html")]
pub struct OidcProblemPage {
    chrome: Chrome,
    problem: Problem,
    provider: String,
    help_desk: String,
}

pub fn problem_page(
    req: &HttpRequest,
    state: &AppState,
    provider: &str,
    problem: Problem,
) -> Result<HttpResponse, AppError> {
    let csrf = UserSession::from_request(req).csrf_token()?;
    let page = OidcProblemPage {
        chrome: Chrome::new(state, None, &csrf),
        problem,
        provider: provider.to_string(),
        help_desk: state.settings.institution.help_desk.clone(),
    };
    Ok(HttpResponse::build(problem.status()).content_type("text/html; charset=utf-8").body(page.render()?))
}
