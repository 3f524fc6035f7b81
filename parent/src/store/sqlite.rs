//! The embedded SQLite store: the schema and its migrations, the connection, and the cache of
//! signing material. The queries of each resource are in [`super::wallets`] and
//! [`super::identities`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use rusqlite::Connection;
use signer_common::protocol::WalletContext;

use super::error::{StoreError, StoreFuture};

/// The file name of the SQLite database inside the data directory.
pub const DB_FILE: &str = "parent.sqlite3";

/// The schema, one migration per entry; `PRAGMA user_version` counts those applied.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE orgs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    date_created TEXT NOT NULL
);
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    username TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'Active',
    date_created TEXT NOT NULL,
    UNIQUE (org_id, username)
);
CREATE TABLE credentials (
    cred_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    public_key BLOB NOT NULL,
    status TEXT NOT NULL DEFAULT 'Active',
    date_created TEXT NOT NULL
);
CREATE INDEX credentials_user ON credentials(user_id);
CREATE TABLE apps (
    app_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    origin TEXT NOT NULL,
    rp_id TEXT NOT NULL,
    date_created TEXT NOT NULL
);
CREATE INDEX apps_org ON apps(org_id, date_created);
CREATE TABLE wallets (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    curve TEXT NOT NULL,
    public_key BLOB NOT NULL,
    sealed BLOB NOT NULL,
    name TEXT,
    status TEXT NOT NULL,
    date_created TEXT NOT NULL,
    receipt BLOB NOT NULL,
    attestation BLOB NOT NULL
);
CREATE INDEX wallets_org_order ON wallets(org_id, date_created, id);
"#,
    r#"
-- Issue 8: identities become notarized records (body + enclave tag), indexed by a few columns.
-- The identity rows of before carry no records and cannot be used any more: they are dropped,
-- and a dev data dir bootstraps a new organisation at its next start. Wallets are never
-- dropped (a row is the only copy of its sealed key); those of before have no ownership record
-- and stay readable but cannot sign.
DROP TABLE credentials;
DROP TABLE users;
DROP TABLE apps;
DELETE FROM orgs;
CREATE TABLE users (
    user_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    username TEXT NOT NULL,
    version INTEGER NOT NULL,
    body BLOB NOT NULL,
    tag BLOB NOT NULL,
    date_created TEXT NOT NULL,
    UNIQUE (org_id, username)
);
CREATE TABLE credentials (
    cred_id BLOB PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(user_id),
    org_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    body BLOB NOT NULL,
    tag BLOB NOT NULL,
    date_created TEXT NOT NULL
);
CREATE INDEX credentials_user ON credentials(user_id, date_created);
CREATE TABLE apps (
    app_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    version INTEGER NOT NULL,
    body BLOB NOT NULL,
    tag BLOB NOT NULL,
    date_created TEXT NOT NULL
);
CREATE INDEX apps_org ON apps(org_id, date_created, app_id);
ALTER TABLE wallets ADD COLUMN owner_user_id TEXT;
ALTER TABLE wallets ADD COLUMN record_body BLOB;
ALTER TABLE wallets ADD COLUMN record_tag BLOB;
"#,
    r#"
-- Issue 9: users can be deactivated; the status is also a column, for the bearer check of every
-- request (a read of one column). Every user of before is active: no API could change one.
ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'Active';
"#,
];

/// The embedded SQLite store. Queries run on Tokio's blocking pool, one at a time; the reads of
/// the signing hot path run in place on read-only connections ([`SqliteStore::read_in_place`]);
/// the signing material of wallets already read is answered from memory ([`SealedWalletCache`]).
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    readers: Arc<[Mutex<Connection>]>,
    pub(super) sealed: Arc<SealedWalletCache>,
}

/// Read-only connections for [`SqliteStore::read_in_place`]: one per runtime worker of a
/// 2-core host, so two handlers rarely wait for each other.
const READERS: usize = 2;

/// The most wallets whose signing material [`SealedWalletCache`] keeps (about 200 bytes each).
const SEALED_WALLET_CACHE_ENTRIES: usize = 65_536;

/// Signing material of wallets already read, by wallet id (ids are unique across
/// organisations), with the owning organisation.
///
/// Why: a signing request otherwise costs a hop to the blocking pool and a SQLite read, measured
/// at about 50 us of the parent's ~190 us of CPU per request. Why it stays right: a wallet's row
/// is written once, at creation, with its ownership record, and never updated (no API changes it). Should a row change
/// underneath (a restored backup, an operator's edit), the enclave refuses the stale blob, the
/// entry is forgotten and the next request reads the row again. Trust is not involved: the
/// parent is not trusted with the blob either way; the enclave checks it.
#[derive(Default)]
pub(super) struct SealedWalletCache {
    entries: Mutex<HashMap<String, (String, WalletContext)>>,
}

impl SealedWalletCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, WalletContext)>> {
        // A poisoned map is still a valid map: entries are inserted and removed whole.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn get(&self, org_id: &str, wallet_id: &str) -> Option<WalletContext> {
        let entries = self.lock();
        let (owner, wallet) = entries.get(wallet_id)?;
        (owner == org_id).then(|| wallet.clone())
    }

    pub(super) fn insert(&self, org_id: &str, wallet: &WalletContext) {
        let mut entries = self.lock();
        if entries.len() >= SEALED_WALLET_CACHE_ENTRIES
            && !entries.contains_key(&wallet.sealed.wallet_id)
            && let Some(victim) = entries.keys().next().cloned()
        {
            entries.remove(&victim);
        }
        entries.insert(wallet.sealed.wallet_id.clone(), (org_id.to_owned(), wallet.clone()));
    }

    pub(super) fn forget(&self, wallet_id: &str) {
        self.lock().remove(wallet_id);
    }

    /// How many wallets are remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) `data_dir/parent.sqlite3` and applies migrations.
    pub fn open_in(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open(&data_dir.join(DB_FILE))
    }

    /// Opens (creating if needed) the database at `path` and applies migrations.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode = %mode, "SQLite did not switch to WAL mode");
        }
        // A wallet row is the only copy of its sealed key: make every commit durable.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn)?;
        let readers = (0..READERS).map(|_| open_reader(path).map(Mutex::new)).collect::<Result<_, _>>()?;
        Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)), readers, sealed: Arc::default() })
    }

    /// Runs `f` in one read transaction (a consistent snapshot) on a read-only connection, in
    /// place on the calling task rather than on the blocking pool.
    ///
    /// Why: for the few indexed point reads of a signing request (about 10 us from the page
    /// cache), the hand-off to the blocking pool and back costs more than the reads, in thread
    /// wake-ups (measured in docs/performance.md). Only short reads belong here: a worker
    /// thread waits for them, and for a disk read when the page is not cached.
    pub(super) fn read_in_place<T, F>(&self, f: F) -> StoreFuture<'static, T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = self.readers.clone();
        Box::pin(async move {
            let reader = free_reader(&readers);
            let snapshot = reader.unchecked_transaction()?;
            // Dropped at the end: a read transaction has nothing to commit.
            f(&snapshot)
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub(super) fn run<T, F>(&self, f: F) -> StoreFuture<'static, T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
                f(&mut guard)
            })
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
        })
    }
}

/// A connection that can only read, for [`SqliteStore::read_in_place`].
fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "query_only", "ON")?;
    Ok(conn)
}

/// The first reader nobody holds, else the first one once it is free.
fn free_reader(readers: &[Mutex<Connection>]) -> MutexGuard<'_, Connection> {
    for reader in readers {
        match reader.try_lock() {
            Ok(guard) => return guard,
            // A poisoned connection is still a connection: a panic cannot leave a read half done.
            Err(TryLockError::Poisoned(e)) => return e.into_inner(),
            Err(TryLockError::WouldBlock) => {}
        }
    }
    readers[0].lock().unwrap_or_else(|e| e.into_inner())
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let applied: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let applied =
        usize::try_from(applied).map_err(|_| StoreError::Corrupt("negative user_version".into()))?;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "database schema version {applied} is newer than this build ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied store migration");
    }
    Ok(())
}

pub(super) fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

#[cfg(test)]
mod tests {
    use serde_bytes::ByteBuf;
    use signer_common::protocol::Curve;

    use super::*;

    #[test]
    fn the_cache_stays_bounded() {
        let cache = SealedWalletCache::default();
        let sealed = |i: usize| WalletContext {
            sealed: signer_common::protocol::SealedWallet {
                wallet_id: format!("wa-{i}"),
                curve: Curve::Ed25519,
                public_key: ByteBuf::from(vec![1; 32]),
                sealed: ByteBuf::from(vec![2; 61]),
            },
            record: signer_common::identity::Notarized {
                body: ByteBuf::from(vec![0xa0]),
                tag: ByteBuf::from(vec![1; 32]),
            },
        };
        for i in 0..SEALED_WALLET_CACHE_ENTRIES + 10 {
            cache.insert("or-a", &sealed(i));
        }
        assert_eq!(cache.len(), SEALED_WALLET_CACHE_ENTRIES);
        let last = SEALED_WALLET_CACHE_ENTRIES + 9;
        assert!(cache.get("or-a", &format!("wa-{last}")).is_some(), "the newest entry is kept");
    }

    #[test]
    fn uses_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_in(dir.path()).unwrap();
        let conn = store.conn.lock().unwrap();
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
    }
}
