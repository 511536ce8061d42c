//! Web Push for the app: its VAPID key, its subscription (signed by the device key), and the
//! notification sent when a push request is made. Delivery is best effort: the open app's polling
//! is the fallback, and a failed send never fails the sign-in.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::{ApiError, signed_by};
use crate::channels::web_push::{vapid_key, vapid_public_key};
use crate::clock::now;
use crate::store;
use crate::web::state::AppState;

/// How far the app's clock may be from ours.
const CLOCK_SKEW: i64 = 300;

pub async fn vapid_get(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let key = vapid_key(&state.keys).ok_or_else(|| ApiError::internal("no VAPID key"))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "public_key": vapid_public_key(&key) })))
}

#[derive(Deserialize)]
pub struct SubscribeBody {
    device_id: String,
    timestamp: i64,
    endpoint: String,
    p256dh: String,
    auth: String,
    signature: String,
}

/// The message the app signs to subscribe.
pub fn subscribe_message(device_id: &str, timestamp: i64, endpoint: &str) -> String {
    format!("twofold-push-subscribe\n{device_id}\n{timestamp}\n{endpoint}")
}

pub async fn subscribe_post(
    state: web::Data<AppState>,
    body: web::Json<SubscribeBody>,
) -> Result<HttpResponse, ApiError> {
    let t = now();
    if (t - body.timestamp).abs() > CLOCK_SKEW {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "stale",
            "The device's clock is wrong; set it automatically.",
        ));
    }
    let message = subscribe_message(&body.device_id, body.timestamp, &body.endpoint);
    let key = signed_by(&state, &body.device_id, &message, &body.signature).await?;
    let endpoint = url::Url::parse(&body.endpoint).ok().filter(|u| state.settings.push.allows_endpoint(u));
    if endpoint.is_none() || body.p256dh.len() > 200 || body.auth.len() > 100 {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_subscription", "The subscription is not valid."));
    }
    store::push_devices::set_subscription(&state.db, &key.device_id, &body.endpoint, &body.p256dh, &body.auth, t)
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "subscribed": true })))
}
