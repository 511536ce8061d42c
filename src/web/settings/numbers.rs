//! Phone numbers where devices are listed: the owner sees the whole number, staff a masked one;
//! and the console's user search by phone number (typed in any usual form).

use crate::domain::PhoneNumber;
use crate::store::{self, devices::DeviceRow, users::UserRow};
use crate::web::error::AppError;
use crate::web::settings::DeviceView;
use crate::web::state::AppState;

/// Fills `number` on the views of devices that have one (`devices`: the rows the views were made from).
pub fn add_numbers(devices: &[DeviceRow], views: &mut [DeviceView], owner: bool) {
    let phones = store::phone_devices::among(devices);
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
}

/// Users with a device on the number typed in the search box (any country, any usual form).
pub async fn users_by_number(state: &AppState, query: &str) -> Result<(Vec<UserRow>, i64), AppError> {
    let everywhere: Vec<String> = state.settings.telephony.allowed_countries.clone();
    let number = PhoneNumber::parse(query, "", &everywhere)
        .or_else(|_| PhoneNumber::parse(query, everywhere.first().map(String::as_str).unwrap_or(""), &everywhere));
    let Ok(number) = number else { return Ok((Vec::new(), 0)) };
    let mut users = Vec::new();
    for id in store::phone_devices::users_with_phone(&state.db, number.e164()).await? {
        if let Some(user) = store::users::by_id(&state.db, &id).await? {
            users.push(user);
        }
    }
    let total = users.len() as i64;
    Ok((users, total))
}
