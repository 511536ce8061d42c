//! CSRF protection for every state-changing form: a per-session token in a hidden field, compared
//! in constant time. `CsrfForm<T>` is the only way handlers read a form, so none can forget it.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::de::DeserializeOwned;

use super::session::UserSession;
use crate::web::error::AppError;

/// A form that carries the `csrf_token` field.
pub trait CsrfProtected {
    fn csrf_token(&self) -> &str;
}

/// A form whose fields are not known in advance (a checkbox per policy rule or per group): the
/// token is its `csrf_token` field, checked like any other form's.
impl CsrfProtected for std::collections::HashMap<String, String> {
    fn csrf_token(&self) -> &str {
        self.get("csrf_token").map(String::as_str).unwrap_or("")
    }
}

/// A URL-encoded form whose CSRF token was checked before the handler runs.
pub struct CsrfForm<T>(pub T);

impl<T> FromRequest for CsrfForm<T>
where
    T: DeserializeOwned + CsrfProtected + 'static,
{
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let form = web::Form::<T>::from_request(&req, payload);
        Box::pin(async move {
            let form = form.await.map_err(form_error)?.into_inner();
            if !UserSession::from_request(&req).csrf_matches(form.csrf_token()) {
                tracing::warn!("form rejected: CSRF token missing or wrong");
                return Err(AppError::Csrf);
            }
            Ok(CsrfForm(form))
        })
    }
}

fn form_error(err: actix_web::Error) -> AppError {
    use actix_web::error::UrlencodedError;
    use actix_web::http::StatusCode;
    match err.as_error::<UrlencodedError>() {
        Some(UrlencodedError::Overflow { .. } | UrlencodedError::Payload(_)) => AppError::Explained {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            title: "That form is too large",
            message: "What you sent is larger than this form accepts. Shorten it and try again.".into(),
        },
        Some(UrlencodedError::ContentType) => AppError::Explained {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            title: "Unsupported form",
            message: "This page accepts only forms sent by a browser.".into(),
        },
        // Anything else that does not parse is treated like a forged form: nothing is processed.
        _ => AppError::Csrf,
    }
}

/// Declares forms: `csrf_form!(LoginForm { username: String, password: String });`
#[macro_export]
macro_rules! csrf_form {
    ($name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(serde::Deserialize)]
        pub struct $name {
            #[serde(default)]
            pub csrf_token: String,
            $(#[serde(default)] pub $field: $ty,)*
        }
        impl $crate::web::csrf::CsrfProtected for $name {
            fn csrf_token(&self) -> &str {
                &self.csrf_token
            }
        }
    };
}
