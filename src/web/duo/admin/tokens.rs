//! `tokens`: the hardware-token inventory. List (or by type and serial), get, create (one token,
//! checked and sealed as a token file's line is), and resync an HOTP token with three
//! consecutive passcodes.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::super::{ApiResult, Fail, ok};
use super::{answer, audit, authorized, objects, page_of, required};
use crate::clock::now;
use crate::domain::token::{TokenKind, parse_fields};
use crate::domain::{AdminPermission, AuditEvent, Passcode};
use crate::store::{self, tokens::TokenRow};
use crate::tokens::{ImportError, TokenCheck, check, check_pair};
use crate::web::state::AppState;

async fn object(state: &AppState, t: &TokenRow) -> Result<Value, Fail> {
    let users = match &t.user_id {
        Some(id) if t.status == "assigned" => {
            store::users::by_id(&state.db, id).await?.iter().map(objects::user_brief).collect()
        }
        _ => Vec::new(),
    };
    Ok(objects::token(t, users))
}

pub async fn list_get(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::ReadResource).await?;
            let rows = match signed.param("serial") {
                Some(serial) => store::tokens::by_serial(&state.db, serial).await?.into_iter().collect(),
                None => store::tokens::inventory(&state.db, 100_000).await?.1,
            };
            let wanted_type = signed.param("type");
            let mut out = Vec::with_capacity(rows.len());
            for t in rows.iter().filter(|t| wanted_type.is_none_or(|w| objects::token_type(t) == w)) {
                out.push(object(&state, t).await?);
            }
            page_of(&signed, out)
        }
        .await,
    )
}

pub async fn get(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            authorized(&req, &body, &state, AdminPermission::ReadResource).await?;
            let t = store::tokens::by_id(&state.db, &id).await?.ok_or_else(|| Fail::not_found("Resource not found"))?;
            Ok(ok(object(&state, &t).await?))
        }
        .await,
    )
}

pub async fn create_post(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    answer(create(&req, &body, &state).await)
}

/// Duo's `type` as the token file's columns: h6/h8 HOTP, t6/t8 TOTP, yk Yubico OTP.
fn columns(duo_type: &str) -> Result<(TokenKind, &'static str), Fail> {
    match duo_type {
        "h6" => Ok((TokenKind::Hotp, "6")),
        "h8" => Ok((TokenKind::Hotp, "8")),
        "t6" => Ok((TokenKind::Totp, "6")),
        "t8" => Ok((TokenKind::Totp, "8")),
        "yk" => Ok((TokenKind::Yubico, "")),
        _ => Err(Fail::invalid("type must be h6, h8, t6, t8 or yk (Duo-D100 tokens are not supported)")),
    }
}

async fn create(req: &HttpRequest, body: &[u8], state: &AppState) -> ApiResult {
    let signed = authorized(req, body, state, AdminPermission::WriteResource).await?;
    let (kind, digits) = columns(required(&signed, "type")?)?;
    let param = |name: &str| signed.param(name).unwrap_or("").to_string();
    let field = |name: &str| -> String {
        match name {
            "type" => kind.as_str().to_string(),
            "digits" => digits.to_string(),
            "period" => param("totp_step"),
            // Duo names the YubiKey's modhex public id after its serial.
            "public_id" => String::new(),
            other => param(other),
        }
    };
    let row = parse_fields(&field).map_err(|e| Fail::invalid(&e.0))?;
    let serial = row.serial.clone();
    match crate::tokens::import(&state.db, &state.keys, &[row], &super::by(&signed), now()).await {
        Ok(_) => {}
        Err(ImportError::Lines(lines)) => {
            let message = lines.first().map(|l| l.message.clone()).unwrap_or_default();
            return Err(Fail::invalid(&message));
        }
        Err(ImportError::Store(e)) => return Err(e.into()),
        Err(ImportError::Seal(_)) => return Err(Fail::internal()),
    }
    audit(state, req, &signed, None, AuditEvent::TokensImported, &format!("1 token (serial {serial})")).await?;
    let t = store::tokens::by_serial(&state.db, &serial).await?.ok_or_else(Fail::internal)?;
    Ok(ok(object(state, &t).await?))
}

/// Three consecutive passcodes: the first two move the counter as the console's resync does, the
/// third must be the very next one (so a lucky pair alone does not resync).
pub async fn resync_post(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    answer(
        async {
            let signed = authorized(&req, &body, &state, AdminPermission::WriteResource).await?;
            let token =
                store::tokens::by_id(&state.db, &id).await?.ok_or_else(|| Fail::not_found("Resource not found"))?;
            if token.kind != TokenKind::Hotp.as_str() || token.status != "assigned" {
                return Err(Fail::invalid("only an assigned HOTP token can be resynchronised"));
            }
            let code = |name: &str| -> Result<Passcode, Fail> {
                Passcode::parse(required(&signed, name)?).map_err(|e| Fail::invalid(&e.to_string()))
            };
            let (a, b, c) = (code("code1")?, code("code2")?, code("code3")?);
            let window = state.settings.tokens.hotp_resync_window;
            let refused = || Fail::invalid("those passcodes do not resynchronise this token");
            let TokenCheck::Accepted { new_counter } =
                check_pair(&state.keys, &token, &a, &b, window).map_err(|_| Fail::internal())?
            else {
                return Err(refused());
            };
            let moved = TokenRow { counter: new_counter, ..token.clone() };
            match check(&state.keys, &moved, &c, now(), 1).map_err(|_| Fail::internal())? {
                TokenCheck::Accepted { new_counter: after } if after == new_counter + 1 => {
                    if !store::tokens::advance_counter(&state.db, &token.id, after, now()).await? {
                        return Err(refused());
                    }
                }
                _ => return Err(refused()),
            }
            let user = match &token.user_id {
                Some(uid) => store::users::by_id(&state.db, uid).await?,
                None => None,
            };
            let detail = format!("serial {}", token.serial);
            audit(&state, &req, &signed, user.as_ref(), AuditEvent::TokenResynchronised, &detail).await?;
            Ok(ok(json!("")))
        }
        .await,
    )
}
