//! What the provider's ID tokens say: the standard claims, and `amr`/`acr` from the factor the
//! user gave (its audit event's name, as the sign-in's code keeps it).

use serde_json::{Value, json};

/// Entra's `acr` for an External Authentication Method: the second factor was possession or
/// inherence (never knowledge).
pub const ENTRA_ACR: &str = "possessionorinherence";

/// RFC 8176 method references for a factor (by its audit event). Pushes are a software-protected
/// key in the app (`swk`); app, backup, help-desk and recovery passcodes are `otp`; a hardware
/// token's passcode is `otp` from a `hwk`; a security key is a `hwk`; texts `sms`; calls `tel`.
/// Nothing for a sign-in with no second factor given now (a trusted browser, or the access rules).
pub fn amr(factor: &str) -> Vec<&'static str> {
    match factor {
        "mfa.push" => vec!["swk"],
        "mfa.passcode" | "mfa.backup_code" | "mfa.temporary_passcode" | "mfa.recovery_passcode" => vec!["otp"],
        "mfa.token" => vec!["otp", "hwk"],
        "mfa.security_key" => vec!["hwk"],
        "mfa.sms_passcode" => vec!["sms"],
        "mfa.phone_call" => vec!["tel"],
        _ => vec![],
    }
}

/// Whether the factor is a second factor given now (what Entra may be told satisfies MFA).
pub fn is_second_factor(factor: &str) -> bool {
    !amr(factor).is_empty()
}

/// The claims every ID token has.
pub struct IdToken<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub subject: &'a str,
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    pub now: i64,
    pub lifetime: i64,
}

/// The ID token of an ordinary relying party: the password and the second factor (`mfa`), or the
/// password alone when the access rules let the sign-in through.
pub fn id_token(t: &IdToken<'_>, factor: &str, profile: Option<Value>) -> Value {
    let mut methods = vec!["pwd"];
    let second = amr(factor);
    if !second.is_empty() {
        methods.extend(second);
        methods.push("mfa");
    }
    let mut claims = base(t);
    claims["amr"] = json!(methods);
    if let Some(Value::Object(extra)) = profile {
        for (k, v) in extra {
            claims[k] = v;
        }
    }
    claims
}

/// The ID token Entra receives: its own user's `sub`, the method in `amr`, and its `acr`.
pub fn entra_id_token(t: &IdToken<'_>, factor: &str) -> Value {
    let mut claims = base(t);
    claims["amr"] = json!(amr(factor));
    claims["acr"] = json!(ENTRA_ACR);
    claims
}

fn base(t: &IdToken<'_>) -> Value {
    let mut claims = json!({
        "iss": t.issuer,
        "aud": t.audience,
        "sub": t.subject,
        "iat": t.now,
        "nbf": t.now,
        "exp": t.now + t.lifetime,
        "auth_time": t.auth_time,
    });
    if let Some(nonce) = t.nonce {
        claims["nonce"] = json!(nonce);
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_second_factor_has_a_method_reference_and_nothing_else_does() {
        for (factor, expected) in [
            ("mfa.push", vec!["swk"]),
            ("mfa.passcode", vec!["otp"]),
            ("mfa.token", vec!["otp", "hwk"]),
            ("mfa.security_key", vec!["hwk"]),
            ("mfa.sms_passcode", vec!["sms"]),
            ("mfa.phone_call", vec!["tel"]),
            ("mfa.trusted_browser", vec![]),
            ("access.allowed_without_mfa", vec![]),
        ] {
            assert_eq!(amr(factor), expected, "{factor}");
        }
        assert!(!is_second_factor("mfa.trusted_browser"));
    }

    #[test]
    fn ordinary_and_entra_tokens_carry_their_claims() {
        let t = IdToken {
            issuer: "https://mfa.example.edu",
            audience: "client",
            subject: "u1",
            nonce: Some("n"),
            auth_time: 10,
            now: 20,
            lifetime: 600,
        };
        let rp = id_token(&t, "mfa.push", Some(json!({ "preferred_username": "ada" })));
        assert_eq!(rp["amr"], json!(["pwd", "swk", "mfa"]));
        assert_eq!((rp["exp"].as_i64(), rp["nonce"].as_str()), (Some(620), Some("n")));
        assert_eq!(rp["preferred_username"], "ada");
        assert_eq!(id_token(&t, "access.allowed_without_mfa", None)["amr"], json!(["pwd"]));
        let entra = entra_id_token(&t, "mfa.phone_call");
        assert_eq!((entra["amr"].clone(), entra["acr"].clone()), (json!(["tel"]), json!("possessionorinherence")));
    }
}
