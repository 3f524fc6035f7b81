//! Organisations, users, credentials and applications: [`IdentityStore`] and its SQLite
//! implementation.
//!
//! Users, credentials and applications are notarized records ([`Notarized`]: a CBOR body and
//! the enclave's tag), stored whole as blobs, with the few columns needed to find them, filled
//! from the body ([`Notarized::decode_unverified`]). The parent never makes or changes a record:
//! it stores what the enclave answered. A record is replaced only by a newer version, and only
//! if the stored version is still the one read (compare-and-set), so concurrent updates cannot
//! move a record backwards.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_bytes::ByteBuf;
use signer_common::identity::{AppRecord, CredentialRecord, Notarized, Record, Status, UserRecord};

use super::error::{StoreError, StoreFuture};
use super::sqlite::{SqliteStore, is_constraint};

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRow {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// RFC 3339.
    pub date_created: String,
}

/// A stored record and when the parent first stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The record as the enclave notarized it.
    pub record: Notarized,
    /// RFC 3339.
    pub date_created: String,
}

/// What [`IdentityStore::call_records`] looks up.
#[derive(Debug, Clone)]
pub struct CallRecordsQuery {
    /// The organisation.
    pub org_id: String,
    /// `X-App-Id`, or the default application when `None`.
    pub app_id: Option<String>,
    /// The acting user.
    pub user_id: String,
    /// Whether to read the user's record too (a bearer's [`crate::auth::Caller`] holds it
    /// already).
    pub read_user: bool,
    /// The signing credential's raw id, if any: found only when its row is the user's, in
    /// this organisation.
    pub cred_id: Option<Vec<u8>>,
}

/// What [`IdentityStore::call_records`] found.
#[derive(Debug, Clone, Default)]
pub struct CallRecords {
    /// The application.
    pub app: Option<Notarized>,
    /// The user.
    pub user: Option<Notarized>,
    /// The credential.
    pub credential: Option<Stored>,
}

/// Organisations, users, credentials and applications.
pub trait IdentityStore: Send + Sync + 'static {
    /// The oldest organisation, if any.
    fn first_org(&self) -> StoreFuture<'_, Option<OrgRow>>;
    /// Inserts an organisation with its default application, in one transaction.
    fn insert_org(&self, org: OrgRow, app: Notarized) -> StoreFuture<'_, ()>;
    /// The application `app_id` of `org_id`, or the org's default (oldest) when `None`.
    fn get_app(&self, org_id: &str, app_id: Option<&str>) -> StoreFuture<'_, Option<Notarized>>;
    /// The user named `username` in `org_id`.
    fn find_user(&self, org_id: &str, username: &str) -> StoreFuture<'_, Option<Notarized>>;
    /// The user `user_id` of `org_id`.
    fn get_user(&self, org_id: &str, user_id: &str) -> StoreFuture<'_, Option<Notarized>>;
    /// Inserts a new user and their first credential, in one transaction;
    /// [`StoreError::Duplicate`] if the name is taken in the org or either id exists.
    fn insert_user(&self, user: Notarized, credential: Notarized, date: String) -> StoreFuture<'_, ()>;
    /// A credential by its raw id.
    fn get_credential(&self, cred_id: &[u8]) -> StoreFuture<'_, Option<Stored>>;
    /// Every credential of `user_id`, oldest first.
    fn user_credentials(&self, user_id: &str) -> StoreFuture<'_, Vec<Stored>>;
    /// Adds a credential; [`StoreError::Duplicate`] if its id exists.
    fn insert_credential(&self, credential: Notarized, date: String) -> StoreFuture<'_, ()>;
    /// The records a call needs, in one store round trip (the hot path of signing): the
    /// application (`app_id`, or the organisation's default), the user and, when `cred_id` is
    /// given, that credential if its row names the user and organisation (the enclave checks
    /// the record itself).
    fn call_records(&self, query: CallRecordsQuery) -> StoreFuture<'_, CallRecords>;
    /// The records of every user of `org_id`, in creation order.
    fn org_users(&self, org_id: &str) -> StoreFuture<'_, Vec<Notarized>>;
    /// The record of `user_id` of `org_id` if the user is active, `None` otherwise (read in
    /// place: every bearer request asks, and the signing hot path uses the record it answers).
    fn active_user(&self, org_id: &str, user_id: &str) -> StoreFuture<'_, Option<Notarized>>;
    /// Whether the credential `cred_id` of `user_id` is active, `None` when the user has no such
    /// credential (read in place: every request of a personal access token asks).
    fn credential_is_active(&self, user_id: &str, cred_id: &[u8]) -> StoreFuture<'_, Option<bool>>;
    /// Replaces a user, credential or application record with `new`, if the stored one still
    /// has `read_version` and `new` is newer; [`StoreError::Stale`] otherwise.
    fn replace_record(&self, read_version: u64, new: Notarized) -> StoreFuture<'_, ()>;
}

fn version(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt("record version past i64".into()))
}

fn decode(record: &Notarized) -> Result<Record, StoreError> {
    record.decode_unverified().map_err(|e| StoreError::Corrupt(format!("record body: {e}")))
}

fn user_body(record: &Notarized) -> Result<UserRecord, StoreError> {
    match decode(record)? {
        Record::User(u) => Ok(u),
        _ => Err(StoreError::Corrupt("not a user record".into())),
    }
}

fn credential_body(record: &Notarized) -> Result<CredentialRecord, StoreError> {
    match decode(record)? {
        Record::Credential(c) => Ok(c),
        _ => Err(StoreError::Corrupt("not a credential record".into())),
    }
}

fn app_body(record: &Notarized) -> Result<AppRecord, StoreError> {
    match decode(record)? {
        Record::App(a) => Ok(a),
        _ => Err(StoreError::Corrupt("not an application record".into())),
    }
}

fn notarized(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Notarized> {
    Ok(Notarized {
        body: ByteBuf::from(row.get::<_, Vec<u8>>(at)?),
        tag: ByteBuf::from(row.get::<_, Vec<u8>>(at + 1)?),
    })
}

fn stored(row: &rusqlite::Row<'_>) -> rusqlite::Result<Stored> {
    Ok(Stored { record: notarized(row, 0)?, date_created: row.get(2)? })
}

fn constraint(e: rusqlite::Error) -> StoreError {
    if is_constraint(&e) { StoreError::Duplicate } else { e.into() }
}

fn insert_credential_in(tx: &Connection, record: &Notarized, date: &str) -> Result<(), StoreError> {
    let c = credential_body(record)?;
    tx.execute(
        "INSERT INTO credentials (cred_id, user_id, org_id, kind, status, version, body, tag, date_created) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            c.cred_id.as_slice(),
            c.user_id,
            c.org_id,
            c.kind.as_str(),
            c.status.as_str(),
            version(c.version)?,
            record.body.as_slice(),
            record.tag.as_slice(),
            date
        ],
    )
    .map_err(constraint)?;
    Ok(())
}

fn replace_in(tx: &Transaction<'_>, read_version: u64, new: &Notarized) -> Result<(), StoreError> {
    let record = decode(new)?;
    if record.version() <= read_version {
        return Err(StoreError::Stale);
    }
    let (new_v, old_v) = (version(record.version())?, version(read_version)?);
    let (body, tag) = (new.body.as_slice(), new.tag.as_slice());
    let changed = match &record {
        Record::User(u) => tx.execute(
            "UPDATE users SET version = ?1, body = ?2, tag = ?3, status = ?4 \
             WHERE user_id = ?5 AND org_id = ?6 AND username = ?7 AND version = ?8",
            params![new_v, body, tag, u.status.as_str(), u.user_id, u.org_id, u.username, old_v],
        )?,
        Record::Credential(c) => tx.execute(
            "UPDATE credentials SET version = ?1, body = ?2, tag = ?3, status = ?4 \
             WHERE cred_id = ?5 AND user_id = ?6 AND version = ?7",
            params![new_v, body, tag, c.status.as_str(), c.cred_id.as_slice(), c.user_id, old_v],
        )?,
        Record::App(a) => tx.execute(
            "UPDATE apps SET version = ?1, body = ?2, tag = ?3 WHERE app_id = ?4 AND org_id = ?5 AND version = ?6",
            params![new_v, body, tag, a.app_id, a.org_id, old_v],
        )?,
        Record::Wallet(_) => return Err(StoreError::Corrupt("wallet records are never replaced".into())),
    };
    if changed == 1 { Ok(()) } else { Err(StoreError::Stale) }
}

fn query_app(conn: &Connection, org_id: &str, app_id: Option<&str>) -> Result<Option<Notarized>, StoreError> {
    Ok(match app_id {
        Some(app_id) => conn
            .prepare_cached("SELECT body, tag FROM apps WHERE org_id = ?1 AND app_id = ?2")?
            .query_row(params![org_id, app_id], |r| notarized(r, 0))
            .optional()?,
        None => conn
            .prepare_cached(
                "SELECT body, tag FROM apps WHERE org_id = ?1 ORDER BY date_created, app_id LIMIT 1",
            )?
            .query_row(params![org_id], |r| notarized(r, 0))
            .optional()?,
    })
}

fn query_user(conn: &Connection, org_id: &str, user_id: &str) -> Result<Option<Notarized>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT body, tag FROM users WHERE org_id = ?1 AND user_id = ?2")?
        .query_row(params![org_id, user_id], |r| notarized(r, 0))
        .optional()?)
}

fn query_credential(conn: &Connection, cred_id: &[u8]) -> Result<Option<Stored>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT body, tag, date_created FROM credentials WHERE cred_id = ?1")?
        .query_row(params![cred_id], stored)
        .optional()?)
}

impl IdentityStore for SqliteStore {
    fn first_org(&self) -> StoreFuture<'_, Option<OrgRow>> {
        self.run(|conn| {
            Ok(conn
                .query_row(
                    "SELECT id, name, date_created FROM orgs ORDER BY date_created, id LIMIT 1",
                    [],
                    |r| Ok(OrgRow { id: r.get(0)?, name: r.get(1)?, date_created: r.get(2)? }),
                )
                .optional()?)
        })
    }

    fn insert_org(&self, org: OrgRow, app: Notarized) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            let a = app_body(&app)?;
            if a.org_id != org.id {
                return Err(StoreError::Corrupt("the application is of another organisation".into()));
            }
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO orgs (id, name, date_created) VALUES (?1, ?2, ?3)",
                params![org.id, org.name, org.date_created],
            )
            .map_err(constraint)?;
            tx.execute(
                "INSERT INTO apps (app_id, org_id, version, body, tag, date_created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![a.app_id, a.org_id, version(a.version)?, app.body.as_slice(), app.tag.as_slice(), org.date_created],
            )
            .map_err(constraint)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn get_app(&self, org_id: &str, app_id: Option<&str>) -> StoreFuture<'_, Option<Notarized>> {
        let (org_id, app_id) = (org_id.to_owned(), app_id.map(str::to_owned));
        self.run(move |conn| query_app(conn, &org_id, app_id.as_deref()))
    }

    fn find_user(&self, org_id: &str, username: &str) -> StoreFuture<'_, Option<Notarized>> {
        let (org_id, username) = (org_id.to_owned(), username.to_owned());
        self.run(move |conn| {
            Ok(conn
                .prepare_cached("SELECT body, tag FROM users WHERE org_id = ?1 AND username = ?2")?
                .query_row(params![org_id, username], |r| notarized(r, 0))
                .optional()?)
        })
    }

    fn get_user(&self, org_id: &str, user_id: &str) -> StoreFuture<'_, Option<Notarized>> {
        let (org_id, user_id) = (org_id.to_owned(), user_id.to_owned());
        self.run(move |conn| query_user(conn, &org_id, &user_id))
    }

    fn insert_user(&self, user: Notarized, credential: Notarized, date: String) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            let u = user_body(&user)?;
            let c = credential_body(&credential)?;
            if c.user_id != u.user_id || c.org_id != u.org_id {
                return Err(StoreError::Corrupt("the credential is of another user".into()));
            }
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO users (user_id, org_id, username, version, body, tag, date_created, status) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    u.user_id,
                    u.org_id,
                    u.username,
                    version(u.version)?,
                    user.body.as_slice(),
                    user.tag.as_slice(),
                    date,
                    u.status.as_str()
                ],
            )
            .map_err(constraint)?;
            insert_credential_in(&tx, &credential, &date)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn get_credential(&self, cred_id: &[u8]) -> StoreFuture<'_, Option<Stored>> {
        let cred_id = cred_id.to_vec();
        self.run(move |conn| query_credential(conn, &cred_id))
    }

    fn call_records(&self, query: CallRecordsQuery) -> StoreFuture<'_, CallRecords> {
        self.read_in_place(move |conn| {
            Ok(CallRecords {
                app: query_app(conn, &query.org_id, query.app_id.as_deref())?,
                user: match query.read_user {
                    true => query_user(conn, &query.org_id, &query.user_id)?,
                    false => None,
                },
                credential: match &query.cred_id {
                    Some(cred_id) => conn
                        .prepare_cached(
                            "SELECT body, tag, date_created FROM credentials \
                             WHERE cred_id = ?1 AND user_id = ?2 AND org_id = ?3",
                        )?
                        .query_row(params![cred_id, query.user_id, query.org_id], stored)
                        .optional()?,
                    None => None,
                },
            })
        })
    }

    fn user_credentials(&self, user_id: &str) -> StoreFuture<'_, Vec<Stored>> {
        let user_id = user_id.to_owned();
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT body, tag, date_created FROM credentials WHERE user_id = ?1 ORDER BY date_created, cred_id",
            )?;
            let rows = stmt.query_map(params![user_id], stored)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn insert_credential(&self, credential: Notarized, date: String) -> StoreFuture<'_, ()> {
        self.run(move |conn| insert_credential_in(conn, &credential, &date))
    }

    fn org_users(&self, org_id: &str) -> StoreFuture<'_, Vec<Notarized>> {
        let org_id = org_id.to_owned();
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT body, tag FROM users WHERE org_id = ?1 ORDER BY date_created, user_id",
            )?;
            let rows = stmt.query_map(params![org_id], |r| notarized(r, 0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn active_user(&self, org_id: &str, user_id: &str) -> StoreFuture<'_, Option<Notarized>> {
        let (org_id, user_id) = (org_id.to_owned(), user_id.to_owned());
        self.read_in_place(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT body, tag FROM users WHERE user_id = ?1 AND org_id = ?2 AND status = ?3",
                )?
                .query_row(params![user_id, org_id, Status::Active.as_str()], |r| notarized(r, 0))
                .optional()?)
        })
    }

    fn credential_is_active(&self, user_id: &str, cred_id: &[u8]) -> StoreFuture<'_, Option<bool>> {
        let (user_id, cred_id) = (user_id.to_owned(), cred_id.to_vec());
        self.read_in_place(move |conn| {
            let status: Option<String> = conn
                .prepare_cached("SELECT status FROM credentials WHERE cred_id = ?1 AND user_id = ?2")?
                .query_row(params![cred_id, user_id], |r| r.get(0))
                .optional()?;
            Ok(status.map(|s| s == Status::Active.as_str()))
        })
    }

    fn replace_record(&self, read_version: u64, new: Notarized) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            let tx = conn.transaction()?;
            replace_in(&tx, read_version, &new)?;
            tx.commit()?;
            Ok(())
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use signer_common::identity::{CredentialKind, RECORD_FORMAT, Role, Status, UserVerification};
    use signer_common::userauth::CredentialPublicKey;

    use super::*;

    pub(crate) fn seal(record: Record) -> Notarized {
        Notarized { body: ByteBuf::from(record.encode()), tag: ByteBuf::from(vec![0xee; 32]) }
    }

    pub(crate) fn app(org: &str, id: &str) -> Notarized {
        seal(Record::App(AppRecord {
            format: RECORD_FORMAT,
            version: 1,
            org_id: org.into(),
            app_id: id.into(),
            origin: "http://localhost:1".into(),
            rp_id: "localhost".into(),
            rp_name: "dev".into(),
            user_verification: UserVerification::Preferred,
        }))
    }

    pub(crate) fn user(org: &str, id: &str, name: &str) -> Notarized {
        seal(Record::User(UserRecord {
            format: RECORD_FORMAT,
            version: 1,
            org_id: org.into(),
            user_id: id.into(),
            username: name.into(),
            role: Role::Admin,
            status: Status::Active,
            service_account: false,
        }))
    }

    pub(crate) fn credential(org: &str, user: &str, id: &[u8], version: u64, status: Status) -> Notarized {
        seal(Record::Credential(CredentialRecord {
            format: RECORD_FORMAT,
            version,
            org_id: org.into(),
            user_id: user.into(),
            cred_id: ByteBuf::from(id.to_vec()),
            kind: CredentialKind::Key,
            public_key: CredentialPublicKey::Ed25519(ByteBuf::from(vec![7; 32])),
            name: "k".into(),
            status,
            sign_count: 0,
            pat_expires_at_ms: None,
        }))
    }

    async fn org(store: &SqliteStore) {
        let date = "2026-11-25T10:00:00.000Z".to_string();
        let org = OrgRow { id: "or-1".into(), name: "dev".into(), date_created: date };
        store.insert_org(org, app("or-1", "ap-1")).await.unwrap();
    }

    #[tokio::test]
    async fn records_round_trip_and_names_are_unique_per_org() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_in(dir.path()).unwrap();
        assert_eq!(store.first_org().await.unwrap(), None);
        org(&store).await;
        assert_eq!(store.first_org().await.unwrap().unwrap().id, "or-1");
        assert_eq!(store.get_app("or-1", None).await.unwrap(), Some(app("or-1", "ap-1")));
        assert_eq!(store.get_app("or-1", Some("ap-1")).await.unwrap(), Some(app("or-1", "ap-1")));
        assert_eq!(store.get_app("or-1", Some("ap-2")).await.unwrap(), None);
        assert_eq!(store.get_app("or-2", None).await.unwrap(), None);

        let date = "2026-11-25T10:00:01.000Z".to_string();
        let cred = credential("or-1", "us-1", b"c1", 1, Status::Active);
        store.insert_user(user("or-1", "us-1", "ann"), cred.clone(), date.clone()).await.unwrap();
        assert_eq!(store.find_user("or-1", "ann").await.unwrap(), Some(user("or-1", "us-1", "ann")));
        assert_eq!(store.get_user("or-1", "us-1").await.unwrap(), Some(user("or-1", "us-1", "ann")));
        assert_eq!(store.get_user("or-2", "us-1").await.unwrap(), None, "scoped by org");
        assert_eq!(store.get_credential(b"c1").await.unwrap().unwrap().record, cred);

        // The same name again, even with new ids: refused, and nothing of it is stored.
        let other = credential("or-1", "us-2", b"c2", 1, Status::Active);
        let again = store.insert_user(user("or-1", "us-2", "ann"), other.clone(), date.clone()).await;
        assert!(matches!(again, Err(StoreError::Duplicate)), "{again:?}");
        assert_eq!(store.get_credential(b"c2").await.unwrap(), None);
        // A credential id that exists: refused.
        assert!(matches!(store.insert_credential(cred, date.clone()).await, Err(StoreError::Duplicate)));
        store.insert_credential(credential("or-1", "us-1", b"c3", 1, Status::Active), date).await.unwrap();
        assert_eq!(store.user_credentials("us-1").await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_record_is_replaced_only_by_a_newer_one_over_the_version_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_in(dir.path()).unwrap();
        org(&store).await;
        let date = "2026-11-25T10:00:01.000Z".to_string();
        store
            .insert_user(
                user("or-1", "us-1", "ann"),
                credential("or-1", "us-1", b"c1", 1, Status::Active),
                date,
            )
            .await
            .unwrap();
        let v2 = credential("or-1", "us-1", b"c1", 2, Status::Inactive);
        store.replace_record(1, v2.clone()).await.unwrap();
        assert_eq!(store.get_credential(b"c1").await.unwrap().unwrap().record, v2);
        // A concurrent update that also read version 1 loses: no move backwards or sideways.
        let racing = credential("or-1", "us-1", b"c1", 2, Status::Active);
        assert!(matches!(store.replace_record(1, racing).await, Err(StoreError::Stale)));
        // An older version replayed over the current one: refused.
        let old = credential("or-1", "us-1", b"c1", 1, Status::Active);
        assert!(matches!(store.replace_record(2, old).await, Err(StoreError::Stale)));
        assert_eq!(store.get_credential(b"c1").await.unwrap().unwrap().record, v2);
        // Wallet records are never replaced through this path.
        let wallet = seal(Record::Wallet(signer_common::identity::WalletRecord {
            format: RECORD_FORMAT,
            version: 2,
            org_id: "or-1".into(),
            wallet_id: "wa-1".into(),
            owner_user_id: "us-1".into(),
            curve: signer_common::protocol::Curve::Ed25519,
            public_key: ByteBuf::from(vec![1; 32]),
        }));
        assert!(store.replace_record(1, wallet).await.is_err());
    }

    /// `call_records` reads on its own read-only connections: it sees what the writer
    /// committed (inserts and replacements), scopes by organisation, and cannot write.
    #[tokio::test]
    async fn call_records_see_committed_writes_and_only_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_in(dir.path()).unwrap();
        let query = |org: &str, app: Option<&str>, cred: Option<&[u8]>| CallRecordsQuery {
            org_id: org.into(),
            app_id: app.map(Into::into),
            user_id: "us-1".into(),
            cred_id: cred.map(<[u8]>::to_vec),
            read_user: true,
        };
        let none = store.call_records(query("or-1", None, Some(b"c1"))).await.unwrap();
        assert_eq!((none.app, none.user, none.credential.map(|c| c.record)), (None, None, None));
        org(&store).await;
        let date = "2026-11-25T10:00:01.000Z".to_string();
        let v1 = credential("or-1", "us-1", b"c1", 1, Status::Active);
        store.insert_user(user("or-1", "us-1", "ann"), v1.clone(), date).await.unwrap();
        let read = store.call_records(query("or-1", None, Some(b"c1"))).await.unwrap();
        assert_eq!(read.app, Some(app("or-1", "ap-1")));
        assert_eq!(read.user, Some(user("or-1", "us-1", "ann")));
        assert_eq!(read.credential.unwrap().record, v1);
        let without_user = CallRecordsQuery { read_user: false, ..query("or-1", None, Some(b"c1")) };
        let read = store.call_records(without_user).await.unwrap();
        assert_eq!((read.user, read.credential.is_some()), (None, true), "the user only when asked");
        let named = store.call_records(query("or-1", Some("ap-1"), None)).await.unwrap();
        assert_eq!((named.app, named.credential.map(|c| c.record)), (Some(app("or-1", "ap-1")), None));
        let other = store.call_records(query("or-2", None, Some(b"c1"))).await.unwrap();
        assert_eq!((other.app, other.user), (None, None), "scoped by organisation");
        assert!(other.credential.is_none(), "a credential of another organisation is not found");
        let mut theirs = query("or-1", None, Some(b"c1"));
        theirs.user_id = "us-2".into();
        assert!(store.call_records(theirs).await.unwrap().credential.is_none(), "nor another user's");
        // A replacement is seen by the next read.
        let v2 = credential("or-1", "us-1", b"c1", 2, Status::Inactive);
        store.replace_record(1, v2.clone()).await.unwrap();
        let read = store.call_records(query("or-1", None, Some(b"c1"))).await.unwrap();
        assert_eq!(read.credential.unwrap().record, v2);
        // The readers refuse to write.
        let write = store.read_in_place(|conn| Ok(conn.execute("DELETE FROM credentials", [])?)).await;
        assert!(write.is_err(), "{write:?}");
        assert!(store.get_credential(b"c1").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_schema_of_before_records_migrates_and_keeps_its_wallets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(crate::store::DB_FILE);
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(super::super::sqlite::MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute_batch(
                "INSERT INTO orgs VALUES ('or-old', 'dev', '2026-01-01T00:00:00.000Z');
                 INSERT INTO users (id, org_id, username, date_created) VALUES ('us-old', 'or-old', 'a', 'x');
                 INSERT INTO wallets (id, org_id, curve, public_key, sealed, status, date_created, receipt, attestation)
                 VALUES ('wa-old', 'or-old', 'ed25519', x'01', x'02', 'Active', 'x', x'03', x'04');",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.first_org().await.unwrap(), None, "the old identity is gone: dev re-bootstraps");
        use crate::store::WalletStore as _;
        assert!(store.get_wallet("or-old", "wa-old").await.unwrap().is_some(), "wallets are kept");
        assert_eq!(store.get_sealed_wallet("or-old", "wa-old").await.unwrap(), None, "but cannot sign");
        org(&store).await;
    }
}
