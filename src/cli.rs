//! The command line: `serve`, `migrate`, `user …`, `token import`, `key rotate`. Parsing is clap's;
//! each command opens the database with the same settings as the server, so they always agree.

use crate::domain::AuditEvent;
use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::app::{Application, open};
use crate::clock::now;
use crate::config::Settings;
use crate::domain::{DisplayName, Email, Password, Role, Username};
use crate::store::{
    self, StoreError,
    audit::{Event, Outcome},
    users::{NewUser, UserRow},
};

mod apps;
mod directory;
mod health;
mod key;

#[derive(Debug, Parser)]
#[command(name = "twofold", version, about = "Self-hosted multi-factor authentication portal")]
pub struct Cli {
    /// Configuration file (default: ./twofold.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the portal.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Give or take console roles.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage applications that use Twofold for the second factor (Duo-compatible APIs).
    #[command(subcommand)]
    App(AppCommand),
    /// Manage the hardware-token inventory.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The LDAP/Active Directory directory: `directory sync [--user NAME] [--dry-run]`.
    #[command(subcommand)]
    Directory(directory::DirectoryCommand),
    /// Manage the master key.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Ask the running server's /healthz (for a container's HEALTHCHECK, which has no curl):
    /// exit status 0 when it answers "ok" within 3 seconds.
    Healthcheck,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Import tokens from a CSV file (see docs/hardware-tokens.md): all rows or none.
    Import {
        file: PathBuf,
        /// Check the file (and the inventory for duplicates) without importing anything.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Add an application and print its keys.
    Add {
        name: String,
        /// auth-api (Auth API v2), web (Universal Prompt), admin-api (Admin API), oidc (an OpenID
        /// Connect client: the integration key is its client id, the secret key its secret) or
        /// entra (Microsoft Entra ID).
        #[arg(long, default_value = "auth-api")]
        kind: String,
        /// For web, oidc and entra applications: where users may be sent back (repeatable).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// For Admin API applications: read_log, read_resource, write_resource, grant_bypass (repeatable).
        #[arg(long = "permission")]
        permissions: Vec<String>,
    },
    /// Replace a web application's redirect URIs.
    RedirectUris {
        integration_key: String,
        #[arg(required = true)]
        uris: Vec<String>,
    },
    /// List applications.
    List,
    /// Give an application a new secret key (the old one stops working at once).
    Rotate { integration_key: String },
    /// Delete an application.
    Delete { integration_key: String },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Make a user an administrator or a help-desk member.
    Grant {
        username: String,
        /// admin or helpdesk.
        #[arg(long)]
        role: String,
        /// A help desk limited to the users of these groups (comma-separated); without it, or
        /// empty, the help desk covers every user.
        #[arg(long, default_value = "")]
        groups: String,
    },
    /// Take a user's console role away (they become an ordinary user).
    Revoke { username: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user.
    Add {
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        display_name: String,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
        /// user, helpdesk or admin.
        #[arg(long, default_value = "user")]
        role: String,
    },
    /// List users.
    List,
    /// Show one user.
    Show { username: String },
    /// Disable a user (they can no longer sign in; their sessions end).
    Disable { username: String },
    /// Enable a disabled user.
    Enable { username: String },
    /// Unlock a user locked out after failed attempts.
    Unlock { username: String },
    /// Delete a user and their devices.
    Delete { username: String },
    /// Import users from a CSV file (username, display_name, email[, groups, date_of_birth, id_last4]).
    Import {
        file: PathBuf,
        /// Check the file and say what would change, without changing anything.
        #[arg(long)]
        dry_run: bool,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    for name in &settings.ignored_environment {
        tracing::warn!(variable = %name, "ignoring an environment variable that names no Twofold setting");
    }
    match cli.command {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            open(&settings).await?;
            println!("Database is up to date.");
            Ok(())
        }
        Command::User(cmd) => user(settings, cmd).await,
        Command::Admin(cmd) => admin(settings, cmd).await,
        Command::App(cmd) => apps::run(settings, cmd).await,
        Command::Token(TokenCommand::Import { file, dry_run }) => token_import(&settings, &file, dry_run).await,
        Command::Key(cmd) => key::run(&settings, cmd).await,
        Command::Directory(cmd) => directory::run(&settings, cmd).await,
        Command::Healthcheck => health::check(&settings).await,
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    println!("Twofold is running at {}", app.public_url());
    if app.mail_simulator() {
        println!("Mail: simulator. Messages are not sent; administrators see them at {}admin/outbox", app.public_url());
    }
    if app.phone_simulator() {
        println!(
            "Phones: simulator. Texts and calls reach no phone; administrators see and answer them at {}simulator/phone",
            app.public_url()
        );
    }
    if let Some(link) = app.setup_link() {
        // Printed, not logged: the link is a secret meant for the person starting the server.
        println!("No administrator exists yet. Create one within 24 hours at:\n\n    {link}\n");
    }
    app.run_until_stopped().await?;
    Ok(())
}

fn read_password_stdin() -> anyhow::Result<Password> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).context("reading the password from standard input")?;
    let line = input.lines().next().unwrap_or_default();
    Ok(Password::parse(line)?)
}

async fn find(db: &store::Db, username: &str) -> anyhow::Result<UserRow> {
    let name = Username::parse(username)?;
    match store::users::by_username(db, &name).await? {
        Some(u) => Ok(u),
        None => bail!("no user named {}", name.as_str()),
    }
}

fn print_user(u: &UserRow, devices: i64) {
    println!("Username:      {}", u.username);
    println!("Display name:  {}", u.display_name);
    println!("Email:         {}", u.email);
    println!("Role:          {}", u.role);
    println!("Status:        {}{}", u.status, if u.locked_at.is_some() { " (locked out)" } else { "" });
    println!("Devices:       {devices}");
    println!("Password:      {}", if u.password_hash.is_some() { "set" } else { "not set" });
    println!("Source:        {}", u.source().label());
    println!("Created:       {}", crate::clock::format(u.created_at));
    println!("Last login:    {}", u.last_login_at.map(crate::clock::format).unwrap_or_else(|| "never".into()));
}

async fn user(settings: Settings, cmd: UserCommand) -> anyhow::Result<()> {
    // Validate input before touching the database, so bad input never creates a data directory.
    if let UserCommand::Add { username, email, display_name, role, .. } = &cmd {
        Username::parse(username)?;
        Email::parse(email)?;
        DisplayName::parse(display_name)?;
        Role::parse(role).with_context(|| format!("unknown role `{role}` (use user, helpdesk or admin)"))?;
    }
    if let UserCommand::Import { file, dry_run } = &cmd {
        return import(&settings, file, *dry_run).await;
    }
    let (db, _keys) = open(&settings).await?;
    let t = now();
    let audit = |event: AuditEvent, u: &UserRow| {
        let (id, name) = (u.id.clone(), u.username.clone());
        let db = db.clone();
        async move {
            store::audit::record(&db, Event::new(event, Outcome::Info).user(&id, &name).detail("command line"), t).await
        }
    };
    match cmd {
        UserCommand::Add { username, email, display_name, password_stdin, role } => {
            let (username, email, display_name) =
                (Username::parse(&username)?, Email::parse(&email)?, DisplayName::parse(&display_name)?);
            let Some(role) = Role::parse(&role) else { bail!("unknown role `{role}`") };
            let password_hash =
                if password_stdin { Some(crate::passwords::hash(&read_password_stdin()?)?) } else { None };
            let source = store::users::Source::Local;
            let new = NewUser {
                username: &username,
                email: &email,
                display_name: &display_name,
                password_hash,
                role,
                source,
            };
            let user = match store::users::insert(&db, new, t).await {
                Ok(u) => u,
                Err(StoreError::Conflict) => bail!("a user named {} already exists", username.as_str()),
                Err(e) => return Err(e.into()),
            };
            audit(AuditEvent::UserCreated, &user).await?;
            println!("Added user {} ({} <{}>, role {}).", user.username, user.display_name, user.email, user.role);
        }
        UserCommand::List => {
            let users = store::users::list(&db).await?;
            if users.is_empty() {
                println!("No users yet.");
            }
            for u in users {
                let lock = if u.locked_at.is_some() { ", locked out" } else { "" };
                println!("{}\t{}\t{}\t{}{}\t{}", u.username, u.display_name, u.email, u.status, lock, u.role);
            }
        }
        UserCommand::Show { username } => {
            let u = find(&db, &username).await?;
            print_user(&u, store::devices::count_for_user(&db, &u.id).await?);
        }
        UserCommand::Disable { username } => {
            let u = find(&db, &username).await?;
            store::users::set_status(&db, &u.id, "disabled").await?;
            let ended = store::sessions::delete_for_user(&db, &u.id).await?;
            audit(AuditEvent::UserDisabled, &u).await?;
            println!("Disabled {} and ended {ended} session(s).", u.username);
        }
        UserCommand::Enable { username } => {
            let u = find(&db, &username).await?;
            store::users::set_status(&db, &u.id, "active").await?;
            audit(AuditEvent::UserEnabled, &u).await?;
            println!("Enabled {}.", u.username);
        }
        UserCommand::Unlock { username } => {
            let u = find(&db, &username).await?;
            store::users::unlock(&db, &u.id).await?;
            audit(AuditEvent::AccountUnlocked, &u).await?;
            println!("Unlocked {}.", u.username);
        }
        UserCommand::Import { .. } => unreachable!("handled above"),
        UserCommand::Delete { username } => {
            let u = find(&db, &username).await?;
            store::sessions::delete_for_user(&db, &u.id).await?;
            store::users::delete(&db, &u.id).await?;
            audit(AuditEvent::UserDeleted, &u).await?;
            println!("Deleted {} and their devices.", u.username);
        }
    }
    db.close().await;
    Ok(())
}

async fn admin(settings: Settings, cmd: AdminCommand) -> anyhow::Result<()> {
    let (username, role) = match &cmd {
        AdminCommand::Grant { username, role, .. } => match Role::parse(role) {
            Some(r @ (Role::Admin | Role::Helpdesk)) => (username, r),
            _ => bail!("unknown role `{role}` (use admin or helpdesk)"),
        },
        AdminCommand::Revoke { username } => (username, Role::User),
    };
    Username::parse(username)?;
    let (db, _keys) = open(&settings).await?;
    let user = find(&db, username).await?;
    let groups: Vec<String> = match &cmd {
        AdminCommand::Grant { groups, .. } => {
            groups.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_string).collect()
        }
        AdminCommand::Revoke { .. } => Vec::new(),
    };
    if !groups.is_empty() && role != Role::Helpdesk {
        bail!("only a help desk can be limited to groups (--role helpdesk)");
    }
    let known: Vec<String> = store::import::groups(&db).await?.into_iter().map(|(g, _)| g).collect();
    if let Some(unknown) = groups.iter().find(|g| !known.contains(g)) {
        bail!("no group `{unknown}` (groups come from imported users: {})", known.join(", "));
    }
    store::users::set_role(&db, &user.id, role).await?;
    store::staff_scopes::set(&db, &user.id, &groups).await?;
    let event = if role == Role::User { AuditEvent::RoleRevoked } else { AuditEvent::RoleGranted };
    let covers = if groups.is_empty() { String::new() } else { format!(", covering {}", groups.join(", ")) };
    let detail = format!("role {}{covers} (command line)", role.as_str());
    store::audit::record(&db, Event::new(event, Outcome::Info).user(&user.id, &user.username).detail(&detail), now())
        .await?;
    match role {
        Role::User => println!("{} is no longer an administrator or help-desk member.", user.username),
        _ if groups.is_empty() => println!("{} now has the {} role.", user.username, role.as_str()),
        _ => println!("{} now has the {} role for the users of {}.", user.username, role.as_str(), groups.join(", ")),
    }
    db.close().await;
    Ok(())
}

/// `twofold user import FILE`: every error with its line number and nothing written, or all of it.
async fn import(settings: &Settings, file: &std::path::Path, dry_run: bool) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let rows = match crate::domain::import::parse_csv(&text) {
        Ok(rows) => rows,
        Err(errors) => {
            for e in &errors {
                eprintln!("line {}: {}", e.line, e.message);
            }
            bail!("{} problem(s) in {}; nothing was imported", errors.len(), file.display());
        }
    };
    let (db, keys) = open(settings).await?;
    let owned = store::import::owned_elsewhere(&db, &rows).await?;
    if !owned.is_empty() {
        for e in &owned {
            eprintln!("line {}: {}", e.line, e.message);
        }
        db.close().await;
        bail!("{} problem(s) in {}; nothing was imported", owned.len(), file.display());
    }
    if dry_run {
        let counts = store::import::preview(&db, &rows).await?;
        println!("Would create {} user(s) and update {}. Nothing was changed.", counts.created, counts.updated);
    } else {
        let counts =
            store::import::apply(&db, &rows, &|user, fact, value| keys.hash_fact(user, fact, value), now()).await?;
        let detail = format!("{} created, {} updated (command line)", counts.created, counts.updated);
        store::audit::record(&db, Event::new(AuditEvent::UsersImported, Outcome::Info).detail(&detail), now()).await?;
        println!("Created {} user(s) and updated {}.", counts.created, counts.updated);
    }
    db.close().await;
    Ok(())
}

/// `twofold token import FILE`: every problem with its line number and nothing written, or all of it.
async fn token_import(settings: &Settings, file: &std::path::Path, dry_run: bool) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let report = |errors: &[crate::domain::import::LineError]| {
        for e in errors {
            eprintln!("line {}: {}", e.line, e.message);
        }
    };
    let rows = match crate::domain::token::parse_csv(&text) {
        Ok(rows) => rows,
        Err(errors) => {
            report(&errors);
            bail!("{} problem(s) in {}; nothing was imported", errors.len(), file.display());
        }
    };
    let (db, keys) = open(settings).await?;
    let result = if dry_run {
        match crate::tokens::already_imported(&db, &rows).await? {
            dups if dups.is_empty() => Ok(rows.len()),
            dups => Err(crate::tokens::ImportError::Lines(dups)),
        }
    } else {
        crate::tokens::import(&db, &keys, &rows, "command line", now()).await
    };
    let outcome = match result {
        Ok(n) if dry_run => {
            println!("Would import {n} token(s). Nothing was changed.");
            Ok(())
        }
        Ok(n) => {
            let detail = format!("{n} token(s) imported (command line)");
            store::audit::record(&db, Event::new(AuditEvent::TokensImported, Outcome::Info).detail(&detail), now())
                .await?;
            println!("Imported {n} token(s).");
            Ok(())
        }
        Err(crate::tokens::ImportError::Lines(errors)) => {
            report(&errors);
            Err(anyhow::anyhow!("{} problem(s) in {}; nothing was imported", errors.len(), file.display()))
        }
        Err(e) => Err(e.into()),
    };
    db.close().await;
    outcome
}
