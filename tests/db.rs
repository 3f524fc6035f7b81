//! The parent's SQLite database seen from outside, as a compromised host would edit it. Tables
//! and columns are found by name (`credentials.cred_id`, a record's `body` and `tag`, or
//! `record_body` and `record_tag` beside a sealed wallet), not by a copy of the schema.

use std::time::Duration;

use rusqlite::types::Value as SqlValue;
use serde_bytes::ByteBuf;
use signer_common::identity::{Notarized, Record};

use crate::Stack;
use crate::auth_support::unb64u;

/// One row: column names and values, in table order.
pub type Row = Vec<(String, SqlValue)>;

/// A connection to a stack's database.
pub struct Db(rusqlite::Connection);

impl Db {
    pub fn open(stack: &Stack) -> Db {
        let conn = rusqlite::Connection::open(stack.dir.join("parent.sqlite3")).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        Db(conn)
    }

    /// The column names of `table`.
    pub fn columns(&self, table: &str) -> Vec<String> {
        let mut stmt = self.0.prepare(&format!("PRAGMA table_info({table})")).unwrap();
        stmt.query_map([], |r| r.get::<_, String>(1)).unwrap().map(Result::unwrap).collect()
    }

    /// The first of `names` that `table` has.
    fn column(&self, table: &str, names: &[&str]) -> String {
        let columns = self.columns(table);
        names
            .iter()
            .find(|n| columns.iter().any(|c| c == *n))
            .unwrap_or_else(|| panic!("{table} has none of {names:?}: {columns:?}"))
            .to_string()
    }

    /// The columns holding a notarized record in `table`: (body, tag).
    fn record_columns(&self, table: &str) -> (String, String) {
        (self.column(table, &["record_body", "body"]), self.column(table, &["record_tag", "tag"]))
    }

    /// Rows in `table`.
    pub fn count(&self, table: &str) -> i64 {
        self.0.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap()
    }

    /// Rows in `table` whose `column` is `value`.
    pub fn count_where(&self, table: &str, column: &str, value: &str) -> i64 {
        self.0
            .query_row(&format!("SELECT COUNT(*) FROM {table} WHERE {column} = ?1"), [value], |r| r.get(0))
            .unwrap()
    }

    /// The condition naming one credential: its id as raw bytes or as base64url text.
    fn cred_where(cred_id: &str) -> (String, [SqlValue; 2]) {
        (
            "cred_id = ?1 OR cred_id = ?2".into(),
            [SqlValue::Blob(unb64u(cred_id)), SqlValue::Text(cred_id.into())],
        )
    }

    /// The credential row of `cred_id` (base64url), every column.
    pub fn credential_row(&self, cred_id: &str) -> Row {
        let (cond, params) = Db::cred_where(cred_id);
        let columns = self.columns("credentials");
        self.0
            .query_row(
                &format!("SELECT * FROM credentials WHERE {cond}"),
                rusqlite::params_from_iter(params),
                |r| {
                    Ok(columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (c.clone(), r.get::<_, SqlValue>(i).unwrap()))
                        .collect())
                },
            )
            .unwrap_or_else(|e| panic!("credential row: {e}"))
    }

    /// Replaces the credential row of the same id by `row` (or inserts it).
    pub fn put_credential_row(&self, row: &Row) {
        let id = row.iter().find(|(c, _)| c == "cred_id").expect("cred_id").1.clone();
        self.0.execute("DELETE FROM credentials WHERE cred_id = ?1", [id]).unwrap();
        let names: Vec<&str> = row.iter().map(|(c, _)| c.as_str()).collect();
        let marks: Vec<String> = (1..=row.len()).map(|i| format!("?{i}")).collect();
        let sql = format!("INSERT INTO credentials ({}) VALUES ({})", names.join(", "), marks.join(", "));
        self.0.execute(&sql, rusqlite::params_from_iter(row.iter().map(|(_, v)| v.clone()))).unwrap();
    }

    /// The notarized record of a credential.
    pub fn credential_record(&self, cred_id: &str) -> Notarized {
        let row = self.credential_row(cred_id);
        let (body, tag) = self.record_columns("credentials");
        notarized_of(&row, &body, &tag)
    }

    /// The notarized record in `table` whose key column (one of `keys`) is `id`.
    fn record_by(&self, table: &str, keys: &[&str], id: &str) -> Notarized {
        let key = self.column(table, keys);
        let (body, tag) = self.record_columns(table);
        self.0
            .query_row(&format!("SELECT {body}, {tag} FROM {table} WHERE {key} = ?1"), [id], |r| {
                Ok(Notarized {
                    body: ByteBuf::from(r.get::<_, Vec<u8>>(0)?),
                    tag: ByteBuf::from(r.get::<_, Vec<u8>>(1)?),
                })
            })
            .unwrap_or_else(|e| panic!("{table} record {id}: {e}"))
    }

    pub fn user_record(&self, user_id: &str) -> Notarized {
        self.record_by("users", &["user_id", "id"], user_id)
    }

    pub fn app_record(&self, app_id: &str) -> Notarized {
        self.record_by("apps", &["app_id", "id"], app_id)
    }

    /// A wallet's ownership record.
    pub fn wallet_record(&self, wallet_id: &str) -> Notarized {
        self.record_by("wallets", &["id", "wallet_id"], wallet_id)
    }

    /// Writes a wallet's ownership record (and its owner column, when there is one).
    pub fn set_wallet_record(&self, wallet_id: &str, record: &Notarized) {
        let key = self.column("wallets", &["id", "wallet_id"]);
        let (body, tag) = self.record_columns("wallets");
        let changed = self
            .0
            .execute(
                &format!("UPDATE wallets SET {body} = ?1, {tag} = ?2 WHERE {key} = ?3"),
                rusqlite::params![record.body.to_vec(), record.tag.to_vec(), wallet_id],
            )
            .unwrap();
        assert_eq!(changed, 1);
        if let (Record::Wallet(w), true) = (
            Record::decode(&record.body).unwrap(),
            self.columns("wallets").iter().any(|c| c == "owner_user_id"),
        ) {
            self.0
                .execute(
                    &format!("UPDATE wallets SET owner_user_id = ?1 WHERE {key} = ?2"),
                    rusqlite::params![w.owner_user_id, wallet_id],
                )
                .unwrap();
        }
    }

    /// Replaces a user's row with `record` and its `status` column with `status`, as a
    /// compromised host could (the old active record put back, or only the column edited).
    pub fn set_user_row(&self, user_id: &str, record: &Notarized, status: &str) {
        let changed = self
            .0
            .execute(
                "UPDATE users SET body = ?1, tag = ?2, status = ?3 WHERE user_id = ?4",
                rusqlite::params![record.body.to_vec(), record.tag.to_vec(), status, user_id],
            )
            .unwrap();
        assert_eq!(changed, 1);
    }

    /// The default app's id of the org (the first app row).
    pub fn first_app_id(&self) -> String {
        let key = self.column("apps", &["app_id", "id"]);
        self.0.query_row(&format!("SELECT {key} FROM apps LIMIT 1"), [], |r| r.get(0)).unwrap()
    }
}

/// A row's value in `column`.
pub fn value<'a>(row: &'a Row, column: &str) -> &'a SqlValue {
    &row.iter().find(|(c, _)| c == column).unwrap_or_else(|| panic!("no column {column}")).1
}

/// Sets a row's value in `column`.
pub fn set_value(row: &mut Row, column: &str, value: SqlValue) {
    row.iter_mut().find(|(c, _)| c == column).unwrap_or_else(|| panic!("no column {column}")).1 = value;
}

fn blob(value: &SqlValue) -> Vec<u8> {
    match value {
        SqlValue::Blob(b) => b.clone(),
        other => panic!("not a blob: {other:?}"),
    }
}

/// The notarized record held in a row's `body` and `tag` columns.
pub fn notarized_of(row: &Row, body: &str, tag: &str) -> Notarized {
    Notarized { body: ByteBuf::from(blob(value(row, body))), tag: ByteBuf::from(blob(value(row, tag))) }
}
