//! The HMAC-SHA256 tag shared by notarized records and tokens: over `domain || 0x00 || body`,
//! so a tag made for one kind of object never verifies as another.

use aws_lc_rs::hmac;
use signer_common::identity::TAG_LEN;

use crate::keys::DerivedKey;

fn message(domain: &[u8], body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(domain.len() + 1 + body.len());
    m.extend_from_slice(domain);
    m.push(0);
    m.extend_from_slice(body);
    m
}

/// The tag of `body` under `key` in `domain`.
pub fn tag(key: &DerivedKey, domain: &[u8], body: &[u8]) -> [u8; TAG_LEN] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.expose());
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(hmac::sign(&key, &message(domain, body)).as_ref());
    out
}

/// True when `tag` is the tag of `body`; compared in constant time.
pub fn verify(key: &DerivedKey, domain: &[u8], body: &[u8], tag: &[u8]) -> bool {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.expose());
    hmac::verify(&key, &message(domain, body), tag).is_ok()
}
