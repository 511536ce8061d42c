//! The logs, read from the audit log: authentication (v2: `mintime`/`maxtime` in ms, `limit`,
//! `next_offset` = [timestamp ms, txid]; v1: since `mintime` seconds), administrator (what the
//! console and the Admin API changed) and telephony (texts and calls). Pages are ordered by time
//! then entry id, so paging is stable while new entries arrive.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::super::signed::Signed;
use super::super::{ApiResult, Fail, ok};
use super::{answer, authorized};
use crate::clock::now;
use crate::domain::{AdminPermission, AuditEvent};
use crate::store::{
    self,
    admin_logs::{Cursor, LogRow, Window},
};
use crate::web::state::AppState;

/// Entries the v1 logs give at most per call (Duo's figure).
const V1_MAX: i64 = 1000;

/// The events that are authentications, and Duo's factor for each. Every door's second factor
/// is recorded by the core under these names (the application named), so none is counted twice.
const AUTH_EVENTS: [(AuditEvent, &str); 15] = [
    (AuditEvent::MfaPasscode, "duo_mobile_passcode"),
    (AuditEvent::MfaPush, "duo_push"),
    (AuditEvent::MfaPhoneCall, "phone_call"),
    (AuditEvent::MfaSmsPasscode, "sms_passcode"),
    (AuditEvent::MfaToken, "hardware_token"),
    (AuditEvent::MfaSecurityKey, "webauthn_security_key"),
    (AuditEvent::MfaBackupCode, "bypass_code"),
    (AuditEvent::MfaTemporaryPasscode, "bypass_code"),
    (AuditEvent::MfaRecoveryPasscode, "bypass_code"),
    (AuditEvent::MfaTrustedBrowser, "remembered_device"),
    (AuditEvent::MfaMethodRefused, "not_available"),
    (AuditEvent::PushDenied, "duo_push"),
    (AuditEvent::PushFraud, "duo_push"),
    // The access rules (networks, locations, new users): Duo logs these without a factor.
    (AuditEvent::AccessDenied, "not_available"),
    (AuditEvent::AccessWithoutMfa, "not_available"),
];

/// Administrator actions and Duo's action name for each.
const ADMIN_EVENTS: [(AuditEvent, &str); 22] = [
    (AuditEvent::UserCreated, "user_create"),
    (AuditEvent::UserUpdated, "user_update"),
    (AuditEvent::UserDisabled, "user_update"),
    (AuditEvent::UserEnabled, "user_update"),
    (AuditEvent::UserGroupsChanged, "user_update"),
    (AuditEvent::AccountUnlocked, "user_update"),
    (AuditEvent::UserDeleted, "user_delete"),
    (AuditEvent::ApplicationAdded, "integration_create"),
    (AuditEvent::ApplicationRotated, "integration_update"),
    (AuditEvent::ApplicationRedirectUris, "integration_update"),
    (AuditEvent::ApplicationDeleted, "integration_delete"),
    (AuditEvent::PhoneCreated, "phone_create"),
    (AuditEvent::DevicePhoneAdded, "phone_create"),
    (AuditEvent::PhoneDeleted, "phone_delete"),
    (AuditEvent::DeviceDisabled, "phone_delete"),
    (AuditEvent::BypassIssued, "bypass_create"),
    (AuditEvent::TokenAssigned, "token_update"),
    (AuditEvent::TokenUnassigned, "token_update"),
    (AuditEvent::TokensImported, "token_create"),
    (AuditEvent::PolicyChanged, "policy_update"),
    (AuditEvent::RoleGranted, "admin_create"),
    (AuditEvent::RoleRevoked, "admin_delete"),
];

const TELEPHONY_EVENTS: [(AuditEvent, &str); 2] =
    [(AuditEvent::PhoneTextSent, "sms"), (AuditEvent::PhoneCallPlaced, "phone")];

fn names(list: &[(AuditEvent, &'static str)]) -> Vec<&'static str> {
    list.iter().map(|(e, _)| e.as_str()).collect()
}

fn word(list: &[(AuditEvent, &'static str)], event: &str) -> &'static str {
    list.iter().find(|(e, _)| e.as_str() == event).map(|(_, w)| *w).unwrap_or("")
}

/// Duo's `result` and `reason` for an authentication entry.
fn result_and_reason(event: &str, outcome: &str) -> (&'static str, &'static str) {
    let push = event == AuditEvent::MfaPush.as_str() || event.starts_with("push.");
    match (outcome, event) {
        (_, e) if e == AuditEvent::PushFraud.as_str() => ("fraud", "user_marked_fraud"),
        (_, e) if e == AuditEvent::PushDenied.as_str() => ("denied", "user_cancelled"),
        (_, e) if e == AuditEvent::AccessDenied.as_str() => ("denied", "deny_by_policy"),
        (_, e) if e == AuditEvent::AccessWithoutMfa.as_str() => ("success", "allowed_by_policy"),
        ("success", _) if push => ("success", "user_approved"),
        ("success", e) if e == AuditEvent::MfaTrustedBrowser.as_str() => ("success", "remembered_device"),
        ("success", _) => ("success", "valid_passcode"),
        (_, e) if e == AuditEvent::MfaMethodRefused.as_str() => ("denied", "factor_restricted"),
        _ if push => ("denied", "user_cancelled"),
        _ => ("denied", "invalid_passcode"),
    }
}

fn auth_entry(r: &LogRow) -> Value {
    let (result, reason) = result_and_reason(&r.event, &r.outcome);
    json!({
        "txid": r.id.to_string(),
        "timestamp": r.at,
        "isotimestamp": iso(r.at),
        "event_type": "authentication",
        "factor": word(&AUTH_EVENTS, &r.event),
        "result": result,
        "reason": reason,
        "user": { "key": r.user_id, "name": r.username },
        "application": { "key": "", "name": r.application.clone().unwrap_or_else(|| "Twofold".into()) },
        "access_device": { "ip": r.ip, "location": { "city": "", "state": "", "country": "" } },
        "auth_device": { "ip": null, "name": null, "location": { "city": "", "state": "", "country": "" } },
        "alias": "",
        "email": "",
        "ood_software": null,
        "trusted_endpoint_status": null,
    })
}

fn ms_param(signed: &Signed, name: &str) -> Result<i64, Fail> {
    signed
        .param(name)
        .ok_or_else(|| Fail::missing(name))?
        .trim()
        .parse::<i64>()
        .map_err(|_| Fail::invalid(&format!("{name} must be a Unix time in milliseconds")))
}

/// `next_offset` as duo_client sends it: the two strings repeated, or one "ms,txid" string.
fn cursor(signed: &Signed) -> Result<Option<Cursor>, Fail> {
    let values = signed.values("next_offset");
    let parts: Vec<&str> = match values.as_slice() {
        [] => return Ok(None),
        [one] => one.split(',').collect(),
        many => many.to_vec(),
    };
    let bad = || Fail::invalid("next_offset must be the [timestamp, txid] pair of the previous page");
    let [ms, id] = parts.as_slice() else { return Err(bad()) };
    let ms = ms.trim().parse::<i64>().map_err(|_| bad())?;
    let id = id.trim().parse::<i64>().map_err(|_| bad())?;
    Ok(Some(Cursor { at: ms.div_euclid(1000), id }))
}

pub async fn authentication_v2_get(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    answer(authentication_v2(&req, &body, &state).await)
}

/// The v2 logs' window: `mintime`/`maxtime` (ms), `limit` (1–1000, default 100), `sort`.
fn window_params(signed: &Signed) -> Result<(i64, i64, i64, bool), Fail> {
    let (min, max) = (ms_param(signed, "mintime")?, ms_param(signed, "maxtime")?);
    if min > max {
        return Err(Fail::invalid("mintime must not be after maxtime"));
    }
    let limit = match signed.param("limit") {
        None => 100,
        Some(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| Fail::invalid("limit must be from 1 to 1000"))?,
    };
    let newest_first = match signed.param("sort") {
        None | Some("ts:desc") => true,
        Some("ts:asc") => false,
        Some(_) => return Err(Fail::invalid("sort must be ts:desc or ts:asc")),
    };
    // Milliseconds to the seconds the audit log keeps: every entry within the window's seconds.
    let from = min.div_euclid(1000) + i64::from(min.rem_euclid(1000) != 0);
    Ok((from, max.div_euclid(1000), limit, newest_first))
}

async fn authentication_v2(req: &HttpRequest, body: &[u8], state: &AppState) -> ApiResult {
    let signed = authorized(req, body, state, AdminPermission::ReadLog).await?;
    let (from, to, limit, newest_first) = window_params(&signed)?;
    let events = names(&AUTH_EVENTS);
    let window = Window { events: &events, from, to, newest_first, after: cursor(&signed)?, limit };
    let (rows, total) = store::admin_logs::page(&state.db, window).await?;
    let next_offset = match rows.last() {
        Some(last) if rows.len() as i64 == limit => json!([(last.at * 1000).to_string(), last.id.to_string()]),
        _ => Value::Null,
    };
    let authlogs: Vec<Value> = rows.iter().map(auth_entry).collect();
    Ok(ok(json!({ "authlogs": authlogs, "metadata": { "next_offset": next_offset, "total_objects": total } })))
}

/// The telephony log v2: `items`, and `next_offset` as one "ms,id" string (duo_client passes it
/// back as it came).
pub async fn telephony_v2_get(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::ReadLog).await?;
            let (from, to, limit, newest_first) = window_params(&signed)?;
            let events = names(&TELEPHONY_EVENTS);
            let window = Window { events: &events, from, to, newest_first, after: cursor(&signed)?, limit };
            let (rows, total) = store::admin_logs::page(&state.db, window).await?;
            let next_offset = match rows.last() {
                Some(last) if rows.len() as i64 == limit => json!(format!("{},{}", last.at * 1000, last.id)),
                _ => Value::Null,
            };
            let items: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!({
                        "telephony_id": r.id.to_string(),
                        "txid": r.id.to_string(),
                        "ts": iso(r.at),
                        "context": r.detail,
                        "type": word(&TELEPHONY_EVENTS, &r.event),
                        "phone": "",
                        "credits": 1,
                    })
                })
                .collect();
            let metadata = json!({ "next_offset": next_offset, "total_objects": { "relation": "eq", "value": total } });
            Ok(ok(json!({ "items": items, "metadata": metadata })))
        }
        .await,
    )
}

/// RFC 3339 in UTC, as Duo's v2 logs write `ts`.
fn iso(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// v1 logs: entries since `mintime` (seconds), oldest first, at most 1000.
async fn since(signed: &Signed, state: &AppState, list: &[(AuditEvent, &'static str)]) -> Result<Vec<LogRow>, Fail> {
    let from = match signed.param("mintime") {
        None => 0,
        Some(v) => v.trim().parse::<i64>().map_err(|_| Fail::invalid("mintime must be a Unix time in seconds"))?,
    };
    let events = names(list);
    let window = Window { events: &events, from, to: now(), newest_first: false, after: None, limit: V1_MAX };
    Ok(store::admin_logs::page(&state.db, window).await?.0)
}

pub async fn authentication_v1_get(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::ReadLog).await?;
            let rows = since(&signed, &state, &AUTH_EVENTS).await?;
            let out: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!({
                        "timestamp": r.at,
                        "username": r.username,
                        "factor": word(&AUTH_EVENTS, &r.event),
                        "result": result_and_reason(&r.event, &r.outcome).0,
                        "ip": r.ip,
                        "integration": r.application.clone().unwrap_or_else(|| "Twofold".into()),
                        "new_enrollment": false,
                        "location": { "city": "", "state": "", "country": "" },
                    })
                })
                .collect();
            Ok(ok(json!(out)))
        }
        .await,
    )
}

pub async fn administrator_get(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::ReadLog).await?;
            let rows = since(&signed, &state, &ADMIN_EVENTS).await?;
            let out: Vec<Value> = rows
                .iter()
                .map(|r| {
                    let who = r.actor.clone().or_else(|| r.application.clone()).unwrap_or_else(|| "system".into());
                    json!({
                        "timestamp": r.at,
                        "username": who,
                        "action": word(&ADMIN_EVENTS, &r.event),
                        "object": r.username,
                        "description": r.detail,
                    })
                })
                .collect();
            Ok(ok(json!(out)))
        }
        .await,
    )
}

pub async fn telephony_get(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::ReadLog).await?;
            let rows = since(&signed, &state, &TELEPHONY_EVENTS).await?;
            let out: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!({
                        "timestamp": r.at,
                        "context": r.detail,
                        "type": word(&TELEPHONY_EVENTS, &r.event),
                        "phone": "",
                        "credits": 1,
                    })
                })
                .collect();
            Ok(ok(json!(out)))
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_become_duo_results_and_reasons() {
        assert_eq!(result_and_reason("mfa.push", "success"), ("success", "user_approved"));
        assert_eq!(result_and_reason("mfa.passcode", "failure"), ("denied", "invalid_passcode"));
        assert_eq!(result_and_reason("push.fraud", "failure"), ("fraud", "user_marked_fraud"));
        assert_eq!(word(&AUTH_EVENTS, "mfa.temporary_passcode"), "bypass_code");
        assert_eq!(word(&ADMIN_EVENTS, "user.created"), "user_create");
    }
}
