//! Pure types that parse untrusted input into values the rest of Twofold can rely on.
//! No I/O here: each type has a private field and a `parse` that says exactly what is wrong.

pub mod access;
pub mod admin_permission;
pub mod audit;
mod device;
pub mod enroll_path;
mod enrollment;
pub mod import;
pub mod modhex;
mod passcode;
pub mod phone;
pub mod policy;
pub mod prompt_choice;
pub mod radius;
mod return_path;
pub mod scim;
pub mod token;
mod user;
pub mod user_agent;

pub use admin_permission::{AdminPermission, AdminPermissions};
pub use audit::AuditEvent;
pub use device::{DeviceKind, DeviceName, LoginAction, Platform};
pub use enrollment::{EnrollEvent, EnrollStep, Move};
pub use passcode::Passcode;
pub use phone::PhoneNumber;
pub use return_path::ReturnPath;
pub use user::{DisplayName, Email, Password, Role, Username};

/// What is wrong with a piece of input, in words for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

impl InputError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
