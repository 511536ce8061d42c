//! The prompt's order (Duo's Universal Prompt behaviour): which device the page is about (the
//! device chooser), its method last used at this application first, the rest under "Other options".

use serde::Deserialize;

use super::phone::PhoneMethods;
use crate::domain::DeviceKind;
use crate::domain::policy::{Method, MethodSet};
use crate::domain::prompt_choice::{self, DeviceMethods, LastUse, PromptMethod};
use crate::store::devices::DeviceRow;

/// What the person asked for in the address: `?device=<id>` (the device chooser, a plain GET form)
/// and `?other=1` ("Other options" opened).
#[derive(Debug, Default, Deserialize)]
pub struct View {
    pub device: Option<String>,
    pub other: Option<String>,
}

/// One entry of the device chooser.
pub struct DeviceOption {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

/// What the prompt shows, in order.
#[derive(Default)]
pub struct Shown {
    /// Every device with a method, for the chooser (shown when there are two or more).
    pub devices: Vec<DeviceOption>,
    /// The chosen device's id and name.
    pub device: Option<(String, String)>,
    /// Shown first.
    pub first: Option<PromptMethod>,
    /// Under "Other options".
    pub others: Vec<PromptMethod>,
    /// The chosen device has an app's passcodes (the passcode text names it alone).
    pub device_app_passcode: bool,
}

/// What the page knows before ordering: the methods in force and the situation.
pub struct Facts<'a> {
    pub devices: &'a [DeviceRow],
    pub allowed: &'a MethodSet,
    pub push_ids: &'a [String],
    pub phones: &'a PhoneMethods,
    /// "Enter a Passcode" is offered (a device's passcode, a backup, temporary or texted code).
    pub passcode: bool,
    /// What the situation puts first (an automatic push or call, a code to enter).
    pub first: Option<PromptMethod>,
    /// The device an automatic push or call goes to, when no device is asked for.
    pub auto_device: Option<&'a str>,
    pub remembered: &'a [LastUse],
}

/// The methods one device offers, in the default order.
fn device_methods(d: &DeviceRow, f: &Facts<'_>) -> Vec<PromptMethod> {
    let phone = f.phones.choices.iter().find(|p| p.id == d.id);
    let passcode = (f.allowed.allows(Method::Totp) && !d.totp_secret.is_empty())
        || (f.allowed.allows(Method::HardwareToken) && d.kind == DeviceKind::HardwareToken);
    PromptMethod::ALL
        .into_iter()
        .filter(|m| match m {
            PromptMethod::Push => f.push_ids.contains(&d.id),
            PromptMethod::SecurityKey => f.allowed.allows(Method::SecurityKey) && d.kind == DeviceKind::SecurityKey,
            PromptMethod::Call => phone.is_some_and(|p| p.call),
            PromptMethod::Text => phone.is_some_and(|p| p.mobile),
            PromptMethod::Passcode => passcode,
        })
        .collect()
}

/// Orders the prompt for `view`.
pub fn shown(f: &Facts<'_>, view: &View) -> Shown {
    let usable: Vec<(&DeviceRow, DeviceMethods)> = f
        .devices
        .iter()
        .map(|d| (d, DeviceMethods { id: d.id.clone(), methods: device_methods(d, f) }))
        .filter(|(_, m)| !m.methods.is_empty())
        .collect();
    let devices: Vec<DeviceMethods> = usable.iter().map(|(_, m)| m.clone()).collect();
    let asked = view.device.as_deref().or(f.auto_device);
    let default = f.devices.iter().find(|d| d.is_default == 1).map(|d| d.id.as_str());
    let choice = prompt_choice::choose(&devices, asked, f.remembered, default, f.first);
    let mut order = choice.methods;
    // Backup, temporary and texted codes need no device: "Enter a Passcode" stays on offer.
    if f.passcode && !order.contains(&PromptMethod::Passcode) {
        order.push(PromptMethod::Passcode);
        if f.first == Some(PromptMethod::Passcode) {
            order.rotate_right(1);
        }
    }
    let selected = choice.device.map(|i| usable[i].0);
    let mut order = order.into_iter();
    Shown {
        devices: usable
            .iter()
            .map(|(d, _)| DeviceOption {
                id: d.id.clone(),
                name: d.name.clone(),
                selected: selected.is_some_and(|s| s.id == d.id),
            })
            .collect(),
        device: selected.map(|d| (d.id.clone(), d.name.clone())),
        device_app_passcode: selected.is_some_and(|d| f.allowed.allows(Method::Totp) && !d.totp_secret.is_empty()),
        first: order.next(),
        others: order.collect(),
    }
}
