//! A user's bypass codes: Twofold's temporary passcodes, issued through the same core call as
//! the console's "Issue temporary passcode" (same limits, audit entry and email to the user).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::super::signed::Signed;
use super::super::{Fail, ok};
use super::{answer, authorized, by, managed_user_at, page_of, user_at};
use crate::clock::now;
use crate::domain::AdminPermission;
use crate::signin::bypass::{Issue, Issuer};
use crate::store;
use crate::web::client_ip;
use crate::web::state::AppState;

/// The console's bounds: at most 10 codes, 10 uses each, 72 hours.
const MAX_COUNT: i64 = 10;
const MAX_USES: i64 = 10;
const MAX_SECS: i64 = 72 * 3600;
/// Duo's default is 10 codes; Twofold's console issues one. The API follows Duo.
const DEFAULT_COUNT: i64 = 10;
/// Duo's default never expires; Twofold's codes always do: an hour, as in the console.
const DEFAULT_SECS: i64 = 3600;

fn number(
    signed: &Signed,
    name: &str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
    why: &str,
) -> Result<i64, Fail> {
    match signed.param(name) {
        None => Ok(default),
        Some(v) => v.trim().parse::<i64>().ok().filter(|n| range.contains(n)).ok_or_else(|| Fail::invalid(why)),
    }
}

pub async fn create_post(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::GrantBypass).await?;
            let user = managed_user_at(&state, &id).await?;
            if signed.param("codes").is_some() {
                return Err(Fail::invalid("codes chosen by the caller are not supported; Twofold generates them"));
            }
            let count = number(&signed, "count", DEFAULT_COUNT, 1..=MAX_COUNT, "count must be from 1 to 10")?;
            let uses = number(
                &signed,
                "reuse_count",
                1,
                1..=MAX_USES,
                "reuse_count must be from 1 to 10 (0, unlimited, is not supported)",
            )?;
            let secs = number(
                &signed,
                "valid_secs",
                DEFAULT_SECS,
                1..=MAX_SECS,
                "valid_secs must be from 1 to 259200 (0, never expires, is not supported)",
            )?;
            let who = by(&signed);
            let ip = client_ip(&req);
            let issuer = Issuer { staff_id: None, name: &who, application: Some(&signed.app.name), ip: ip.as_deref() };
            let reason = "Admin API";
            let issue = Issue { count: count as usize, uses, expires_at: now() + secs, reason };
            let codes = state.issue_temporary_passcodes(&user, &issuer, &issue).await.map_err(Fail::from_core)?;
            Ok(ok(json!(codes)))
        }
        .await,
    )
}

/// The user's usable codes, without the codes (only their hashes are stored).
pub async fn list_get(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::ReadResource).await?;
            let user = user_at(&state, &id).await?;
            let codes = store::one_time_codes::usable(&state.db, &user.id, now()).await?;
            let out = codes
                .iter()
                .filter(|c| c.kind == "helpdesk")
                .map(|c| {
                    json!({
                        "bypass_code_id": c.id,
                        "created_on": c.created_at,
                        "expiration": c.expires_at,
                        "reuse_count": c.uses_left,
                        "admin_email": null,
                        "user": { "user_id": user.id, "username": user.username },
                    })
                })
                .collect();
            page_of(&signed, out)
        }
        .await,
    )
}
