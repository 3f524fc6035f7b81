//! The store's error and future types, shared by every resource file.

use std::future::Future;
use std::pin::Pin;

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
    /// A record was not replaced: the stored version is not the one read (another update came
    /// first), or the new record is not newer.
    #[error("stale record: the stored version changed or the new one is not newer")]
    Stale,
}

/// A future returned by the store.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;
