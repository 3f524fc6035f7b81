//! The properties the fuzz targets check, shared with `common/tests/fuzz_seeds.rs`, which replays
//! every committed seed (`fuzz/seeds/<target>/`) through them on stable Rust, so CI exercises
//! them even where no nightly compiler and cargo-fuzz are available.
//!
//! Each function takes untrusted bytes, must not panic on any input, and panics only when a
//! property is broken. It answers whether the input decoded, so the replay test can check that
//! the seeds reach past the first refusal.

use signer_common::frame;
use signer_common::protocol::RequestFrame;
use signer_common::session::{decode_receipt_key, encode_receipt_key};

/// `request_frame_decode`: the enclave's first parser of untrusted bytes. `data` is a frame
/// body as the enclave reads it from its socket. Decoding never panics; a decoded request
/// re-encodes to bytes that decode to the same request (ciborium accepts non-canonical CBOR,
/// so the re-encoding need not equal the input); a body of any valid size frames and unframes
/// to itself.
pub fn request_frame_decode(data: &[u8]) -> bool {
    if let Ok(framed) = frame::encode(data) {
        let header: [u8; frame::HEADER_LEN] = framed[..frame::HEADER_LEN].try_into().expect("a header");
        assert_eq!(frame::body_len(header), Ok(data.len()), "a frame's header does not give its body length");
        assert_eq!(&framed[frame::HEADER_LEN..], data);
    }
    let Ok(request) = RequestFrame::decode(data) else {
        return false;
    };
    let encoded = request.encode();
    let again = RequestFrame::decode(&encoded).expect("a re-encoded request does not decode");
    assert_eq!(again, request, "encode -> decode changed the request");
    assert_eq!(again.encode(), encoded, "encoding is not stable");
    true
}

/// `session_key_decode`: the session receipt key (a COSE_Key in a session document's
/// `public_key`) as a client decodes it. Decoding never panics; a decoded key re-encodes to a
/// COSE_Key that decodes to the same key (the input may order its entries differently or
/// leave out `alg`, so the bytes need not match).
pub fn session_key_decode(data: &[u8]) -> bool {
    let Ok(key) = decode_receipt_key(data) else {
        return false;
    };
    let encoded = encode_receipt_key(&key);
    assert_eq!(decode_receipt_key(&encoded), Ok(key), "encode -> decode changed the key");
    true
}
