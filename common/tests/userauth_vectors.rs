//! Public WebAuthn assertions (tests/vectors/webauthn, from three relying-party test suites)
//! pass `verify_assertion` as they are, and fail once any one input is altered.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use signer_common::encoding::from_b64;
use signer_common::identity::{CredentialKind, UserVerification};
use signer_common::userauth::{Asserted, AuthError, CredentialPublicKey, Expected, verify_assertion};

struct Vector {
    name: String,
    key: CredentialPublicKey,
    challenge: String,
    origin: String,
    rp_id: String,
    stored: u32,
    new_count: u32,
    uv: Option<bool>,
    client_data: Vec<u8>,
    auth_data: Vec<u8>,
    signature: Vec<u8>,
}

fn vectors() -> Vec<Vector> {
    let text = include_str!("vectors/webauthn/assertion_vectors.json");
    let all: Vec<Value> = serde_json::from_str(text).unwrap();
    assert_eq!(all.len(), 7);
    all.iter()
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap().to_owned();
            let b = |k: &str| from_b64(v["response"][k].as_str().unwrap()).unwrap();
            let auth_data = b("authenticatorData");
            let count = u32::from_be_bytes(auth_data[33..37].try_into().unwrap());
            if let Some(expected) = v["expect"]["new_sign_count"].as_u64() {
                assert_eq!(u64::from(count), expected);
            }
            assert_eq!(v["expect"]["valid"], Value::Bool(true));
            Vector {
                name: s("name"),
                key: CredentialPublicKey::from_cose_key(&from_b64(&s("credential_public_key_cose")).unwrap())
                    .unwrap(),
                challenge: s("expected_challenge"),
                origin: s("expected_origin"),
                rp_id: s("expected_rp_id"),
                stored: u32::try_from(v["stored_sign_count"].as_u64().unwrap()).unwrap(),
                new_count: count,
                uv: v["expect"]["user_verified"].as_bool(),
                client_data: b("clientDataJSON"),
                auth_data,
                signature: b("signature"),
            }
        })
        .collect()
}

impl Vector {
    fn expected(&self) -> Expected<'_> {
        Expected {
            challenge: &self.challenge,
            origin: &self.origin,
            rp_id: &self.rp_id,
            user_verification: UserVerification::Preferred,
        }
    }

    fn check(
        &self,
        expected: &Expected<'_>,
        stored: u32,
        auth_data: &[u8],
        signature: &[u8],
    ) -> Result<Asserted, AuthError> {
        verify_assertion(
            CredentialKind::Fido2,
            expected,
            &self.key,
            stored,
            &self.client_data,
            Some(auth_data),
            signature,
        )
    }

    fn uv_flag(&self) -> bool {
        self.auth_data[32] & 0x04 != 0
    }
}

#[test]
fn every_vector_verifies_and_returns_its_counter_and_uv() {
    let algorithms: Vec<&str> = vectors().iter().map(|v| v.key.algorithm()).collect();
    assert!(algorithms.contains(&"ES256") && algorithms.contains(&"RS256") && algorithms.contains(&"EdDSA"));
    for v in vectors() {
        let got = v.check(&v.expected(), v.stored, &v.auth_data, &v.signature);
        let got = got.unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(got.sign_count, v.new_count, "{}", v.name);
        assert_eq!(got.user_verified, v.uv_flag(), "{}", v.name);
        if let Some(uv) = v.uv {
            assert_eq!(got.user_verified, uv, "{}", v.name);
        }
        // With UV required, exactly the vectors that carry UV pass.
        let required = Expected { user_verification: UserVerification::Required, ..v.expected() };
        let got = v.check(&required, v.stored, &v.auth_data, &v.signature);
        if v.uv_flag() {
            assert!(got.is_ok(), "{}", v.name);
        } else {
            assert_eq!(got, Err(AuthError::UserNotVerified), "{}", v.name);
        }
    }
}

#[test]
fn every_vector_fails_with_any_input_changed() {
    for v in vectors() {
        let n = &v.name;
        let base = v.expected();
        let other_origin = format!("{}x", v.origin);
        let e = Expected { origin: &other_origin, ..base };
        assert_eq!(v.check(&e, v.stored, &v.auth_data, &v.signature), Err(AuthError::OriginMismatch), "{n}");
        let e = Expected { rp_id: "example.com", ..base };
        assert_eq!(v.check(&e, v.stored, &v.auth_data, &v.signature), Err(AuthError::RpIdMismatch), "{n}");
        let other_challenge = format!("{}A", v.challenge);
        let e = Expected { challenge: &other_challenge, ..base };
        assert_eq!(
            v.check(&e, v.stored, &v.auth_data, &v.signature),
            Err(AuthError::ChallengeMismatch),
            "{n}"
        );
        // A stored counter at or above the new one: a cloned authenticator.
        for stored in [v.new_count, v.new_count + 1, u32::MAX] {
            assert_eq!(
                v.check(&base, stored, &v.auth_data, &v.signature),
                Err(AuthError::CounterWentBackwards),
                "{n}"
            );
        }
        // Each signature byte flipped (a flip in the DER framing is malformed, else a bad signature).
        for i in 0..v.signature.len() {
            let mut sig = v.signature.clone();
            sig[i] ^= 0x01;
            let got = v.check(&base, v.stored, &v.auth_data, &sig).unwrap_err();
            assert!(
                got == AuthError::BadSignature || got.is_malformed(),
                "{n}: signature byte {i} flipped gave {got}"
            );
        }
        // Each authenticatorData byte flipped: refused by some check.
        for i in 0..v.auth_data.len() {
            let mut data = v.auth_data.clone();
            data[i] ^= 0x01;
            assert!(v.check(&base, v.stored, &data, &v.signature).is_err(), "{n}: authData byte {i}");
        }
        // A flipped signCount byte (not UP, not rpIdHash) is caught by the signature.
        let mut data = v.auth_data.clone();
        data[36] ^= 0x01;
        assert_eq!(v.check(&base, 0, &data, &v.signature), Err(AuthError::BadSignature), "{n}");
        // The vector as it is still passes: nothing above changed any state.
        assert!(v.check(&base, v.stored, &v.auth_data, &v.signature).is_ok(), "{n}");
    }
}

#[test]
fn a_vector_is_not_a_key_assertion() {
    let v = &vectors()[0];
    let got = verify_assertion(
        CredentialKind::Key,
        &v.expected(),
        &v.key,
        v.stored,
        &v.client_data,
        Some(&v.auth_data),
        &v.signature,
    );
    assert!(got.unwrap_err().is_malformed());
    let got = verify_assertion(
        CredentialKind::Key,
        &v.expected(),
        &v.key,
        v.stored,
        &v.client_data,
        None,
        &v.signature,
    );
    assert_eq!(got, Err(AuthError::WrongType("key.get")));
    let got = verify_assertion(
        CredentialKind::Fido2,
        &v.expected(),
        &v.key,
        v.stored,
        &v.client_data,
        None,
        &v.signature,
    );
    assert!(got.unwrap_err().is_malformed());
}
