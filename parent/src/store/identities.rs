//! Organisations, users, credentials and applications: [`IdentityStore`] and its SQLite
//! implementation.

use rusqlite::{Connection, OptionalExtension, params};

use super::error::{StoreError, StoreFuture};
use super::sqlite::{SqliteStore, is_constraint};

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

/// Organisations, users, credentials and applications: what dev bootstrap (and the auth work
/// to come) needs.
pub trait IdentityStore: Send + Sync + 'static {
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

impl IdentityStore for SqliteStore {
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
}
