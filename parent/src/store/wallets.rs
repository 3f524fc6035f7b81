//! Wallets: the public record, the sealed key and the creation evidence; [`WalletStore`] and
//! its SQLite implementation.

use rusqlite::{OptionalExtension, params};
use serde_bytes::ByteBuf;
use signer_common::identity::Notarized;
use signer_common::protocol::{Curve, SealedWallet, WalletContext};

use super::error::{StoreError, StoreFuture};
use super::sqlite::{SqliteStore, is_constraint};

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
    /// The user who created it (`None` for wallets created before ownership records).
    pub owner_user_id: Option<String>,
    /// The enclave's ownership record (`None` for wallets created before; those cannot sign).
    pub record: Option<Notarized>,
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
            .field("owner_user_id", &self.owner_user_id)
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

/// Wallets: what the wallet and signature routes need.
pub trait WalletStore: Send + Sync + 'static {
    /// Inserts a wallet, in one transaction. [`StoreError::Duplicate`] if the id exists.
    fn insert_wallet(&self, wallet: WalletRecord) -> StoreFuture<'_, ()>;
    /// The wallet with this id, if it belongs to `org_id`.
    fn get_wallet(&self, org_id: &str, wallet_id: &str) -> StoreFuture<'_, Option<WalletRecord>>;
    /// Only what signing needs (id, curve, public key, sealed blob, ownership record) of the
    /// wallet with this id, if it belongs to `org_id` and has an ownership record: read on every
    /// signing request, so it skips the ~5 KB of creation receipt and attestation that
    /// [`WalletStore::get_wallet`] returns.
    fn get_sealed_wallet(&self, org_id: &str, wallet_id: &str) -> StoreFuture<'_, Option<WalletContext>>;
    /// Drops anything remembered of this wallet's signing material, so the next
    /// [`WalletStore::get_sealed_wallet`] reads the database (called when the enclave refuses
    /// the sealed blob or the call).
    fn forget_sealed_wallet(&self, wallet_id: &str);
    /// Up to `limit` wallets of `org_id` in creation order, after the wallet `after` if given.
    /// `Ok(None)` when `after` is not a wallet of this organisation.
    fn list_wallets(
        &self,
        org_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreFuture<'_, Option<WalletPage>>;
}

const WALLET_COLUMNS: &str = "id, org_id, curve, public_key, sealed, name, status, date_created, receipt, \
     attestation, owner_user_id, record_body, record_tag";

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
            owner_user_id: row.get(10)?,
            record: record(row.get(11)?, row.get(12)?),
        },
        curve,
    ))
}

fn finish_wallet((mut wallet, curve): (WalletRecord, String)) -> Result<WalletRecord, StoreError> {
    wallet.curve = parse_curve(&wallet.id, &curve)?;
    Ok(wallet)
}

/// The ownership record of a row, when it has one.
fn record(body: Option<Vec<u8>>, tag: Option<Vec<u8>>) -> Option<Notarized> {
    Some(Notarized { body: ByteBuf::from(body?), tag: ByteBuf::from(tag?) })
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
                    "INSERT INTO wallets ({WALLET_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
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
                    w.attestation,
                    w.owner_user_id,
                    w.record.as_ref().map(|r| r.body.to_vec()),
                    w.record.as_ref().map(|r| r.tag.to_vec())
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

    fn get_sealed_wallet(&self, org_id: &str, wallet_id: &str) -> StoreFuture<'_, Option<WalletContext>> {
        if let Some(wallet) = self.sealed.get(org_id, wallet_id) {
            return Box::pin(std::future::ready(Ok(Some(wallet))));
        }
        let (org_id, wallet_id) = (org_id.to_owned(), wallet_id.to_owned());
        let cache = self.sealed.clone();
        self.run(move |conn| {
            // On every signing request: keep the parsed statement.
            let row = conn
                .prepare_cached(
                    "SELECT curve, public_key, sealed, record_body, record_tag FROM wallets \
                     WHERE id = ?1 AND org_id = ?2",
                )?
                .query_row(params![wallet_id, org_id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        record(r.get(3)?, r.get(4)?),
                    ))
                })
                .optional()?;
            let Some((curve, public_key, sealed, Some(record))) = row else {
                return Ok(None);
            };
            let curve = parse_curve(&wallet_id, &curve)?;
            let sealed = SealedWallet {
                wallet_id: wallet_id.clone(),
                curve,
                public_key: ByteBuf::from(public_key),
                sealed: ByteBuf::from(sealed),
            };
            let wallet = WalletContext { sealed, record };
            cache.insert(&org_id, &wallet);
            Ok(Some(wallet))
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
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::store::sqlite::DB_FILE;

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
            owner_user_id: Some("us-1".into()),
            record: Some(Notarized { body: ByteBuf::from(vec![0xa0]), tag: ByteBuf::from(vec![1; 32]) }),
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
        assert_eq!(first.record.body.as_slice(), [0xa0]);
        let first = first.sealed;
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
            store.get_sealed_wallet("or-a", "wa-1").await.unwrap().unwrap().sealed.sealed.as_slice(),
            [9; 60]
        );
        store.forget_sealed_wallet("wa-1");
        assert_eq!(
            store.get_sealed_wallet("or-a", "wa-1").await.unwrap().unwrap().sealed.sealed.as_slice(),
            [7; 60]
        );
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
}
