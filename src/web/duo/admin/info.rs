//! `info/summary`: how many users, administrators, applications and phones there are.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::super::ok;
use super::{answer, authorized};
use crate::domain::AdminPermission;
use crate::store;
use crate::web::state::AppState;

pub async fn summary_get(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    answer(
        async {
            authorized(&req, &body, &state, AdminPermission::ReadResource).await?;
            let users = store::users::status_counts(&state.db).await?;
            let admins = store::users::admins(&state.db).await?.len();
            Ok(ok(json!({
                "user_count": users.total,
                "admin_count": admins,
                "integration_count": store::applications::count(&state.db).await?,
                "phone_count": store::admin_phones::count_phones(&state.db).await?,
                "user_pending_deletion_count": 0,
                "telephony_credits_remaining": null,
            })))
        }
        .await,
    )
}
