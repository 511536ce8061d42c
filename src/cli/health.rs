//! `twofold healthcheck`: the container's HEALTHCHECK, which has no curl.

use crate::config::Settings;

/// GET /healthz on the configured address (a wildcard bind is asked on loopback).
pub async fn check(settings: &Settings) -> anyhow::Result<()> {
    let mut addr = settings.bind_addr()?;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() { [127, 0, 0, 1].into() } else { std::net::Ipv6Addr::LOCALHOST.into() });
    }
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(3)).build()?;
    let response = client.get(format!("http://{addr}/healthz")).send().await?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    anyhow::ensure!(status.is_success() && body.trim() == "ok", "/healthz answered {status}: {}", body.trim());
    println!("ok");
    Ok(())
}
