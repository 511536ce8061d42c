//! The core's one error type: something below it failed (the database, a sealed value that does
//! not open, a carrier). Verdicts are not errors: a wrong passcode is `Verdict::Wrong`.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a sealed value did not open")]
    Open(#[from] crate::secrets::OpenError),
    #[error("a value could not be sealed")]
    Seal(#[from] crate::secrets::SealError),
    #[error("{0}")]
    Other(String),
}
