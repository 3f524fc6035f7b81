//! Attestation documents: decoding and verification never panic, and a decoded payload
//! re-encoded with `to_cbor` decodes to the same document.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use signer_common::attestation::{Expectations, TrustedRoot, cose, decode_unverified, verify};

/// 2022-10-13T09:38:03Z, when the certificates of the evervault seed are valid.
const AT: u64 = 1_665_651_483;

fn root() -> &'static TrustedRoot {
    static ROOT: OnceLock<TrustedRoot> = OnceLock::new();
    ROOT.get_or_init(TrustedRoot::aws_nitro_root_g1)
}

fuzz_target!(|data: &[u8]| {
    let _ = verify(data, root(), AT, &Expectations::default());
    let Ok(doc) = decode_unverified(data) else {
        return;
    };
    // Also at the document's own time, so that mutants of every seed reach the chain and the
    // signature checks while their certificates are valid.
    let _ = verify(data, root(), doc.timestamp / 1000 + 1, &Expectations::default());

    let payload = doc.to_cbor();
    let document = cose::encode_sign1(&cose::ES384_PROTECTED_HEADER, &payload, &[0; 96]);
    match decode_unverified(&document) {
        Ok(again) => assert_eq!(again, doc, "to_cbor -> decode changed the document"),
        Err(e) => panic!("a decoded document, re-encoded, does not decode: {e}"),
    }
});
