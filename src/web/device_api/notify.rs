//! Web Push for the app: its VAPID key, its subscription (signed by the device key), and the
//! notification sent when a push request is made. Delivery is best effort: the open app's polling
//! is the fallback, and a failed send never fails the sign-in.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::{ApiError, signed_by};
use crate::channels::web_push::{self, Subscription, vapid_key, vapid_public_key};
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

/// Notifies the user's subscribed apps of a new request (in the background; errors are logged).
/// The payload carries only the request id: the app fetches the details itself, signed.
/// Tracked, so a graceful stop still delivers the notice of a push made just before it.
pub(crate) fn notify_new_request(state: web::Data<AppState>, user_id: String, request_id: String) {
    let shutdown = state.shutdown.clone();
    shutdown.spawn(async move {
        if let Err(e) = send_all(&state, &user_id, &request_id).await {
            tracing::warn!(error = %e, "web push: could not notify");
        }
    });
}

async fn send_all(state: &AppState, user_id: &str, request_id: &str) -> anyhow::Result<()> {
    let subscriptions = store::push_devices::subscriptions_for_user(&state.db, user_id).await?;
    if subscriptions.is_empty() {
        return Ok(());
    }
    let key = vapid_key(&state.keys).ok_or_else(|| anyhow::anyhow!("no VAPID key"))?;
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()?;
    let subject = state.public_url.as_str().trim_end_matches('/').to_string();
    let payload = serde_json::json!({ "type": "push", "request_id": request_id }).to_string();
    for s in subscriptions {
        let sub = Subscription { endpoint: &s.endpoint, p256dh: &s.p256dh, auth: &s.auth };
        match web_push::send(&client, &key, &subject, &sub, payload.as_bytes(), now()).await {
            Ok(()) => {}
            Err(web_push::WebPushError::Refused(404 | 410)) => {
                store::push_devices::remove_subscription(&state.db, &s.device_id).await?;
            }
            Err(e) => tracing::warn!(device = %s.device_id, error = %e, "web push: send failed"),
        }
    }
    Ok(())
}
