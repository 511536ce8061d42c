//! One error type for the web layer. `?` converts into it; people see a plain page with a support
//! id, the log gets the cause chain under the same id. Never a stack trace, never a secret.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::store::StoreError;
use crate::web::chrome::{Chrome, ErrorPage};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Not signed in: go to the login page.
    #[error("login required")]
    LoginRequired,
    /// Signed in with a password only: go to the prompt first.
    #[error("second factor required")]
    SecondFactorRequired,
    /// Redirect elsewhere (e.g. the wizard is at another step).
    #[error("redirect to {0}")]
    Redirect(String),
    #[error("the form's security token is missing or wrong")]
    Csrf,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// A request we can explain in words (shown as is).
    #[error("{title}: {message}")]
    Explained { status: StatusCode, title: &'static str, message: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<crate::signin::Error> for AppError {
    fn from(e: crate::signin::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<crate::openid::Error> for AppError {
    fn from(e: crate::openid::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<crate::secrets::OpenError> for AppError {
    fn from(e: crate::secrets::OpenError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<crate::secrets::SealError> for AppError {
    fn from(e: crate::secrets::SealError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<actix_session::SessionInsertError> for AppError {
    fn from(e: actix_session::SessionInsertError) -> Self {
        AppError::Internal(anyhow::anyhow!(e.to_string()))
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(e.into())
    }
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::LoginRequired | AppError::SecondFactorRequired | AppError::Redirect(_) => StatusCode::SEE_OTHER,
            AppError::Csrf | AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Explained { status, .. } => *status,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, message, support_id) = match self {
            AppError::LoginRequired => return see_other("/login"),
            AppError::SecondFactorRequired => return see_other("/prompt"),
            AppError::Redirect(to) => return see_other(to),
            AppError::Csrf => (
                "This form has expired",
                "For your security, the form you sent could not be accepted. Go back, reload the page and try again."
                    .to_string(),
                None,
            ),
            AppError::Forbidden => ("Not allowed", "You do not have access to this page.".to_string(), None),
            AppError::NotFound => (
                "Page not found",
                "There is no page at this address. Check the address, or go to the start page.".to_string(),
                None,
            ),
            AppError::Explained { title, message, .. } => (*title, message.clone(), None),
            AppError::Internal(cause) => {
                let id = crate::web::served::current_id();
                tracing::error!(support_id = %id, error = ?cause, "request failed");
                (
                    "Something went wrong",
                    "We could not complete your request. Try again in a moment. If it keeps happening, \
                     give this support ID to your help desk."
                        .to_string(),
                    Some(id),
                )
            }
        };
        let page =
            ErrorPage { chrome: Chrome::for_error(), title, message: &message, support_id: support_id.as_deref() };
        let body = page.render().unwrap_or_else(|_| title.to_string());
        let mut response = HttpResponse::build(self.status_code()).body(body);
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        response
    }
}
