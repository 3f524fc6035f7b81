//! Rollback protection within a boot: the newest version of each record seen since the enclave
//! started. A record older than that is refused ("record rolled back").
//!
//! Bounded: at [`MAX_TRACKED`] entries, records not yet tracked are still checked (tag, owner,
//! status) but their versions are not remembered, which is the protection a freshly restarted
//! enclave has; records already tracked stay tracked. Only the parent can present records and
//! it can present only records the enclave issued, so reaching the cap takes a million distinct
//! genuine records in one boot.

use std::collections::HashMap;
use std::sync::Mutex;

use signer_common::identity::Record;

use crate::refusal::{Refusal, forbidden};

/// The most (kind, id) pairs remembered.
pub const MAX_TRACKED: usize = 1_000_000;

/// What identifies a record across its versions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RecordKey {
    User { org_id: String, user_id: String },
    Credential { user_id: String, cred_id: Vec<u8> },
    App { org_id: String, app_id: String },
    Wallet { wallet_id: String },
}

fn key_of(record: &Record) -> RecordKey {
    match record {
        Record::User(r) => RecordKey::User { org_id: r.org_id.clone(), user_id: r.user_id.clone() },
        Record::Credential(r) => {
            RecordKey::Credential { user_id: r.user_id.clone(), cred_id: r.cred_id.to_vec() }
        }
        Record::App(r) => RecordKey::App { org_id: r.org_id.clone(), app_id: r.app_id.clone() },
        Record::Wallet(r) => RecordKey::Wallet { wallet_id: r.wallet_id.clone() },
    }
}

/// The newest version seen of each record.
#[derive(Debug)]
pub struct Versions {
    newest: Mutex<HashMap<RecordKey, u64>>,
    cap: usize,
}

impl Default for Versions {
    fn default() -> Self {
        Versions::with_cap(MAX_TRACKED)
    }
}

impl Versions {
    /// A map remembering at most `cap` records.
    pub fn with_cap(cap: usize) -> Self {
        Versions { newest: Mutex::new(HashMap::new()), cap }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<RecordKey, u64>> {
        // A panic while holding the lock cannot leave the map half-updated (each update is one
        // insert), so a poisoned lock is still consistent.
        self.newest.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Refuses a record older than the newest of its versions seen since boot. Changes nothing.
    pub fn check(&self, record: &Record) -> Result<(), Refusal> {
        match self.map().get(&key_of(record)) {
            Some(&newest) if record.version() < newest => Err(forbidden("record rolled back")),
            _ => Ok(()),
        }
    }

    /// Remembers the records' versions (those presented and those issued by a request that
    /// succeeded).
    pub fn commit<'a>(&self, records: impl IntoIterator<Item = &'a Record>) {
        self.commit_if_current(records, || Ok(())).unwrap_or(());
    }

    /// Atomically: refuses when one of `records` is now older than the newest seen (a
    /// concurrent request issued a newer version since they were checked), then runs `then`
    /// (the single uses), then remembers the versions. Nothing is remembered when either
    /// refuses.
    pub fn commit_if_current<'a>(
        &self,
        records: impl IntoIterator<Item = &'a Record>,
        then: impl FnOnce() -> Result<(), Refusal>,
    ) -> Result<(), Refusal> {
        let mut map = self.map();
        let records: Vec<(RecordKey, u64)> = records.into_iter().map(|r| (key_of(r), r.version())).collect();
        if records.iter().any(|(key, version)| map.get(key).is_some_and(|newest| version < newest)) {
            return Err(forbidden("record rolled back"));
        }
        then()?;
        for (key, version) in records {
            let full = map.len() >= self.cap;
            match map.get_mut(&key) {
                Some(newest) => *newest = (*newest).max(version),
                None if !full => {
                    map.insert(key, version);
                }
                None => {}
            }
        }
        Ok(())
    }

    /// How many records are tracked (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signer_common::identity::{RECORD_FORMAT, Role, Status, UserRecord};

    fn user(id: &str, version: u64) -> Record {
        Record::User(UserRecord {
            format: RECORD_FORMAT,
            version,
            org_id: "or-1".into(),
            user_id: id.into(),
            username: "a".into(),
            role: Role::Member,
            status: Status::Active,
            service_account: false,
        })
    }

    #[test]
    fn refuses_an_older_version_once_a_newer_one_was_seen() {
        let v = Versions::default();
        v.check(&user("us-1", 1)).unwrap();
        v.commit([&user("us-1", 2)]);
        assert_eq!(v.check(&user("us-1", 1)).unwrap_err().1, "record rolled back");
        v.check(&user("us-1", 2)).unwrap();
        v.check(&user("us-1", 3)).unwrap();
        // Another record's versions are its own.
        v.check(&user("us-2", 1)).unwrap();
        // Committing an older version does not lower the newest.
        v.commit([&user("us-1", 1)]);
        assert!(v.check(&user("us-1", 1)).is_err());
        // A commit whose records went stale meanwhile is refused whole, and `then` not run.
        let ran = std::cell::Cell::new(false);
        let stale = v.commit_if_current([&user("us-3", 1), &user("us-1", 1)], || {
            ran.set(true);
            Ok(())
        });
        assert_eq!(stale.unwrap_err().1, "record rolled back");
        assert!(!ran.get());
        assert!(v.check(&user("us-3", 0)).is_ok());
        // A refusal of `then` remembers nothing either.
        let refused = v.commit_if_current([&user("us-3", 5)], || Err(forbidden("no")));
        assert!(refused.is_err());
        assert!(v.check(&user("us-3", 1)).is_ok());
    }

    #[test]
    fn at_the_cap_tracked_records_stay_tracked_and_new_ones_are_not_remembered() {
        let v = Versions::with_cap(2);
        v.commit([&user("us-1", 2), &user("us-2", 2)]);
        v.commit([&user("us-3", 2)]);
        assert_eq!(v.len(), 2);
        assert!(v.check(&user("us-3", 1)).is_ok());
        v.commit([&user("us-1", 5)]);
        assert!(v.check(&user("us-1", 4)).is_err());
        assert!(v.check(&user("us-2", 1)).is_err());
    }
}
