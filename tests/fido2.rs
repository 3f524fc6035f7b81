//! A Fido2 credential built by hand with a P-256 key, so tests can make assertions that no
//! honest authenticator would: another origin or rpId, UP or UV missing, a counter going
//! backwards, signatures in BER or with padded integers.
//!
//! - Registration: `clientDataJSON` of type `webauthn.create`; the attestationObject is CBOR
//!   `{ fmt: "none", attStmt: {}, authData }`, authData = rpIdHash || flags || counter ||
//!   AAGUID || credId length || credId || COSE_Key (EC2, ES256).
//! - Assertion: authData = rpIdHash || flags || counter; the signature is ECDSA P-256 over
//!   authData || SHA-256(clientDataJSON).

use ciborium::Value as Cbor;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::auth_support::{TestKey, b64u, random_bytes};

/// User present.
pub const UP: u8 = 0x01;
/// User verified.
pub const UV: u8 = 0x04;
/// Attested credential data included.
pub const AT: u8 = 0x40;

/// How an assertion departs from an honest one.
#[derive(Debug, Clone)]
pub struct Tweak {
    pub kind: &'static str,
    pub origin: Option<String>,
    pub rp_id: Option<String>,
    pub flags: u8,
    pub counter: u32,
    pub signature: SignatureForm,
}

/// The encoding of the ECDSA signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureForm {
    /// Strict DER (what the enclave accepts).
    Der,
    /// BER: the SEQUENCE length in long form (`0x81 len`), valid BER, not DER.
    BerLongLength,
    /// DER with `r` padded by a needless leading zero byte.
    PaddedInteger,
}

impl Tweak {
    /// An honest assertion with `counter`.
    pub fn honest(counter: u32) -> Tweak {
        Tweak {
            kind: "webauthn.get",
            origin: None,
            rp_id: None,
            flags: UP | UV,
            counter,
            signature: SignatureForm::Der,
        }
    }
}

/// A DER ECDSA signature `(r, s)` re-encoded as `form`.
pub fn encode_signature(r: &[u8; 32], s: &[u8; 32], form: SignatureForm) -> Vec<u8> {
    let integer = |bytes: &[u8], pad: bool| {
        let mut v: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        if v.is_empty() || v[0] & 0x80 != 0 {
            v.insert(0, 0);
        }
        if pad {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    };
    let mut content = integer(r, form == SignatureForm::PaddedInteger);
    content.extend(integer(s, false));
    let mut out = vec![0x30];
    if form == SignatureForm::BerLongLength {
        out.push(0x81);
    }
    out.push(content.len() as u8);
    out.extend(content);
    out
}

/// A hand-made Fido2 credential.
pub struct HandPasskey {
    pub key: TestKey,
    pub cred_id: Vec<u8>,
    pub origin: String,
    pub rp_id: String,
}

impl HandPasskey {
    pub fn new(origin: &str, rp_id: &str) -> HandPasskey {
        HandPasskey {
            key: TestKey::generate("ES256"),
            cred_id: random_bytes(16),
            origin: origin.into(),
            rp_id: rp_id.into(),
        }
    }

    pub fn cred_id_b64(&self) -> String {
        b64u(&self.cred_id)
    }

    /// The credential's COSE_Key (EC2, P-256, ES256).
    pub fn cose_key(&self) -> Vec<u8> {
        let TestKey::P256(key) = &self.key else { unreachable!() };
        let point = key.verifying_key().to_sec1_point(false);
        let sec1 = point.as_bytes();
        assert_eq!((sec1.len(), sec1[0]), (65, 4), "an uncompressed point");
        let map = Cbor::Map(vec![
            (Cbor::Integer(1.into()), Cbor::Integer(2.into())),
            (Cbor::Integer(3.into()), Cbor::Integer((-7).into())),
            (Cbor::Integer((-1).into()), Cbor::Integer(1.into())),
            (Cbor::Integer((-2).into()), Cbor::Bytes(sec1[1..33].to_vec())),
            (Cbor::Integer((-3).into()), Cbor::Bytes(sec1[33..].to_vec())),
        ]);
        cbor(&map)
    }

    /// The `credentialInfo` of its registration for `challenge`, with `cose_key` (normally
    /// [`HandPasskey::cose_key`]).
    pub fn registration_info_with(&self, challenge: &str, cose_key: &[u8]) -> Value {
        let client_data =
            json!({ "type": "webauthn.create", "challenge": challenge, "origin": self.origin }).to_string();
        let mut auth_data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        auth_data.push(UP | UV | AT);
        auth_data.extend(0u32.to_be_bytes());
        auth_data.extend([0u8; 16]);
        auth_data.extend((self.cred_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.cred_id);
        auth_data.extend(cose_key);
        let object = Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(vec![])),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]);
        json!({
            "credId": self.cred_id_b64(),
            "clientData": b64u(client_data.as_bytes()),
            "attestationData": b64u(&cbor(&object)),
        })
    }

    pub fn registration_info(&self, challenge: &str) -> Value {
        self.registration_info_with(challenge, &self.cose_key())
    }

    /// The raw parts of an assertion over `challenge`: (clientDataJSON, authenticatorData,
    /// signature).
    pub fn assertion_parts(&self, challenge: &str, tweak: &Tweak) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let origin = tweak.origin.as_deref().unwrap_or(&self.origin);
        let client_data =
            json!({ "type": tweak.kind, "challenge": challenge, "origin": origin }).to_string().into_bytes();
        let mut auth_data = Sha256::digest(tweak.rp_id.as_deref().unwrap_or(&self.rp_id).as_bytes()).to_vec();
        auth_data.push(tweak.flags);
        auth_data.extend(tweak.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let (r, s) = self.key.sign_rs(&signed);
        (client_data, auth_data, encode_signature(&r, &s, tweak.signature))
    }

    /// The `firstFactor` JSON of an assertion over `challenge`.
    pub fn sign(&self, challenge: &str, tweak: &Tweak) -> Value {
        let (client_data, auth_data, signature) = self.assertion_parts(challenge, tweak);
        json!({
            "kind": "Fido2",
            "credentialAssertion": {
                "credId": self.cred_id_b64(),
                "clientData": b64u(&client_data),
                "authenticatorData": b64u(&auth_data),
                "signature": b64u(&signature),
            }
        })
    }
}

/// CBOR bytes of a value.
pub fn cbor(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).unwrap();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn honest_assertions_verify_and_the_bad_encodings_are_not_der() {
        use p256::ecdsa::signature::Verifier as _;
        let passkey = HandPasskey::new("http://localhost:1", "localhost");
        let TestKey::P256(key) = &passkey.key else { unreachable!() };
        let (client_data, auth_data, signature) = passkey.assertion_parts("abc", &Tweak::honest(3));
        assert_eq!(&auth_data[..32], &Sha256::digest(b"localhost")[..]);
        assert_eq!(auth_data[32..], [UP | UV, 0, 0, 0, 3]);
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let der = p256::ecdsa::Signature::from_der(&signature).unwrap();
        key.verifying_key().verify(&signed, &der).unwrap();
        // The same (r, s) in the two non-DER forms: refused by a strict DER parser.
        let bytes = der.to_bytes();
        let (r, s) = (bytes[..32].try_into().unwrap(), bytes[32..].try_into().unwrap());
        assert_eq!(encode_signature(&r, &s, SignatureForm::Der), signature);
        for form in [SignatureForm::BerLongLength, SignatureForm::PaddedInteger] {
            let encoded = encode_signature(&r, &s, form);
            assert_ne!(encoded, signature);
            assert!(p256::ecdsa::Signature::from_der(&encoded).is_err(), "{form:?} parsed as DER");
        }
    }
}
