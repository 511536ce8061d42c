//! The institution's logo file.

use std::path::Path;

use super::{ConfigError, invalid};

/// The institution's logo, read once at start and served at `/branding/logo` (same origin, so the
/// Content-Security-Policy can stay `img-src 'self'`).
#[derive(Debug, Clone)]
pub struct Logo {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl Logo {
    pub const MAX_BYTES: u64 = 256 * 1024;

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let key = "institution.logo_file";
        let content_type = match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("png") => "image/png",
            Some("svg") => "image/svg+xml",
            Some("jpg" | "jpeg") => "image/jpeg",
            Some("webp") => "image/webp",
            _ => return Err(invalid(key, "must be a .png, .svg, .jpg or .webp file")),
        };
        let meta = std::fs::metadata(path).map_err(|e| invalid(key, format!("{}: {e}", path.display())))?;
        if meta.len() > Self::MAX_BYTES {
            return Err(invalid(key, format!("{} is larger than 256 KiB", path.display())));
        }
        let bytes = std::fs::read(path).map_err(|e| invalid(key, format!("{}: {e}", path.display())))?;
        Ok(Self { content_type, bytes })
    }
}
