//! The devices `preauth` lists, as Duo does: phones and tokens with what each really supports
//! (`auto`, `push`, `sms`, `phone`, `mobile_otp`); security keys are not listed (no ceremony here).

use serde_json::{Value, json};

use crate::domain::DeviceKind;
use crate::store::{self, StoreError, devices::DeviceRow};
use crate::web::state::AppState;

/// What a device can do for an application.
#[derive(Debug, Default, PartialEq)]
pub struct Capabilities {
    pub push: bool,
    pub sms: bool,
    pub phone: bool,
    pub mobile_otp: bool,
}

impl Capabilities {
    /// `kind` as stored; `number` the device's E.164 number ("" when none).
    pub fn of(kind: DeviceKind, number: &str, has_seed: bool, push: bool) -> Self {
        let token = kind == DeviceKind::HardwareToken;
        Self {
            push,
            sms: kind == DeviceKind::MobilePhone && !number.is_empty(),
            phone: !number.is_empty(),
            mobile_otp: has_seed || token,
        }
    }

    /// Duo's list, in Duo's order; `auto` when a push or a call can be made.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.push || self.phone {
            names.push("auto");
        }
        for (on, name) in
            [(self.push, "push"), (self.sms, "sms"), (self.phone, "phone"), (self.mobile_otp, "mobile_otp")]
        {
            if on {
                names.push(name);
            }
        }
        names
    }
}

/// The user's devices in preauth's format (numbers masked: preauth needs no second factor).
pub async fn list(state: &AppState, user_id: &str, devices: &[DeviceRow]) -> Result<Vec<Value>, StoreError> {
    let push_ids = store::push_devices::push_device_ids(&state.db, user_id).await?;
    let phones = store::phone_devices::for_user(&state.db, &state.keys, user_id).await?;
    Ok(devices
        .iter()
        .filter(|d| d.kind != DeviceKind::SecurityKey)
        .map(|d| {
            let number = phones.iter().find(|p| p.id == d.id).map(|p| p.phone.as_str()).unwrap_or("");
            let caps = Capabilities::of(d.kind, number, !d.totp_secret.is_empty(), push_ids.contains(&d.id));
            let token = d.kind == DeviceKind::HardwareToken;
            let label = if token { "Token".to_string() } else { d.platform.label().to_string() };
            let masked = if number.is_empty() { String::new() } else { crate::domain::phone::mask(number) };
            let display =
                if masked.is_empty() { format!("{} ({label})", d.name) } else { format!("{} ({masked})", d.name) };
            json!({
                "device": d.id,
                "type": if token { "token" } else { "phone" },
                "number": masked,
                "name": d.name,
                "display_name": display,
                "capabilities": caps.names(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::Capabilities;
    use crate::domain::DeviceKind;

    #[test]
    fn each_kind_of_device_offers_what_it_really_supports() {
        let app_mobile = Capabilities::of(DeviceKind::MobilePhone, "+41791234567", true, true);
        assert_eq!(app_mobile.names(), ["auto", "push", "sms", "phone", "mobile_otp"]);
        let mobile_without_app = Capabilities::of(DeviceKind::MobilePhone, "+41791234567", true, false);
        assert_eq!(mobile_without_app.names(), ["auto", "sms", "phone", "mobile_otp"]);
        assert_eq!(Capabilities::of(DeviceKind::Landline, "+41332234567", false, false).names(), ["auto", "phone"]);
        assert_eq!(Capabilities::of(DeviceKind::Tablet, "", true, false).names(), ["mobile_otp"]);
        assert_eq!(Capabilities::of(DeviceKind::HardwareToken, "", false, false).names(), ["mobile_otp"]);
    }
}
