//! Reading the layers: defaults < file < `TWOFOLD_*` environment, then secrets from files.
//! An environment variable that names no setting is left out with a warning (Kubernetes injects
//! `TWOFOLD_PORT=tcp://…` for a Service named "twofold"); an unknown key in the file stays an
//! error (a typo there is the operator's).

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::Env;

use super::{ConfigError, Settings, invalid};

/// The environment provider, without the variables already found to name no setting.
fn environment(skip: Vec<String>) -> Env {
    Env::prefixed("TWOFOLD_").split("__").filter(move |key| !skip.iter().any(|k| key == k.as_str()))
}

/// Extracts the settings; returns them with the environment variables left out.
pub(super) fn extract(figment: Figment) -> Result<(Settings, Vec<String>), ConfigError> {
    let mut skipped: Vec<String> = Vec::new();
    loop {
        match figment.clone().merge(environment(skipped.clone())).extract::<Settings>() {
            Ok(settings) => {
                let names = skipped.iter().map(|k| format!("TWOFOLD_{}", k.replace('.', "__").to_uppercase()));
                return Ok((settings, names.collect()));
            }
            Err(e) => match unknown_environment_key(&e) {
                Some(key) if skipped.len() < 200 && !skipped.contains(&key) => skipped.push(key),
                _ => return Err(ConfigError::Parse(describe(&e))),
            },
        }
    }
}

/// The dotted key of an unknown field that came from the environment.
fn unknown_environment_key(e: &figment::Error) -> Option<String> {
    let figment::error::Kind::UnknownField(field, _) = &e.kind else { return None };
    if !e.metadata.as_ref().is_some_and(|m| m.name.contains("environment")) {
        return None;
    }
    let mut path = e.path.clone();
    if path.last() != Some(field) {
        path.push(field.clone());
    }
    Some(path.join("."))
}

/// figment's error without its internal profile prefix (`default.bnd`): the key, what is wrong,
/// and where the value came from.
fn describe(e: &figment::Error) -> String {
    let key = e.path.join(".");
    let source = e.metadata.as_ref().map(|m| match &m.source {
        Some(source) => format!(" (from {source})"),
        None => format!(" (from {})", m.name),
    });
    let what = e.kind.to_string();
    if key.is_empty() {
        format!("{what}{}", source.unwrap_or_default())
    } else {
        format!("key `{key}`: {what}{}", source.unwrap_or_default())
    }
}

/// A secret from a file, as Docker and Kubernetes mount them: the content without the trailing newline.
pub fn read_secret(key: &'static str, path: &Path) -> Result<String, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| invalid(key, format!("cannot read {}: {e}", path.display())))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

/// Sets `value` from `file` when a file is given; both given is an error naming `key`.
pub fn from_file(key: &'static str, value: &mut Option<String>, file: &Option<PathBuf>) -> Result<(), ConfigError> {
    let Some(path) = file else { return Ok(()) };
    if value.is_some() {
        return Err(invalid(key, "set either the value or the file, not both"));
    }
    *value = Some(read_secret(key, path)?);
    Ok(())
}
