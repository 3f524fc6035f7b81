//! Replays every committed fuzz seed (`fuzz/seeds/<target>/`) through the property its fuzz
//! target checks (`fuzz/properties.rs`, the same code the targets run), so CI exercises the
//! decoders and their round trips on stable Rust even where cargo-fuzz cannot run.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;

#[path = "../../fuzz/properties.rs"]
mod properties;

/// The seeds of `target`, by file name, sorted.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds").join(target);
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let entry = entry.unwrap();
            (entry.file_name().to_string_lossy().into_owned(), std::fs::read(entry.path()).unwrap())
        })
        .collect();
    seeds.sort();
    seeds
}

/// Replays the seeds; answers the names of those that decoded.
fn replay(target: &str, property: fn(&[u8]) -> bool) -> Vec<String> {
    let seeds = seeds(target);
    assert!(!seeds.is_empty(), "no seeds for {target}");
    seeds.into_iter().filter(|(_, bytes)| property(bytes)).map(|(name, _)| name).collect()
}

#[test]
fn request_frame_seeds_hold_the_round_trip() {
    let decoded = replay("request_frame_decode", properties::request_frame_decode);
    // Every request kind is among the seeds, so mutations start from each; and the refusals.
    for kind in [
        "ping",
        "root_certificate",
        "attest_nonce",
        "attest_none",
        "session_by_id",
        "session_current",
        "create_org",
        "registration_init",
        "register",
        "challenge_login",
        "challenge_action",
        "challenge_new_credential",
        "login",
        "user_action",
        "call_one_shot",
        "call_user_action",
        "call_sign_hash",
    ] {
        assert!(decoded.iter().any(|d| d == kind), "seed {kind} did not decode");
    }
    for refused in ["garbage", "version_1", "trailing_byte"] {
        assert!(!decoded.iter().any(|d| d == refused), "seed {refused} decoded");
    }
}

#[test]
fn session_key_seeds_hold_the_round_trip() {
    let decoded = replay("session_key_decode", properties::session_key_decode);
    assert_eq!(decoded, ["ed25519", "ed25519_without_alg"]);
}
