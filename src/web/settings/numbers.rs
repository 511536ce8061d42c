//! Phone numbers where devices are listed: the owner sees the whole number, staff a masked one;
//! and the console's user search by phone number (typed in any usual form).

use crate::domain::PhoneNumber;
use crate::secrets::Keys;
use crate::store::{self, StoreError, devices::DeviceRow, users::UserRow};
use crate::web::error::AppError;
use crate::web::settings::DeviceView;
use crate::web::state::AppState;

/// Fills `number` on the views of devices that have one (`devices`: the rows the views were made from).
pub fn add_numbers(
    keys: &Keys,
    devices: &[DeviceRow],
    views: &mut [DeviceView],
    owner: bool,
) -> Result<(), StoreError> {
    let phones = store::phone_devices::among(keys, devices)?;
    for view in views.iter_mut() {
        if let Some(p) = phones.iter().find(|p| p.id == view.id) {
            let shown = match PhoneNumber::from_e164(&p.phone) {
                Ok(n) if owner => n.international().to_string(),
                _ => crate::domain::phone::mask(&p.phone),
            };
            view.number = Some(match &p.phone_extension {
                Some(ext) if owner => format!("{shown} extension {ext}"),
                _ => shown,
            });
        }
    }
    Ok(())
}

/// Users with a device on the number typed in the search box (any country, any usual form).
pub async fn users_by_number(state: &AppState, query: &str) -> Result<Vec<UserRow>, AppError> {
    let everywhere: Vec<String> = state.settings.telephony.allowed_countries.clone();
    let number = PhoneNumber::parse(query, "", &everywhere)
        .or_else(|_| PhoneNumber::parse(query, everywhere.first().map(String::as_str).unwrap_or(""), &everywhere));
    let Ok(number) = number else { return Ok(Vec::new()) };
    let mut users = Vec::new();
    for id in store::phone_devices::users_with_phone(&state.db, &state.keys, number.e164()).await? {
        if let Some(user) = store::users::by_id(&state.db, &id).await? {
            users.push(user);
        }
    }
    Ok(users)
}
