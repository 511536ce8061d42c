//! Reading a signed Auth API request: the date (with skew), the application by integration key,
//! the signature (v5, v2 SHA-512, v2 SHA-1), and then the parameters from the query, a form body
//! or a JSON body. A request that fails any check gets the same 401.

use actix_web::HttpRequest;
use actix_web::http::header;
use serde_json::Value;

use super::Fail;
use crate::clock::now;
use crate::duo::signature::{self, Request};
use crate::store::{self, applications::ApplicationRow};
use crate::web::state::AppState;

/// The kind of application whose keys sign Auth API requests.
pub const AUTH_API: &str = "auth-api";
/// The kind of application whose keys sign Admin API requests.
pub const ADMIN_API: &str = "admin-api";

/// A verified request: which application, and its parameters.
pub struct Signed {
    pub app: ApplicationRow,
    params: Vec<(String, String)>,
}

impl Signed {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// Every value of a repeated parameter (`next_offset=…&next_offset=…`), in the order sent.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.params.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
}

fn text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn decode(text: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(text.as_bytes()).into_owned().collect()
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A request signed with the keys of an Auth API application.
pub async fn verify(req: &HttpRequest, body: &[u8], state: &AppState) -> Result<Signed, Fail> {
    verify_for(req, body, state, AUTH_API).await
}

/// A request signed with the keys of an application of `kind`: the keys of another kind sign
/// nothing here (an Auth API key on the Admin API gets the same 401 as an unknown key).
pub async fn verify_for(req: &HttpRequest, body: &[u8], state: &AppState, kind: &str) -> Result<Signed, Fail> {
    let bad = || Fail::unauthorized("Invalid signature in request credentials");
    // The signed date: X-Duo-Date when present, else Date (the raw text is what was signed).
    let date = header(req, "x-duo-date")
        .or_else(|| header(req, header::DATE.as_str()))
        .ok_or_else(|| Fail::unauthorized("Missing request credentials"))?;
    let authorization =
        header(req, header::AUTHORIZATION.as_str()).ok_or_else(|| Fail::unauthorized("Missing request credentials"))?;
    let at = signature::parse_date(date).ok_or_else(bad)?;
    if (now() - at).abs() > i64::from(state.settings.duo.clock_skew_seconds) {
        return Err(Fail::unauthorized("Request date is too far from the server's time"));
    }
    let (ikey, sig) = signature::parse_authorization(authorization).ok_or_else(bad)?;
    // Keys of another kind of application (a Universal Prompt web application) sign nothing here.
    let app =
        store::applications::by_integration_key(&state.db, &ikey).await?.filter(|a| a.kind == kind).ok_or_else(bad)?;
    let secret = state.keys.open(&format!("app-secret:{}", app.id), &app.secret_key).map_err(|_| Fail::internal())?;
    let secret = String::from_utf8(secret.to_vec()).map_err(|_| Fail::internal())?;

    let query = decode(req.query_string());
    let content_type = header(req, header::CONTENT_TYPE.as_str()).unwrap_or("").to_ascii_lowercase();
    let is_json = content_type.starts_with("application/json");
    let form = if !is_json && !body.is_empty() { decode(&String::from_utf8_lossy(body)) } else { Vec::new() };
    let host = state.api_hostname();
    let x_duo_headers = req
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-duo-"))
        .filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())))
        .collect();
    let signed = Request {
        method: req.method().as_str(),
        host: &host,
        path: req.path(),
        params: query.iter().chain(form.iter()).cloned().collect(),
        date,
        body,
        x_duo_headers,
    };
    let Some(version) = signature::verify(&signed, &query, &secret, &sig) else {
        return Err(bad());
    };
    // Only a v5 signature covers a JSON body (its hash is signed); a v2 signature covers the
    // query and form parameters alone, so a JSON body's parameters would be used unsigned.
    if is_json && !body.is_empty() && version != signature::Version::V5 {
        return Err(Fail::unauthorized("A JSON body must be signed with a v5 signature"));
    }
    // Counted once the signature is good: nobody else can spend an application's budget.
    super::limits::count(state, &app).await?;
    let mut params = signed.params;
    if is_json && !body.is_empty() {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return Err(Fail::invalid("the body must be a JSON object"));
        };
        for (k, v) in map {
            match v {
                // A list (Duo's `next_offset`) is the same parameter repeated.
                Value::Array(items) => {
                    for item in items {
                        params.push((k.clone(), text(item)));
                    }
                }
                other => params.push((k, text(other))),
            }
        }
    }
    Ok(Signed { app, params })
}
