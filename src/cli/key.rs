//! `twofold key rotate`: wrap the database's data key with a new master key. The new key comes
//! from a file, standard input, or is generated into a new private file; it is never printed.

use crate::domain::AuditEvent;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{ArgGroup, Args, Subcommand};

use crate::app::{connect, master_keys};
use crate::clock::now;
use crate::config::Settings;
use crate::data_key;
use crate::secrets::MasterKey;
use crate::store::{
    self,
    audit::{Event, Outcome},
};

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Wrap the data key with a new master key; afterwards only the new key opens the database.
    Rotate(RotateArgs),
}

#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("new_key").required(true).args(["new_key_file", "new_key_stdin", "generate", "to_master_key"])
))]
pub struct RotateArgs {
    /// Read the new master key (base64 of 32 bytes) from FILE.
    #[arg(long, value_name = "FILE")]
    new_key_file: Option<PathBuf>,
    /// Read the new master key (base64 of 32 bytes) from standard input.
    #[arg(long)]
    new_key_stdin: bool,
    /// Generate the new master key into FILE (created with mode 0600; it must not exist yet).
    #[arg(long, value_name = "FILE")]
    generate: Option<PathBuf>,
    /// Wrap with the configured master_key: the last step of switching instances over with
    /// previous_master_key set to the old key (see docs/deploy.md).
    #[arg(long)]
    to_master_key: bool,
}

impl RotateArgs {
    fn new_key(&self) -> anyhow::Result<MasterKey> {
        if let Some(path) = &self.new_key_file {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            return MasterKey::from_base64(&text).with_context(|| format!("the new key in {}", path.display()));
        }
        if self.new_key_stdin {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input).context("reading the new key from standard input")?;
            return MasterKey::from_base64(input.lines().next().unwrap_or_default())
                .context("the new key on standard input");
        }
        Ok(MasterKey::generate())
    }
}

pub async fn run(settings: &Settings, cmd: KeyCommand) -> anyhow::Result<()> {
    let KeyCommand::Rotate(args) = cmd;
    let (master, previous) = master_keys(settings)?;
    let given;
    let new = if args.to_master_key {
        &master
    } else {
        given = args.new_key()?;
        &given
    };
    let db = connect(settings).await?;
    if let Some(path) = &args.generate {
        // Saved before the database changes: a data key wrapped by a key nobody kept is lost for good.
        new.write_new_file(path)?;
    }
    if let Err(e) = data_key::rotate(&db, &master, previous.as_ref(), new).await {
        db.close().await;
        if let Some(path) = &args.generate {
            eprintln!("{} was written but is not in use: the database still opens with the old key.", path.display());
        }
        return Err(e);
    }
    let detail = "data key wrapped with a new master key (command line)";
    store::audit::record(&db, Event::new(AuditEvent::MasterKeyRotated, Outcome::Info).detail(detail), now()).await?;
    db.close().await;
    println!("Rotated: the data key is now wrapped by the new master key; the old key no longer opens this database.");
    if !args.to_master_key {
        println!("Running instances keep working. Before restarting them, {}.", where_the_key_goes(settings, &args));
    }
    println!("Then remove previous_master_key wherever it is set, and destroy every copy of the old key.");
    Ok(())
}

/// Where the operator must put the new key, in the words of their own configuration.
fn where_the_key_goes(settings: &Settings, args: &RotateArgs) -> String {
    let source = match (&args.generate, &args.new_key_file) {
        (Some(path), _) | (None, Some(path)) => format!("the new key (in {})", shown(path)),
        _ => "the new key".into(),
    };
    match settings.master_key {
        Some(_) => format!("set master_key (TWOFOLD_MASTER_KEY) to {source}"),
        None => format!("replace {} with {source}", shown(&settings.data_dir.join("master.key"))),
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}
