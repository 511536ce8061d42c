//! The data key in the database (the `data_key` row of `meta`), wrapped by the master key:
//! unwrapping it at start, adopting databases from before envelope encryption, and rotation.

use anyhow::{Context, bail};

use crate::secrets::{DataKey, Keys, MasterKey};
use crate::store::{self, Db};

const DATA_KEY: &str = "data_key";
/// Before envelope encryption: a value sealed with keys derived from the master key itself.
const KEY_CHECK: &str = "master_key_check";
const KEY_CHECK_PLAINTEXT: &[u8] = b"twofold master key check v1";
/// The check value of a database created with a data key. It opens under no key, so an older
/// release (which derives its keys from the master key) refuses to start instead of reading garbage.
const ENVELOPE_MARKER: &str = "envelope";

/// Which configured key opened the data key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenedWith {
    MasterKey,
    PreviousMasterKey,
}

/// The data key of this database, created on first start (or adopted from a database from before,
/// whose master key becomes its data key, so nothing is re-sealed). Concurrent first starts agree:
/// the row is inserted only if absent and every process uses the one in force afterwards.
pub async fn unlock(
    db: &Db,
    master: &MasterKey,
    previous: Option<&MasterKey>,
) -> anyhow::Result<(DataKey, OpenedWith)> {
    let wrapped = match store::meta::get(db, DATA_KEY).await? {
        Some(wrapped) => wrapped,
        None => create_or_adopt(db, master, previous).await?,
    };
    let opened = if let Ok(data) = master.unwrap(&wrapped) {
        if previous.is_some() {
            tracing::warn!(
                "previous_master_key is set but no longer needed: master_key opens the data key; \
                 remove previous_master_key (TWOFOLD_PREVIOUS_MASTER_KEY) and destroy that key"
            );
        }
        (data, OpenedWith::MasterKey)
    } else if let Some(data) = previous.and_then(|p| p.unwrap(&wrapped).ok()) {
        tracing::warn!(
            "the data key was opened with previous_master_key, not master_key: run `twofold key rotate` \
             to wrap it with the new key, then remove previous_master_key (TWOFOLD_PREVIOUS_MASTER_KEY)"
        );
        (data, OpenedWith::PreviousMasterKey)
    } else {
        bail!(wrong_key(previous.is_some()));
    };
    store::meta::insert_if_absent(db, KEY_CHECK, ENVELOPE_MARKER).await?;
    Ok(opened)
}

async fn create_or_adopt(db: &Db, master: &MasterKey, previous: Option<&MasterKey>) -> anyhow::Result<String> {
    let wrapped = match store::meta::get(db, KEY_CHECK).await? {
        None => master.wrap(&DataKey::generate())?,
        Some(check) if check == ENVELOPE_MARKER => {
            // Another process created the data key between our two reads.
            return store::meta::get(db, DATA_KEY).await?.context("the database has lost its data key (meta.data_key)");
        }
        Some(check) => {
            let Some(old) = [Some(master), previous].into_iter().flatten().find(|m| legacy_check_opens(m, &check))
            else {
                bail!(wrong_key(previous.is_some()));
            };
            tracing::info!(
                "adopting the master key as this database's data key (first start with envelope encryption)"
            );
            old.wrap(&DataKey::from_master(old))?
        }
    };
    Ok(store::meta::insert_if_absent(db, DATA_KEY, &wrapped).await?)
}

fn legacy_check_opens(master: &MasterKey, check: &str) -> bool {
    let keys = Keys::new(&DataKey::from_master(master));
    keys.open(KEY_CHECK, check).is_ok_and(|plain| plain.as_slice() == KEY_CHECK_PLAINTEXT)
}

fn wrong_key(with_previous: bool) -> String {
    format!(
        "the master key does not match this database: it does not open the database's data key{}. \
         Set TWOFOLD_MASTER_KEY (or data_dir/master.key) to the key the database was created with, \
         or the one it was last rotated to with `twofold key rotate`",
        if with_previous { ", and neither does previous_master_key" } else { "" }
    )
}

/// Wraps the data key with `new` in place of the key that wraps it now, in one transaction that
/// commits only when the value read back opens with `new`. Nothing is re-sealed.
pub async fn rotate(db: &Db, master: &MasterKey, previous: Option<&MasterKey>, new: &MasterKey) -> anyhow::Result<()> {
    let (data, _) = unlock(db, master, previous).await?;
    let current = store::meta::get(db, DATA_KEY).await?.context("the data key row is missing")?;
    if new.unwrap(&current).is_ok() {
        bail!("the new key already wraps the data key: nothing to rotate");
    }
    let rewrapped = new.wrap(&data)?;
    let verify = |stored: &str| new.unwrap(stored).is_ok_and(|opened| opened.same_as(&data));
    if !store::meta::replace(db, DATA_KEY, &current, &rewrapped, verify).await? {
        bail!("the data key changed while rotating (another rotation?); nothing was changed, try again");
    }
    Ok(())
}
