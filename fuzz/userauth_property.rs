//! The property of the `userauth` fuzz target, shared with `common/tests/userauth_fuzz_seeds.rs`,
//! which replays every seed in `fuzz/seeds/userauth/` on stable Rust.
//!
//! Input: one mode byte, then parts, each but the last prefixed by its 2-byte big-endian length.
//! The parsers and checks of `signer_common::userauth` must never panic on any input. A key
//! that parses verifies any signature without panicking; an accepted registration's credential
//! id is the one named; an accepted assertion returns the authenticator's counter.

use signer_common::identity::{CredentialKind, UserVerification};
use signer_common::userauth::{CredentialPublicKey, Expected, verify_assertion, verify_registration};

/// The ES256 credential of the py_webauthn vector `pywebauthn_es256_localhost`
/// (common/tests/vectors/webauthn), so that its assertion, as a seed, passes.
pub const VECTOR_COSE_KEY: [u8; 77] = [
    0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20, 0x87, 0x83, 0x4d, 0xef, 0xa0, 0x37, 0xc0,
    0x3e, 0xcd, 0x07, 0x25, 0x1e, 0x84, 0x67, 0x18, 0x55, 0x8d, 0xf1, 0xe8, 0x4c, 0xd5, 0xbe, 0xf2, 0x02,
    0xc6, 0xbc, 0x23, 0xc2, 0x88, 0xbe, 0x6a, 0x65, 0x22, 0x58, 0x20, 0xe2, 0x71, 0x46, 0x4f, 0x9a, 0x71,
    0xf2, 0x8e, 0xa0, 0xa4, 0xf6, 0x59, 0x84, 0xed, 0x35, 0xc1, 0xdc, 0xbd, 0x72, 0xb0, 0xd2, 0x03, 0xf3,
    0x60, 0xb6, 0x4c, 0x74, 0xbc, 0x6a, 0x6f, 0x3c, 0x72,
];

/// What the vector expects.
pub fn expected() -> Expected<'static> {
    Expected {
        challenge: "xi30GPGAFYRxVDpY1sM10DaLzVQG66nv-_7RUazH0vI2YvG8LYgDEnvN5fZZNVuvEDuMi9te3VLqb42N0fkLGA",
        origin: "http://localhost:5000",
        rp_id: "localhost",
        user_verification: UserVerification::Preferred,
    }
}

/// Splits `data` into `n` parts: each but the last prefixed by a 2-byte big-endian length.
pub fn split(mut data: &[u8], n: usize) -> Option<Vec<&[u8]>> {
    let mut parts = Vec::with_capacity(n);
    for _ in 1..n {
        let len = usize::from(u16::from_be_bytes([*data.first()?, *data.get(1)?]));
        let rest = data.get(2..)?;
        if rest.len() < len {
            return None;
        }
        let (part, after) = rest.split_at(len);
        parts.push(part);
        data = after;
    }
    parts.push(data);
    Some(parts)
}

/// Runs one input; answers whether it was accepted (a key parsed, or a ceremony verified).
pub fn userauth(data: &[u8]) -> bool {
    let Some((&mode, data)) = data.split_first() else {
        return false;
    };
    let kind = if mode & 0x10 == 0 { CredentialKind::Fido2 } else { CredentialKind::Key };
    match mode & 0x0f {
        0 => match CredentialPublicKey::from_cose_key(data) {
            Ok(key) => {
                assert!(key.verify(data, data).is_err(), "a COSE key verifies itself as a signature");
                true
            }
            Err(_) => false,
        },
        1 => {
            let der = CredentialPublicKey::from_spki_der(data);
            let pem = CredentialPublicKey::from_spki_pem(&String::from_utf8_lossy(data));
            if let Ok(key) = &der {
                let _ = key.verify(b"message", data);
            }
            der.is_ok() || pem.is_ok()
        }
        2 => {
            let Some(parts) = split(data, 3) else { return false };
            let key = CredentialPublicKey::from_cose_key(&VECTOR_COSE_KEY).expect("the vector's key parses");
            let authenticator_data = (kind == CredentialKind::Fido2).then_some(parts[1]);
            match verify_assertion(kind, &expected(), &key, 77, parts[0], authenticator_data, parts[2]) {
                Ok(asserted) => {
                    let data = authenticator_data.expect("only a Fido2 assertion can pass with this key");
                    assert_eq!(
                        asserted.sign_count.to_be_bytes(),
                        data[33..37],
                        "the counter is not the authenticator's"
                    );
                    assert!(asserted.sign_count > 77, "an accepted counter did not grow");
                    true
                }
                Err(_) => false,
            }
        }
        _ => {
            let Some(parts) = split(data, 3) else { return false };
            match verify_registration(kind, &expected(), parts[0], parts[1], parts[2]) {
                Ok(registered) => {
                    if kind == CredentialKind::Fido2 {
                        let id = parts[0];
                        assert!(
                            parts[2].windows(id.len()).any(|w| w == id),
                            "the credential id is not in the object"
                        );
                    }
                    let _ = registered.public_key.verify(parts[1], parts[2]);
                    true
                }
                Err(_) => false,
            }
        }
    }
}
