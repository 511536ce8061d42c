//! `twofold directory sync [--user NAME] [--dry-run]`: the LDAP/AD sync now, with a progress bar
//! on the terminal and the summary at the end (docs/directory.md).

use std::io::Write;

use anyhow::bail;
use clap::Subcommand;

use crate::app::open;
use crate::config::Settings;
use crate::directory::schedule::Run;
use crate::directory::{Directory, sync::Options};

#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Sync users and groups from the directory now (all, or one user).
    Sync {
        /// Only this user: created or updated from the directory, or disabled when gone from it.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// Say what would change, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check a user's password against the directory (read from standard input) and say why it
    /// is refused, if it is: for setting up `[directory]`.
    Check { username: String },
}

/// `[#####.....] 1200/2400` on standard error, redrawn in place.
fn bar(done: usize, total: usize) {
    let width = 30;
    let filled = (done * width).checked_div(total).unwrap_or(width).min(width);
    eprint!("\r[{}{}] {done}/{total}", "#".repeat(filled), ".".repeat(width - filled));
    let _ = std::io::stderr().flush();
}

pub async fn run(settings: &Settings, cmd: DirectoryCommand) -> anyhow::Result<()> {
    let Some(directory) = Directory::new(&settings.directory)? else {
        bail!("no directory is configured: set directory.url (see docs/directory.md)");
    };
    match cmd {
        DirectoryCommand::Sync { user, dry_run } => {
            let (db, keys) = open(settings).await?;
            let options = Options { user, dry_run };
            let countries = &settings.telephony.allowed_countries;
            let run = directory.sync_leased(&db, &keys, countries, &options, "command line", &bar).await;
            db.close().await;
            match run? {
                Run::Done(summary) => {
                    eprintln!();
                    println!("{}", summary.line());
                    for skipped in &summary.skipped {
                        println!("skipped: {skipped}");
                    }
                    Ok(())
                }
                Run::Busy => {
                    bail!("a directory sync is already running (on this or another instance); try again later")
                }
            }
        }
        DirectoryCommand::Check { username } => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let password = password.trim_end_matches(['\n', '\r']);
            match directory.check_password(&username, password).await? {
                crate::directory::Check::Accepted(user) => {
                    println!("accepted: {} ({})", user.dn, if user.disabled { "disabled" } else { "active" });
                    Ok(())
                }
                crate::directory::Check::Refused(refusal) => bail!("refused: {}", refusal.describe()),
            }
        }
    }
}
