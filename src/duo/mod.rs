//! Duo compatibility: the wire formats that existing Duo client libraries speak, so applications
//! can switch to Twofold by changing the API hostname and keys. Pure code; handlers live in web::duo.

pub mod jwt;
pub mod keys;
pub mod signature;
pub mod universal;
