//! The parent's store: public wallet records with their sealed keys, and the organisations,
//! users, credentials and applications that dev bootstrap needs.
//!
//! Everything here is untrusted by the enclave: sealed blobs are opened only by the enclave, which
//! checks that they belong to the wallet id, curve and public key stored beside them.
//!
//! One trait per resource, so each kind of record has a room of its own:
//! - [`wallets`]: [`WalletStore`], wallets and their signing material;
//! - [`identities`]: [`IdentityStore`], organisations, users, credentials and applications;
//! - [`Store`]: both, what the HTTP layer holds.
//!
//! [`SqliteStore`] ([`sqlite`]) is the embedded implementation (`DATA_DIR/parent.sqlite3`, WAL
//! mode, migrations at open); each resource file holds its part of it. A PostgreSQL store can
//! implement the same traits later.

use std::future::Future;
use std::pin::Pin;

pub mod identities;
pub mod sqlite;
pub mod wallets;

pub use identities::{AppRecord, CredentialRecord, IdentityStore, OrgRecord, UserRecord};
pub use sqlite::{DB_FILE, SqliteStore};
pub use wallets::{WalletPage, WalletRecord, WalletStore};

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

/// Everything a store provides: what the HTTP layer and dev bootstrap hold.
pub trait Store: WalletStore + IdentityStore {}

impl<T: WalletStore + IdentityStore> Store for T {}

impl std::fmt::Debug for dyn Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}
