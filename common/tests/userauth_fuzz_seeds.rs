//! Replays the `userauth` fuzz target's seeds (`fuzz/seeds/userauth/`) through its property
//! (`fuzz/userauth_property.rs`) on stable Rust: none panics, and the valid ones are accepted,
//! so mutations start past the first refusal.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;

#[path = "../../fuzz/userauth_property.rs"]
mod userauth_property;

#[test]
fn userauth_seeds_hold_the_property() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/userauth");
    let mut accepted = Vec::new();
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        count += 1;
        if userauth_property::userauth(&std::fs::read(entry.path()).unwrap()) {
            accepted.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    accepted.sort();
    assert_eq!(count, 13);
    assert_eq!(
        accepted,
        [
            "assertion_es256",
            "cose_eddsa",
            "cose_es256",
            "cose_rs256",
            "registration_key_ed25519",
            "registration_none",
            "registration_packed_self",
            "spki_ed25519_pem",
            "spki_p256_der",
            "spki_secp256k1_pem",
        ]
    );
}

#[test]
fn split_takes_length_prefixed_parts() {
    assert_eq!(
        userauth_property::split(&[0, 1, 7, 0, 0, 9, 9], 3),
        Some(vec![&[7][..], &[][..], &[9, 9][..]])
    );
    assert_eq!(userauth_property::split(&[0, 5, 7], 2), None);
    assert_eq!(userauth_property::split(&[0], 2), None);
}
