//! The SCIM door, `/scim/v2/` (RFC 7644): bearer-token authentication, the query parameters and
//! bodies in, `application/scim+json` out. What each request does is `crate::scim`'s.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

use crate::domain::scim::{ResourceKind, ScimError};
use crate::scim::{self, Caller, ListParams, discovery, groups, users};
use crate::web::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/scim/v2")
            .app_data(web::PayloadConfig::default().limit(crate::web::body::SCIM_BODY))
            .route("/ServiceProviderConfig", web::get().to(service_provider_config))
            .route("/ServiceProviderConfig", web::route().to(read_only))
            .route("/Schemas", web::get().to(schemas))
            .route("/Schemas", web::route().to(read_only))
            .route("/Schemas/{id}", web::get().to(schema))
            .route("/Schemas/{id}", web::route().to(read_only))
            .route("/ResourceTypes", web::get().to(resource_types))
            .route("/ResourceTypes", web::route().to(read_only))
            .route("/ResourceTypes/{id}", web::get().to(resource_type))
            .route("/ResourceTypes/{id}", web::route().to(read_only))
            .route("/.search", web::post().to(search_all))
            .route("/Users", web::get().to(list_users))
            .route("/Users", web::post().to(create_user))
            .route("/Users/.search", web::post().to(search_users))
            .route("/Users/{id}", web::get().to(get_user))
            .route("/Users/{id}", web::put().to(replace_user))
            .route("/Users/{id}", web::patch().to(patch_user))
            .route("/Users/{id}", web::delete().to(delete_user))
            .route("/Groups", web::get().to(list_groups))
            .route("/Groups", web::post().to(create_group))
            .route("/Groups/.search", web::post().to(search_groups))
            .route("/Groups/{id}", web::get().to(get_group))
            .route("/Groups/{id}", web::put().to(replace_group))
            .route("/Groups/{id}", web::patch().to(patch_group))
            .route("/Groups/{id}", web::delete().to(delete_group))
            .default_service(web::to(unknown)),
    );
}

#[derive(Debug, Deserialize)]
pub struct Query {
    filter: Option<String>,
    #[serde(rename = "startIndex")]
    start_index: Option<String>,
    count: Option<String>,
    attributes: Option<String>,
    #[serde(rename = "excludedAttributes")]
    excluded: Option<String>,
}

impl Query {
    fn params(&self) -> Result<ListParams, ScimError> {
        ListParams::parse(
            self.filter.as_deref(),
            self.start_index.as_deref(),
            self.count.as_deref(),
            self.attributes.as_deref(),
            self.excluded.as_deref(),
        )
    }
}

fn answer(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status).content_type("application/scim+json").body(body.to_string())
}

fn refused(e: &ScimError) -> HttpResponse {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = answer(status, &e.body());
    if e.status == 401 {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    }
    response
}

fn reply(result: Result<Value, ScimError>) -> HttpResponse {
    match result {
        Ok(body) => answer(StatusCode::OK, &body),
        Err(e) => refused(&e),
    }
}

async fn caller(req: &HttpRequest, state: &AppState) -> Result<Caller, ScimError> {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token);
    scim::authenticate(state, bearer, crate::web::client_ip(req)).await
}

fn json_body(body: &[u8]) -> Result<Value, ScimError> {
    serde_json::from_slice(body).map_err(|e| ScimError::invalid_syntax(format!("The body is not valid JSON: {e}")))
}

/// The discovery endpoints need a connector's token too (they say nothing secret, but a
/// door that answers strangers only helps them find it).
async fn service_provider_config(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    reply(caller(&req, &state).await.map(|c| discovery::service_provider_config(&c.base)))
}

async fn schemas(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    reply(caller(&req, &state).await.map(|c| discovery::schemas(&c.base)))
}

async fn schema(req: HttpRequest, state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    reply(async { discovery::schema(&caller(&req, &state).await?.base, &id) }.await)
}

async fn resource_types(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    reply(caller(&req, &state).await.map(|c| discovery::resource_types(&c.base)))
}

async fn resource_type(req: HttpRequest, state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    reply(async { discovery::resource_type(&caller(&req, &state).await?.base, &id) }.await)
}

async fn list_users(req: HttpRequest, state: web::Data<AppState>, q: web::Query<Query>) -> HttpResponse {
    reply(async { users::list(&state, &caller(&req, &state).await?, &q.params()?).await }.await)
}

/// Searching users and groups at once is not supported (RFC 7644 §3.4.3 allows 501).
async fn search_all(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Err(e) = caller(&req, &state).await {
        return refused(&e);
    }
    let e = ScimError {
        status: 501,
        scim_type: None,
        detail: "Search /Users/.search or /Groups/.search; one search across both is not supported.".into(),
    };
    refused(&e)
}

async fn search_users(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    reply(
        async {
            let caller = caller(&req, &state).await?;
            users::list(&state, &caller, &ListParams::from_search(&json_body(&body)?)?).await
        }
        .await,
    )
}

async fn search_groups(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    reply(
        async {
            let caller = caller(&req, &state).await?;
            groups::list(&state, &caller, &ListParams::from_search(&json_body(&body)?)?).await
        }
        .await,
    )
}

async fn get_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<Query>,
) -> HttpResponse {
    reply(async { users::get(&state, &caller(&req, &state).await?, &id, &q.params()?).await }.await)
}

fn created(kind: ResourceKind, result: Result<Value, ScimError>) -> HttpResponse {
    match result {
        Ok(body) => {
            let mut response = answer(StatusCode::CREATED, &body);
            let location = body.pointer("/meta/location").and_then(Value::as_str).unwrap_or_default();
            if let Ok(value) = header::HeaderValue::from_str(location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            tracing::debug!(kind = kind.name(), "SCIM resource created");
            response
        }
        Err(e) => refused(&e),
    }
}

async fn create_user(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    created(
        ResourceKind::User,
        async { users::create(&state, &caller(&req, &state).await?, &json_body(&body)?).await }.await,
    )
}

async fn replace_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    reply(async { users::replace(&state, &caller(&req, &state).await?, &id, &json_body(&body)?).await }.await)
}

async fn patch_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    reply(async { users::patch(&state, &caller(&req, &state).await?, &id, &json_body(&body)?).await }.await)
}

async fn delete_user(req: HttpRequest, state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    deleted(async { users::delete(&state, &caller(&req, &state).await?, &id).await }.await)
}

fn deleted(result: Result<(), ScimError>) -> HttpResponse {
    match result {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => refused(&e),
    }
}

async fn list_groups(req: HttpRequest, state: web::Data<AppState>, q: web::Query<Query>) -> HttpResponse {
    reply(async { groups::list(&state, &caller(&req, &state).await?, &q.params()?).await }.await)
}

async fn get_group(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<Query>,
) -> HttpResponse {
    reply(async { groups::get(&state, &caller(&req, &state).await?, &id, &q.params()?).await }.await)
}

async fn create_group(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    created(
        ResourceKind::Group,
        async { groups::create(&state, &caller(&req, &state).await?, &json_body(&body)?).await }.await,
    )
}

async fn replace_group(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    reply(async { groups::replace(&state, &caller(&req, &state).await?, &id, &json_body(&body)?).await }.await)
}

async fn patch_group(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    reply(async { groups::patch(&state, &caller(&req, &state).await?, &id, &json_body(&body)?).await }.await)
}

async fn delete_group(req: HttpRequest, state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    deleted(async { groups::delete(&state, &caller(&req, &state).await?, &id).await }.await)
}

/// The discovery endpoints are read-only (RFC 7644 §4: 405 for anything but GET).
async fn read_only() -> HttpResponse {
    let e = ScimError { status: 405, scim_type: None, detail: "This endpoint only answers GET.".into() };
    let mut response = refused(&e);
    response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("GET"));
    response
}

async fn unknown() -> HttpResponse {
    refused(&ScimError::not_found("No such SCIM endpoint."))
}
