//! Inputs found by fuzzing (`fuzz/`, cargo-fuzz) or written while reviewing its targets, kept as
//! regression tests. Each says which fuzz target's property it exercises.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use signer_common::receipt::{Receipt, ReceiptError};

/// The golden `WalletCreated` receipt (SPEC.md §3) with an unknown key, `"x": 0`.
const UNKNOWN_KEY: &str = concat!(
    "a8617601617800646b696e646d57616c6c6574437265617465646474696d650165637572766567656432353531",
    "396877616c6c657449646477612d31697075626c69634b65795820000000000000000000000000000000000000",
    "0000000000000000000000000000697265717565737449646477632d31",
);

/// The golden receipt with `"nonce": h'01', "nonce": h'02'` (keys in canonical order, so the
/// re-encoding check passes).
const DUPLICATE_NONCE: &str = concat!(
    "a9617601646b696e646d57616c6c6574437265617465646474696d65016563757276656765643235353139656e",
    "6f6e63654101656e6f6e636541026877616c6c657449646477612d31697075626c69634b657958200000000000",
    "000000000000000000000000000000000000000000000000000000697265717565737449646477632d31",
);

/// The golden receipt with `"walletId": "wa-1", "walletId": "wa-2"`.
const DUPLICATE_WALLET_ID: &str = concat!(
    "a8617601646b696e646d57616c6c6574437265617465646474696d650165637572766567656432353531396877",
    "616c6c657449646477612d316877616c6c657449646477612d32697075626c69634b6579582000000000000000",
    "00000000000000000000000000000000000000000000000000697265717565737449646477632d31",
);

fn bytes(hex: &str) -> Vec<u8> {
    hex::decode(hex).unwrap()
}

#[test]
fn receipt_with_an_unknown_key_is_accepted_and_re_encodes_without_it() {
    // receipt_decode: SPEC.md §3 says decoders MUST ignore keys they do not know, and `to_cbor`
    // cannot bring "x" back, so "to_cbor gives back the input" holds only when every key is
    // known; otherwise the re-encoding must decode to the same receipt.
    let input = bytes(UNKNOWN_KEY);
    let decoded = Receipt::from_cbor(&input).unwrap();
    let encoded = decoded.to_cbor();
    assert_ne!(encoded, input);
    assert_eq!(Receipt::from_cbor(&encoded).unwrap(), decoded);
}

// receipt_decode (a decoded receipt of known keys re-encodes to its input): a map with a
// repeated key is not valid deterministic CBOR (RFC 8949 §5.6 / §4.2). `from_cbor` once accepted
// it, kept the first value, and `to_cbor` dropped the second; another decoder may keep the last
// one, so the same signed bytes would read as another nonce or wallet.

#[test]
fn receipt_with_a_repeated_nonce_is_rejected() {
    assert_eq!(Receipt::from_cbor(&bytes(DUPLICATE_NONCE)), Err(ReceiptError::DuplicateKey));
}

#[test]
fn receipt_with_a_repeated_wallet_id_is_rejected() {
    assert_eq!(Receipt::from_cbor(&bytes(DUPLICATE_WALLET_ID)), Err(ReceiptError::DuplicateKey));
}
