//! Single use: challenge identifiers, user-action tokens, registration codes and one-shot
//! request ids are remembered, once used, until they expire.
//!
//! Bounded: at [`MAX_ENTRIES`] the expired entries are evicted first; when every entry is still
//! live the new use is refused ("too many single-use entries") rather than a live entry
//! forgotten, so nothing can be replayed by flooding the set.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::refusal::{Refusal, forbidden, internal};

/// The most entries remembered.
pub const MAX_ENTRIES: usize = 1_000_000;

/// What is used once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UseKey {
    /// A token (challenge identifier, user-action token, registration code, temporary
    /// registration token), by its nonce.
    Token(Vec<u8>),
    /// A one-shot request, by credential id and request id.
    OneShot {
        /// The signing credential.
        cred_id: Vec<u8>,
        /// `X-Request-Id`.
        request_id: String,
    },
}

/// A use to record: what, and until when (ms since the epoch) it must be remembered.
pub type Use = (UseKey, u64);

/// The used set.
#[derive(Debug)]
pub struct SingleUse {
    used: Mutex<HashMap<UseKey, u64>>,
    cap: usize,
}

impl Default for SingleUse {
    fn default() -> Self {
        SingleUse::with_cap(MAX_ENTRIES)
    }
}

impl SingleUse {
    /// A set remembering at most `cap` entries.
    pub fn with_cap(cap: usize) -> Self {
        SingleUse { used: Mutex::new(HashMap::new()), cap }
    }

    fn set(&self) -> std::sync::MutexGuard<'_, HashMap<UseKey, u64>> {
        // Each update is one insert or one retain: a poisoned lock is still consistent.
        self.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Refuses a key already used (checked early, so a replay costs no signature check).
    /// Changes nothing.
    pub fn check(&self, key: &UseKey, now_ms: u64) -> Result<(), Refusal> {
        match self.set().get(key) {
            Some(&until) if until > now_ms => Err(forbidden(already_used(key))),
            _ => Ok(()),
        }
    }

    /// Records every use at once, or none: refuses when one is already used or the set is full
    /// of live entries. The last step of a handler.
    pub fn consume(&self, uses: &[Use], now_ms: u64) -> Result<(), Refusal> {
        let mut set = self.set();
        for (key, _) in uses {
            if set.get(key).is_some_and(|&until| until > now_ms) {
                return Err(forbidden(already_used(key)));
            }
        }
        let fresh = uses.iter().filter(|(key, _)| !set.contains_key(key)).count();
        if set.len() + fresh > self.cap {
            set.retain(|_, until| *until > now_ms);
            if set.len() + fresh > self.cap {
                return Err(internal("too many single-use entries live; retry later"));
            }
        }
        for (key, until) in uses {
            set.insert(key.clone(), *until);
        }
        Ok(())
    }

    /// How many entries are remembered (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.set().len()
    }
}

fn already_used(key: &UseKey) -> &'static str {
    match key {
        UseKey::Token(_) => "token already used",
        UseKey::OneShot { .. } => "request id already used",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(n: u8) -> UseKey {
        UseKey::Token(vec![n])
    }

    #[test]
    fn a_use_is_refused_until_it_expires() {
        let s = SingleUse::default();
        s.check(&token(1), 100).unwrap();
        s.consume(&[(token(1), 200)], 100).unwrap();
        assert!(s.check(&token(1), 199).is_err());
        assert!(s.consume(&[(token(1), 300)], 199).is_err());
        // Past its expiry the token itself is refused elsewhere; the entry may go.
        s.check(&token(1), 200).unwrap();
    }

    #[test]
    fn consumes_all_or_nothing() {
        let s = SingleUse::default();
        s.consume(&[(token(1), 200)], 100).unwrap();
        assert!(s.consume(&[(token(2), 200), (token(1), 200)], 100).is_err());
        // token 2 was not consumed by the refused call.
        s.check(&token(2), 100).unwrap();
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn when_full_evicts_expired_entries_and_never_a_live_one() {
        let s = SingleUse::with_cap(2);
        s.consume(&[(token(1), 150), (token(2), 300)], 100).unwrap();
        // Full of live entries: refused, nothing forgotten.
        let full = s.consume(&[(token(3), 300)], 120).unwrap_err();
        assert_eq!(full.1, "too many single-use entries live; retry later");
        assert!(s.check(&token(1), 120).is_err());
        // Once token 1 expired it is evicted to make room.
        s.consume(&[(token(3), 300)], 160).unwrap();
        assert!(s.check(&token(2), 160).is_err());
        assert!(s.check(&token(3), 160).is_err());
        assert_eq!(s.len(), 2);
    }

    /// An entry remembered until `until` is live before it and gone at it, for `check`,
    /// `consume` and eviction alike; the cap is reachable exactly.
    #[test]
    fn boundaries() {
        let s = SingleUse::with_cap(2);
        s.consume(&[(token(1), 200), (token(2), 200)], 100).unwrap();
        assert_eq!(s.len(), 2);
        assert!(s.consume(&[(token(1), 300)], 199).is_err());
        assert!(s.check(&token(1), 199).is_err());
        // At 200 both have expired: token 1 may be consumed again, and token 3 evicts token 2.
        s.consume(&[(token(1), 300)], 200).unwrap();
        s.consume(&[(token(3), 300)], 200).unwrap();
        assert_eq!(s.len(), 2);
        s.check(&token(2), 200).unwrap();
    }

    #[test]
    fn one_shot_keys_are_per_credential() {
        let s = SingleUse::default();
        let a = UseKey::OneShot { cred_id: vec![1], request_id: "r".repeat(16) };
        let b = UseKey::OneShot { cred_id: vec![2], request_id: "r".repeat(16) };
        s.consume(&[(a.clone(), 200)], 100).unwrap();
        assert!(s.check(&a, 100).is_err());
        s.check(&b, 100).unwrap();
    }
}
