//! The parent's store: public wallet records with their sealed keys, and the organisations,
//! and the notarized records of users, credentials and applications.
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

pub mod error;
pub mod identities;
pub mod sqlite;
pub mod wallets;

pub use error::{StoreError, StoreFuture};
pub use identities::{CallRecords, CallRecordsQuery, IdentityStore, OrgRow, Stored};
pub use sqlite::{DB_FILE, SqliteStore};
pub use wallets::{WalletPage, WalletRecord, WalletStore};

/// Everything a store provides: what the HTTP layer and dev bootstrap hold.
pub trait Store: WalletStore + IdentityStore {}

impl<T: WalletStore + IdentityStore> Store for T {}

impl std::fmt::Debug for dyn Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}
