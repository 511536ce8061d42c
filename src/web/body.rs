//! Request bodies are read in full, within a deadline, before anything else looks at the request.
//! The session and the signed-in user are loaded after the body has arrived, so a request whose
//! headers came before a lock-out or a log-out and whose body comes after meets the account and
//! the session as they are then. A body that trickles in (a byte every few seconds) is cut off
//! at the deadline with 408 instead of holding a connection and a worker's memory for ever.

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web::BytesMut;
use actix_web::{HttpMessage, HttpResponse, ResponseError, web};
use futures_util::StreamExt;

use crate::web::state::AppState;

/// The largest body most routes take (forms, Duo's API, the authenticator's JSON).
const SMALL_BODY: usize = 64 * 1024;
/// The console's CSV uploads (users, hardware tokens): 8 MB files and the form around them.
const UPLOAD_BODY: usize = 9 * 1024 * 1024;
const UPLOADS: [&str; 2] = ["/admin/import", "/admin/tokens"];
/// SCIM requests may carry a whole group's members.
pub(crate) const SCIM_BODY: usize = 2 * 1024 * 1024;
/// Past the configured deadline, a large upload gets one more second per this many bytes.
const SLOWEST_UPLOAD_BYTES_PER_SECOND: u64 = 64 * 1024;
/// However large the body, no request may take longer to arrive than this.
const LONGEST: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
enum BodyError {
    #[error("the request body did not arrive in time")]
    TooSlow { json: bool },
    #[error("the request body is too large")]
    TooLarge { json: bool },
    #[error("the request body could not be read")]
    Broken { json: bool },
}

impl ResponseError for BodyError {
    fn status_code(&self) -> StatusCode {
        match self {
            BodyError::TooSlow { .. } => StatusCode::REQUEST_TIMEOUT,
            BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Broken { .. } => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (json, code, words) = match self {
            BodyError::TooSlow { json } => (
                *json,
                "timeout",
                "Your browser did not finish sending the form in time. Check your connection and try again.",
            ),
            BodyError::TooLarge { json } => (*json, "too_large", "What was sent is too large for this page."),
            BodyError::Broken { json } => (*json, "bad_request", "What was sent could not be read. Try again."),
        };
        let mut response = if json {
            HttpResponse::build(self.status_code()).json(serde_json::json!({ "error": code, "message": words }))
        } else {
            let page = crate::web::error::AppError::Explained {
                status: self.status_code(),
                title: "The request could not be read",
                message: words.into(),
            };
            page.error_response()
        };
        // The connection may still carry the rest of a body nobody will read.
        response.head_mut().set_connection_type(actix_web::http::ConnectionType::Close);
        response
    }
}

/// APIs answer in JSON, pages in HTML.
fn is_api(path: &str) -> bool {
    ["/auth/", "/oauth/", "/device/", "/scim/"].iter().any(|p| path.starts_with(p))
}

/// Reads the whole body (see the module's comment), then hands the request on with it.
pub async fn read_first(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.call(req).await;
    }
    let json = is_api(req.path());
    let cap = if UPLOADS.contains(&req.path()) {
        UPLOAD_BODY
    } else if req.path().starts_with("/scim/") {
        SCIM_BODY
    } else {
        SMALL_BODY
    };
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(BodyError::TooLarge { json }.into());
    }
    let base = req
        .app_data::<web::Data<AppState>>()
        .map(|s| Duration::from_secs(s.settings.http.body_timeout_seconds.into()))
        .unwrap_or(Duration::from_secs(10));
    let extra = Duration::from_secs(declared.unwrap_or(0) / SLOWEST_UPLOAD_BYTES_PER_SECOND);
    let deadline = (base + extra).min(LONGEST);
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    let read = async {
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| BodyError::Broken { json })?;
            if body.len() + chunk.len() > cap {
                return Err(BodyError::TooLarge { json });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(())
    };
    match tokio::time::timeout(deadline, read).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e.into()),
        Err(_) => {
            tracing::info!(path = %req.path(), received = body.len(), "request body too slow: cut off");
            return Err(BodyError::TooSlow { json }.into());
        }
    }
    req.set_payload(actix_web::dev::Payload::from(body.freeze()));
    next.call(req).await
}
