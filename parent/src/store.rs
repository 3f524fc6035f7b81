//! The parent's store: public wallet records with their sealed keys, and the organisations,
//! users, credentials and applications that dev bootstrap needs.
//!
//! Everything here is untrusted by the enclave: sealed blobs are opened only by the enclave, which
//! checks that they belong to the wallet id, curve and public key stored beside them.
//!
//! [`WalletStore`] is the interface the HTTP layer uses; [`SqliteStore`] is the embedded
//! implementation (`DATA_DIR/parent.sqlite3`, WAL mode, migrations at open). A PostgreSQL store
//! can implement the same trait later.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use serde_bytes::ByteBuf;
use signer_common::protocol::{Curve, SealedWallet};

/// The file name of the SQLite database inside the data directory.
pub const DB_FILE: &str = "parent.sqlite3";

/// A store failure. Details are for logs only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    /// A row holds a value this build cannot read.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The blocking task running the query panicked or was cancelled.
    #[error("store task failed: {0}")]
    Task(String),
    /// The record already exists.
    #[error("duplicate record")]
    Duplicate,
}

/// A future returned by the store.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A wallet as stored: the public record, the sealed key and the creation evidence.
#[derive(Clone, PartialEq, Eq)]
pub struct WalletRecord {
    /// Chosen by the enclave.
    pub id: String,
    /// The owning organisation.
    pub org_id: String,
    /// The key's curve.
    pub curve: Curve,
    /// SEC1 compressed (secp256k1) or 32 bytes (Ed25519).
    pub public_key: Vec<u8>,
    /// The sealed private key, opaque to the parent.
    pub sealed: Vec<u8>,
    /// Optional display name.
    pub name: Option<String>,
    /// `Active`.
    pub status: String,
    /// RFC 3339, UTC, millisecond precision (sorts as text).
    pub date_created: String,
    /// The creation receipt (CBOR).
    pub receipt: Vec<u8>,
    /// The creation attestation document (COSE_Sign1).
    pub attestation: Vec<u8>,
}

impl std::fmt::Debug for WalletRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The sealed blob is kept out of logs.
        f.debug_struct("WalletRecord")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("curve", &self.curve)
            .field("name", &self.name)
            .field("status", &self.status)
            .field("date_created", &self.date_created)
            .finish_non_exhaustive()
    }
}

/// One page of wallets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletPage {
    /// In creation order (date, then id).
    pub items: Vec<WalletRecord>,
    /// The id to continue after, when more items follow.
    pub next: Option<String>,
}

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRecord {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// RFC 3339.
    pub date_created: String,
}

/// A user of an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Id.
    pub id: String,
    /// The organisation.
    pub org_id: String,
    /// Login name, unique within the organisation.
    pub username: String,
    /// RFC 3339.
    pub date_created: String,
}

/// A user's credential (public part only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    /// base64url credential id.
    pub cred_id: String,
    /// The owner.
    pub user_id: String,
    /// `Key` or `Fido2`.
    pub kind: String,
    /// `EdDSA`, `ES256`, `ES256K`.
    pub algorithm: String,
    /// The public key (raw 32 bytes for EdDSA).
    pub public_key: Vec<u8>,
    /// RFC 3339.
    pub date_created: String,
}

/// An application: the origin and relying-party id that user signatures must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRecord {
    /// Id.
    pub app_id: String,
    /// The organisation.
    pub org_id: String,
    /// Expected origin, e.g. `http://localhost:8080`.
    pub origin: String,
    /// WebAuthn relying-party id, e.g. `localhost`.
    pub rp_id: String,
    /// RFC 3339.
    pub date_created: String,
}

/// What the HTTP layer and dev bootstrap need from a store.
pub trait WalletStore: Send + Sync + 'static {
    /// Inserts a wallet, in one transaction. [`StoreError::Duplicate`] if the id exists.
    fn insert_wallet(&self, wallet: WalletRecord) -> StoreFuture<'_, ()>;
    /// The wallet with this id, if it belongs to `org_id`.
    fn get_wallet(&self, org_id: &str, wallet_id: &str) -> StoreFuture<'_, Option<WalletRecord>>;
    /// Only what signing needs (id, curve, public key, sealed blob) of the wallet with this id,
    /// if it belongs to `org_id`: read on every signing request, so it skips the ~5 KB of
    /// creation receipt and attestation that [`WalletStore::get_wallet`] returns.
    fn get_sealed_wallet(&self, org_id: &str, wallet_id: &str) -> StoreFuture<'_, Option<SealedWallet>>;
    /// Drops anything remembered of this wallet's signing material, so the next
    /// [`WalletStore::get_sealed_wallet`] reads the database (called when the enclave refuses
    /// the sealed blob).
    fn forget_sealed_wallet(&self, wallet_id: &str);
    /// Up to `limit` wallets of `org_id` in creation order, after the wallet `after` if given.
    /// `Ok(None)` when `after` is not a wallet of this organisation.
    fn list_wallets(
        &self,
        org_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreFuture<'_, Option<WalletPage>>;
    /// The oldest organisation, if any.
    fn first_org(&self) -> StoreFuture<'_, Option<OrgRecord>>;
    /// The user with this name in `org_id`.
    fn find_user(&self, org_id: &str, username: &str) -> StoreFuture<'_, Option<UserRecord>>;
    /// A credential by id.
    fn get_credential(&self, cred_id: &str) -> StoreFuture<'_, Option<CredentialRecord>>;
    /// The oldest application of `org_id` (its default).
    fn default_app(&self, org_id: &str) -> StoreFuture<'_, Option<AppRecord>>;
    /// Inserts an organisation with its first user, credential and application, in one
    /// transaction.
    fn insert_org_bootstrap(
        &self,
        org: OrgRecord,
        user: UserRecord,
        credential: CredentialRecord,
        app: AppRecord,
    ) -> StoreFuture<'_, ()>;
    /// Adds a credential.
    fn insert_credential(&self, credential: CredentialRecord) -> StoreFuture<'_, ()>;
    /// Changes an application's origin (dev mode follows the port it listens on).
    fn set_app_origin(&self, app_id: &str, origin: &str) -> StoreFuture<'_, ()>;
}

impl std::fmt::Debug for dyn WalletStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WalletStore")
    }
}

/// The schema, one migration per entry; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[r#"
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
"#];

/// The embedded SQLite store. Queries run on Tokio's blocking pool, one at a time; the signing
/// material of wallets already read is answered from memory ([`SealedWalletCache`]).
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    sealed: Arc<SealedWalletCache>,
}

/// The most wallets whose signing material [`SealedWalletCache`] keeps (about 200 bytes each).
const SEALED_WALLET_CACHE_ENTRIES: usize = 65_536;

/// Signing material of wallets already read, by wallet id (ids are unique across
/// organisations), with the owning organisation.
///
/// Why: a signing request otherwise costs a hop to the blocking pool and a SQLite read, measured
/// at about 50 us of the parent's ~190 us of CPU per request. Why it stays right: a wallet's row
/// is written once, at creation, and never updated (no API changes it). Should a row change
/// underneath (a restored backup, an operator's edit), the enclave refuses the stale blob, the
/// entry is forgotten and the next request reads the row again. Trust is not involved: the
/// parent is not trusted with the blob either way; the enclave checks it.
#[derive(Default)]
struct SealedWalletCache {
    entries: Mutex<HashMap<String, (String, SealedWallet)>>,
}

impl SealedWalletCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, SealedWallet)>> {
        // A poisoned map is still a valid map: entries are inserted and removed whole.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, org_id: &str, wallet_id: &str) -> Option<SealedWallet> {
        let entries = self.lock();
        let (owner, wallet) = entries.get(wallet_id)?;
        (owner == org_id).then(|| wallet.clone())
    }

    fn insert(&self, org_id: &str, wallet: &SealedWallet) {
        let mut entries = self.lock();
        if entries.len() >= SEALED_WALLET_CACHE_ENTRIES
            && !entries.contains_key(&wallet.wallet_id)
            && let Some(victim) = entries.keys().next().cloned()
        {
            entries.remove(&victim);
        }
        entries.insert(wallet.wallet_id.clone(), (org_id.to_owned(), wallet.clone()));
    }

    fn forget(&self, wallet_id: &str) {
        self.lock().remove(wallet_id);
    }

    /// How many wallets are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
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
        Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)), sealed: Arc::default() })
    }

    /// Runs `f` with the connection on the blocking pool.
    fn run<T, F>(&self, f: F) -> StoreFuture<'static, T>
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

fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

const WALLET_COLUMNS: &str =
    "id, org_id, curve, public_key, sealed, name, status, date_created, receipt, attestation";

fn wallet_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(WalletRecord, String)> {
    let curve: String = row.get(2)?;
    Ok((
        WalletRecord {
            id: row.get(0)?,
            org_id: row.get(1)?,
            curve: Curve::Ed25519, // replaced below once the text is parsed
            public_key: row.get(3)?,
            sealed: row.get(4)?,
            name: row.get(5)?,
            status: row.get(6)?,
            date_created: row.get(7)?,
            receipt: row.get(8)?,
            attestation: row.get(9)?,
        },
        curve,
    ))
}

fn finish_wallet((mut wallet, curve): (WalletRecord, String)) -> Result<WalletRecord, StoreError> {
    wallet.curve = parse_curve(&wallet.id, &curve)?;
    Ok(wallet)
}

/// A wallet row's `curve` column.
fn parse_curve(wallet_id: &str, text: &str) -> Result<Curve, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt(format!("wallet {wallet_id}: curve {text:?}")))
}

impl WalletStore for SqliteStore {
    fn insert_wallet(&self, w: WalletRecord) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let inserted = tx.execute(
                &format!(
                    "INSERT INTO wallets ({WALLET_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                ),
                params![
                    w.id,
                    w.org_id,
                    w.curve.as_str(),
                    w.public_key,
                    w.sealed,
                    w.name,
                    w.status,
                    w.date_created,
                    w.receipt,
                    w.attestation
                ],
            );
            match inserted {
                Ok(_) => {}
                Err(e) if is_constraint(&e) => return Err(StoreError::Duplicate),
                Err(e) => return Err(e.into()),
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn get_sealed_wallet(&self, org_id: &str, wallet_id: &str) -> StoreFuture<'_, Option<SealedWallet>> {
        if let Some(wallet) = self.sealed.get(org_id, wallet_id) {
            return Box::pin(std::future::ready(Ok(Some(wallet))));
        }
        let (org_id, wallet_id) = (org_id.to_owned(), wallet_id.to_owned());
        let cache = self.sealed.clone();
        self.run(move |conn| {
            // On every signing request: keep the parsed statement.
            let row = conn
                .prepare_cached(
                    "SELECT curve, public_key, sealed FROM wallets WHERE id = ?1 AND org_id = ?2",
                )?
                .query_row(params![wallet_id, org_id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, Vec<u8>>(2)?))
                })
                .optional()?;
            row.map(|(curve, public_key, sealed)| {
                let curve = parse_curve(&wallet_id, &curve)?;
                let wallet = SealedWallet {
                    wallet_id: wallet_id.clone(),
                    curve,
                    public_key: ByteBuf::from(public_key),
                    sealed: ByteBuf::from(sealed),
                };
                cache.insert(&org_id, &wallet);
                Ok(wallet)
            })
            .transpose()
        })
    }

    fn forget_sealed_wallet(&self, wallet_id: &str) {
        self.sealed.forget(wallet_id);
    }

    fn get_wallet(&self, org_id: &str, wallet_id: &str) -> StoreFuture<'_, Option<WalletRecord>> {
        let (org_id, wallet_id) = (org_id.to_owned(), wallet_id.to_owned());
        self.run(move |conn| {
            let row = conn
                .prepare_cached(&format!(
                    "SELECT {WALLET_COLUMNS} FROM wallets WHERE id = ?1 AND org_id = ?2"
                ))?
                .query_row(params![wallet_id, org_id], wallet_from_row)
                .optional()?;
            row.map(finish_wallet).transpose()
        })
    }

    fn list_wallets(
        &self,
        org_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreFuture<'_, Option<WalletPage>> {
        let (org_id, after) = (org_id.to_owned(), after.map(str::to_owned));
        self.run(move |conn| {
            let cursor: Option<(String, String)> = match after {
                None => None,
                Some(id) => {
                    let date: Option<String> = conn
                        .query_row(
                            "SELECT date_created FROM wallets WHERE id = ?1 AND org_id = ?2",
                            params![id, org_id],
                            |r| r.get(0),
                        )
                        .optional()?;
                    match date {
                        Some(date) => Some((date, id)),
                        None => return Ok(None),
                    }
                }
            };
            // One more than asked, to know whether another page follows.
            let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
            let (date, id) = cursor.unwrap_or_default();
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {WALLET_COLUMNS} FROM wallets \
                 WHERE org_id = ?1 AND (?2 = 0 OR (date_created, id) > (?3, ?4)) \
                 ORDER BY date_created, id LIMIT ?5"
            ))?;
            let has_cursor = !id.is_empty();
            let rows = stmt.query_map(params![org_id, has_cursor, date, id, fetch], wallet_from_row)?;
            let mut items = Vec::new();
            for row in rows {
                items.push(finish_wallet(row?)?);
            }
            let next = if items.len() > limit {
                items.truncate(limit);
                items.last().map(|w| w.id.clone())
            } else {
                None
            };
            Ok(Some(WalletPage { items, next }))
        })
    }

    fn first_org(&self) -> StoreFuture<'_, Option<OrgRecord>> {
        self.run(|conn| {
            Ok(conn
                .query_row(
                    "SELECT id, name, date_created FROM orgs ORDER BY date_created, id LIMIT 1",
                    [],
                    |r| Ok(OrgRecord { id: r.get(0)?, name: r.get(1)?, date_created: r.get(2)? }),
                )
                .optional()?)
        })
    }

    fn find_user(&self, org_id: &str, username: &str) -> StoreFuture<'_, Option<UserRecord>> {
        let (org_id, username) = (org_id.to_owned(), username.to_owned());
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT id, org_id, username, date_created FROM users WHERE org_id = ?1 AND username = ?2",
                    params![org_id, username],
                    |r| Ok(UserRecord { id: r.get(0)?, org_id: r.get(1)?, username: r.get(2)?, date_created: r.get(3)? }),
                )
                .optional()?)
        })
    }

    fn get_credential(&self, cred_id: &str) -> StoreFuture<'_, Option<CredentialRecord>> {
        let cred_id = cred_id.to_owned();
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT cred_id, user_id, kind, algorithm, public_key, date_created FROM credentials \
                     WHERE cred_id = ?1",
                    params![cred_id],
                    |r| {
                        Ok(CredentialRecord {
                            cred_id: r.get(0)?,
                            user_id: r.get(1)?,
                            kind: r.get(2)?,
                            algorithm: r.get(3)?,
                            public_key: r.get(4)?,
                            date_created: r.get(5)?,
                        })
                    },
                )
                .optional()?)
        })
    }

    fn default_app(&self, org_id: &str) -> StoreFuture<'_, Option<AppRecord>> {
        let org_id = org_id.to_owned();
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT app_id, org_id, origin, rp_id, date_created FROM apps WHERE org_id = ?1 \
                     ORDER BY date_created, app_id LIMIT 1",
                    params![org_id],
                    |r| {
                        Ok(AppRecord {
                            app_id: r.get(0)?,
                            org_id: r.get(1)?,
                            origin: r.get(2)?,
                            rp_id: r.get(3)?,
                            date_created: r.get(4)?,
                        })
                    },
                )
                .optional()?)
        })
    }

    fn insert_org_bootstrap(
        &self,
        org: OrgRecord,
        user: UserRecord,
        cred: CredentialRecord,
        app: AppRecord,
    ) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO orgs (id, name, date_created) VALUES (?1, ?2, ?3)",
                params![org.id, org.name, org.date_created],
            )?;
            tx.execute(
                "INSERT INTO users (id, org_id, username, date_created) VALUES (?1, ?2, ?3, ?4)",
                params![user.id, user.org_id, user.username, user.date_created],
            )?;
            insert_credential_in(&tx, &cred)?;
            tx.execute(
                "INSERT INTO apps (app_id, org_id, origin, rp_id, date_created) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![app.app_id, app.org_id, app.origin, app.rp_id, app.date_created],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn insert_credential(&self, cred: CredentialRecord) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            insert_credential_in(conn, &cred)?;
            Ok(())
        })
    }

    fn set_app_origin(&self, app_id: &str, origin: &str) -> StoreFuture<'_, ()> {
        let (app_id, origin) = (app_id.to_owned(), origin.to_owned());
        self.run(move |conn| {
            conn.execute("UPDATE apps SET origin = ?1 WHERE app_id = ?2", params![origin, app_id])?;
            Ok(())
        })
    }
}

fn insert_credential_in(conn: &Connection, c: &CredentialRecord) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO credentials (cred_id, user_id, kind, algorithm, public_key, date_created) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![c.cred_id, c.user_id, c.kind, c.algorithm, c.public_key, c.date_created],
    )
    .map_err(|e| if is_constraint(&e) { StoreError::Duplicate } else { e.into() })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wallet(id: &str, org: &str, date: &str) -> WalletRecord {
        WalletRecord {
            id: id.into(),
            org_id: org.into(),
            curve: Curve::Secp256k1,
            public_key: vec![2; 33],
            sealed: vec![9; 60],
            name: Some(format!("w {id}")),
            status: "Active".into(),
            date_created: date.into(),
            receipt: vec![0xa1],
            attestation: vec![0xd2],
        }
    }

    #[tokio::test]
    async fn wallets_round_trip_scoped_by_org() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_in(dir.path()).unwrap();
        let mut w = wallet("wa-1", "or-a", "2026-11-25T10:00:00.000Z");
        w.curve = Curve::Ed25519;
        w.name = None;
        store.insert_wallet(w.clone()).await.unwrap();
        assert_eq!(store.get_wallet("or-a", "wa-1").await.unwrap(), Some(w.clone()));
        assert_eq!(store.get_wallet("or-b", "wa-1").await.unwrap(), None);
        assert_eq!(store.get_wallet("or-a", "wa-2").await.unwrap(), None);
        assert!(matches!(store.insert_wallet(w.clone()).await, Err(StoreError::Duplicate)));
        // Debug output leaves the sealed blob out.
        assert!(!format!("{w:?}").contains("9, 9"));

        // Reopening sees the same data and does not re-run migrations.
        drop(store);
        let store = SqliteStore::open_in(dir.path()).unwrap();
        assert_eq!(store.get_wallet("or-a", "wa-1").await.unwrap(), Some(w));
    }

    #[tokio::test]
    async fn signing_material_is_remembered_per_org_and_forgotten_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_in(dir.path()).unwrap();
        store.insert_wallet(wallet("wa-1", "or-a", "2026-11-25T10:00:00.000Z")).await.unwrap();
        assert_eq!(store.sealed.len(), 0, "creation does not fill the cache");

        let first = store.get_sealed_wallet("or-a", "wa-1").await.unwrap().unwrap();
        assert_eq!(
            (first.wallet_id.as_str(), first.curve, first.public_key.as_slice(), first.sealed.as_slice()),
            ("wa-1", Curve::Secp256k1, &[2u8; 33][..], &[9u8; 60][..])
        );
        assert_eq!(store.sealed.len(), 1);
        // Another organisation sees nothing, cached or not.
        assert!(store.get_sealed_wallet("or-b", "wa-1").await.unwrap().is_none());
        assert!(store.get_sealed_wallet("or-a", "wa-2").await.unwrap().is_none());

        // A row rewritten underneath: the remembered copy answers until it is forgotten.
        let path = dir.path().join(DB_FILE);
        let other = Connection::open(&path).unwrap();
        other.execute("UPDATE wallets SET sealed = ?1 WHERE id = 'wa-1'", params![vec![7u8; 60]]).unwrap();
        assert_eq!(
            store.get_sealed_wallet("or-a", "wa-1").await.unwrap().unwrap().sealed.as_slice(),
            [9; 60]
        );
        store.forget_sealed_wallet("wa-1");
        assert_eq!(
            store.get_sealed_wallet("or-a", "wa-1").await.unwrap().unwrap().sealed.as_slice(),
            [7; 60]
        );
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = SealedWalletCache::default();
        let sealed = |i: usize| SealedWallet {
            wallet_id: format!("wa-{i}"),
            curve: Curve::Ed25519,
            public_key: ByteBuf::from(vec![1; 32]),
            sealed: ByteBuf::from(vec![2; 61]),
        };
        for i in 0..SEALED_WALLET_CACHE_ENTRIES + 10 {
            cache.insert("or-a", &sealed(i));
        }
        assert_eq!(cache.len(), SEALED_WALLET_CACHE_ENTRIES);
        let last = SEALED_WALLET_CACHE_ENTRIES + 9;
        assert!(cache.get("or-a", &format!("wa-{last}")).is_some(), "the newest entry is kept");
    }

    #[tokio::test]
    async fn pagination_follows_date_then_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_in(dir.path()).unwrap();
        // Inserted out of order; two share a date.
        for (id, date) in [
            ("wa-c", "2026-11-25T10:00:02.000Z"),
            ("wa-a", "2026-11-25T10:00:01.000Z"),
            ("wa-e", "2026-11-25T10:00:03.000Z"),
            ("wa-b", "2026-11-25T10:00:02.000Z"),
            ("wa-d", "2026-11-25T10:00:02.500Z"),
        ] {
            store.insert_wallet(wallet(id, "or-a", date)).await.unwrap();
        }
        store.insert_wallet(wallet("wa-x", "or-b", "2026-11-25T10:00:00.000Z")).await.unwrap();

        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.list_wallets("or-a", after.as_deref(), 2).await.unwrap().unwrap();
            seen.extend(page.items.iter().map(|w| w.id.clone()));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, ["wa-a", "wa-b", "wa-c", "wa-d", "wa-e"]);

        let all = store.list_wallets("or-a", None, 5).await.unwrap().unwrap();
        assert_eq!(all.items.len(), 5);
        assert_eq!(all.next, None, "no next token when the last page is exactly full");
        // A token from another org is refused, not silently reset.
        assert_eq!(store.list_wallets("or-a", Some("wa-x"), 2).await.unwrap(), None);
        assert_eq!(store.list_wallets("or-b", None, 10).await.unwrap().unwrap().items.len(), 1);
    }

    #[tokio::test]
    async fn bootstrap_records_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_in(dir.path()).unwrap();
        assert_eq!(store.first_org().await.unwrap(), None);
        let date = "2026-11-25T10:00:00.000Z".to_string();
        let org = OrgRecord { id: "or-1".into(), name: "dev".into(), date_created: date.clone() };
        let user = UserRecord {
            id: "us-1".into(),
            org_id: "or-1".into(),
            username: "admin@dev.local".into(),
            date_created: date.clone(),
        };
        let cred = CredentialRecord {
            cred_id: "Y3JlZA".into(),
            user_id: "us-1".into(),
            kind: "Key".into(),
            algorithm: "EdDSA".into(),
            public_key: vec![7; 32],
            date_created: date.clone(),
        };
        let app = AppRecord {
            app_id: "ap-1".into(),
            org_id: "or-1".into(),
            origin: "http://localhost:1".into(),
            rp_id: "localhost".into(),
            date_created: date,
        };
        store.insert_org_bootstrap(org.clone(), user.clone(), cred.clone(), app.clone()).await.unwrap();
        assert_eq!(store.first_org().await.unwrap(), Some(org));
        assert_eq!(store.find_user("or-1", "admin@dev.local").await.unwrap(), Some(user));
        assert_eq!(store.get_credential("Y3JlZA").await.unwrap(), Some(cred.clone()));
        assert!(matches!(store.insert_credential(cred).await, Err(StoreError::Duplicate)));
        store.set_app_origin("ap-1", "http://localhost:2").await.unwrap();
        assert_eq!(store.default_app("or-1").await.unwrap().unwrap().origin, "http://localhost:2");
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
