//! `twofold app …`: the applications (integrations) that ask Twofold for the second factor, and
//! the keys and redirect URIs they are configured with.

use super::AppCommand;
use crate::app::open;
use crate::clock::now;
use crate::config::Settings;
use crate::domain::{AdminPermission, AdminPermissions, AuditEvent};
use crate::store::{
    self,
    audit::{Event, Outcome},
};
use anyhow::bail;

/// The hostname applications are configured with (see `duo.api_hostname`).
fn api_hostname(settings: &Settings) -> anyhow::Result<String> {
    if let Some(host) = &settings.duo.api_hostname {
        return Ok(host.clone());
    }
    Ok(match settings.public_url()? {
        Some(url) => url.host_str().unwrap_or("localhost").to_string(),
        None => settings.bind_addr()?.ip().to_string(),
    })
}

pub(super) async fn run(settings: Settings, cmd: AppCommand) -> anyhow::Result<()> {
    use crate::duo::keys::{new_integration_key, new_secret_key};
    let (db, keys) = open(&settings).await?;
    let t = now();
    let find_app = |ikey: String| {
        let db = db.clone();
        async move {
            match store::applications::by_integration_key(&db, &ikey).await? {
                Some(a) => Ok(a),
                None => Err(anyhow::anyhow!("no application with integration key {ikey}")),
            }
        }
    };
    match cmd {
        AppCommand::Add { name, kind, redirect_uris, permissions } => {
            if !matches!(kind.as_str(), "auth-api" | "web" | "admin-api" | "oidc" | "entra") {
                bail!("unknown kind `{kind}` (use auth-api, web, admin-api, oidc or entra)");
            }
            let mut granted = Vec::new();
            for p in &permissions {
                let Some(p) = AdminPermission::parse(p) else {
                    bail!("unknown permission `{p}` (use read_log, read_resource, write_resource or grant_bypass)");
                };
                granted.push(p);
            }
            let granted = AdminPermissions::from_list(&granted);
            if (kind == "admin-api") == granted.is_empty() {
                bail!("an admin-api application needs at least one --permission, and only it takes them");
            }
            let uris = checked_redirect_uris(&redirect_uris)?;
            if !matches!(kind.as_str(), "auth-api" | "admin-api") && uris.is_empty() {
                bail!("a {kind} application needs at least one --redirect-uri (where users return after the prompt)");
            }
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 100 {
                bail!("give the application a name of 1 to 100 characters");
            }
            let id = crate::secrets::new_id();
            let (ikey, skey) = (new_integration_key(), new_secret_key());
            let sealed = keys.seal(&format!("app-secret:{id}"), skey.as_bytes())?;
            store::applications::insert(&db, &id, name, &kind, &ikey, &sealed, t).await?;
            store::applications::set_redirect_uris(&db, &id, &uris).await?;
            store::applications::set_permissions(&db, &id, &granted.as_stored()).await?;
            let mut detail = format!("{name} ({ikey})");
            if !granted.is_empty() {
                detail.push_str(&format!("; Admin API permissions: {}", granted.as_stored()));
            }
            store::audit::record(&db, Event::new(AuditEvent::ApplicationAdded, Outcome::Info).detail(&detail), t)
                .await?;
            println!("Added application {name} ({kind}).");
            if !granted.is_empty() {
                println!("Permissions: {}", granted.as_stored());
            }
            println!("Integration key: {ikey}");
            println!("Secret key: {skey}");
            println!("API hostname: {}", api_hostname(&settings)?);
            println!("The secret key is shown only now; keep it like a password.");
        }
        AppCommand::RedirectUris { integration_key, uris } => {
            let a = find_app(integration_key).await?;
            let uris = checked_redirect_uris(&uris)?;
            store::applications::set_redirect_uris(&db, &a.id, &uris).await?;
            store::audit::record(
                &db,
                Event::new(AuditEvent::ApplicationRedirectUris, Outcome::Info).detail(&format!(
                    "{}: {}",
                    a.integration_key,
                    uris.join(" ")
                )),
                t,
            )
            .await?;
            println!("Redirect URIs of {}: {}", a.name, uris.join(" "));
        }
        AppCommand::List => {
            let apps = store::applications::list(&db).await?;
            if apps.is_empty() {
                println!("No applications yet.");
            }
            for a in apps {
                println!("{}\t{}\t{}", a.integration_key, a.kind, a.name);
            }
        }
        AppCommand::Rotate { integration_key } => {
            let a = find_app(integration_key).await?;
            let skey = new_secret_key();
            store::applications::set_secret(&db, &a.id, &keys.seal(&format!("app-secret:{}", a.id), skey.as_bytes())?)
                .await?;
            store::audit::record(
                &db,
                Event::new(AuditEvent::ApplicationRotated, Outcome::Info).detail(&a.integration_key),
                t,
            )
            .await?;
            println!("New secret key for {}: {skey}", a.name);
        }
        AppCommand::Delete { integration_key } => {
            let a = find_app(integration_key).await?;
            store::applications::delete(&db, &a.id).await?;
            store::application_policies::forget(&db, &crate::signin::access::registered_scope(&a.id)).await?;
            store::audit::record(
                &db,
                Event::new(AuditEvent::ApplicationDeleted, Outcome::Info).detail(&a.integration_key),
                t,
            )
            .await?;
            println!("Deleted application {}.", a.name);
        }
    }
    db.close().await;
    Ok(())
}

/// Redirect URIs as registered: https (or http on loopback), normalised, no duplicates.
fn checked_redirect_uris(uris: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for uri in uris {
        let parsed = crate::duo::universal::parse_redirect_uri(uri).map_err(|why| anyhow::anyhow!("{uri}: {why}"))?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    Ok(out)
}
