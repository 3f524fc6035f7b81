//! A credential's public key: parsed from a COSE key (WebAuthn) or a PEM SubjectPublicKeyInfo
//! (Key credentials), and its signature check.

use coset::cbor::value::Value;
use coset::iana::EnumI64 as _;
use coset::{Algorithm, CborSerializable as _, CoseKey, KeyType, Label};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use spki::ObjectIdentifier;
use spki::der::Decode as _;

use super::error::{AuthError, malformed};
use super::expected::MAX_SIGNATURE_LEN;

/// COSE algorithm numbers (IANA "COSE Algorithms").
pub const COSE_ES256: i64 = -7;
/// ECDSA secp256k1 with SHA-256 (RFC 8812).
pub const COSE_ES256K: i64 = -47;
/// EdDSA (here Ed25519 only).
pub const COSE_EDDSA: i64 = -8;
/// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8812).
pub const COSE_RS256: i64 = -257;

// COSE key types and curves (RFC 9053 §7, RFC 8812 §3.1).
const KTY_OKP: i64 = 1;
const KTY_EC2: i64 = 2;
const KTY_RSA: i64 = 3;
const CRV_P256: i64 = 1;
const CRV_ED25519: i64 = 6;
const CRV_SECP256K1: i64 = 8;

// SubjectPublicKeyInfo algorithm identifiers (RFC 5480, RFC 8410, SEC 2).
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_SECP256K1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// The accepted RSA modulus sizes, in bits.
pub const RSA_MODULUS_BITS: std::ops::RangeInclusive<usize> = 2048..=8192;

/// A credential's public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CredentialPublicKey {
    /// ECDSA P-256 with SHA-256 (COSE ES256): SEC1 uncompressed point, 65 bytes.
    P256(ByteBuf),
    /// ECDSA secp256k1 with SHA-256 (COSE ES256K): SEC1 compressed point, 33 bytes.
    Secp256k1(ByteBuf),
    /// Ed25519 (COSE EdDSA): 32 bytes.
    Ed25519(ByteBuf),
    /// RSASSA-PKCS1-v1_5 with SHA-256 (COSE RS256): modulus and public exponent, big-endian.
    Rsa {
        /// Modulus.
        n: ByteBuf,
        /// Public exponent.
        e: ByteBuf,
    },
}

impl CredentialPublicKey {
    /// The JOSE/COSE algorithm name: `ES256`, `ES256K`, `EdDSA` or `RS256`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            CredentialPublicKey::P256(_) => "ES256",
            CredentialPublicKey::Secp256k1(_) => "ES256K",
            CredentialPublicKey::Ed25519(_) => "EdDSA",
            CredentialPublicKey::Rsa { .. } => "RS256",
        }
    }

    /// The COSE algorithm number: -7, -47, -8 or -257.
    pub fn cose_algorithm(&self) -> i64 {
        match self {
            CredentialPublicKey::P256(_) => COSE_ES256,
            CredentialPublicKey::Secp256k1(_) => COSE_ES256K,
            CredentialPublicKey::Ed25519(_) => COSE_EDDSA,
            CredentialPublicKey::Rsa { .. } => COSE_RS256,
        }
    }

    /// Parses a COSE_Key (RFC 9052 §7) as WebAuthn's `credentialPublicKey`: EC2 P-256 with
    /// ES256, EC2 secp256k1 with ES256K, OKP Ed25519 with EdDSA, RSA with RS256. The key type,
    /// algorithm and curve must agree, the point must be on the curve, an RSA modulus must have
    /// 2048 to 8192 bits and its exponent be odd. Other algorithms are `Unsupported`.
    pub fn from_cose_key(bytes: &[u8]) -> Result<Self, AuthError> {
        let key = CoseKey::from_slice(bytes).map_err(|_| malformed("COSE key is not a COSE_Key map"))?;
        let kty = match key.kty {
            KeyType::Assigned(kty) => kty.to_i64(),
            _ => return Err(AuthError::Unsupported("COSE key type".into())),
        };
        let alg = match key.alg {
            Some(Algorithm::Assigned(alg)) => alg.to_i64(),
            Some(_) => return Err(AuthError::Unsupported("COSE algorithm".into())),
            None => return Err(malformed("COSE key has no algorithm")),
        };
        let params = Params(&key.params);
        match (kty, alg) {
            (KTY_EC2, COSE_ES256 | COSE_ES256K) => {
                let (crv, name) =
                    if alg == COSE_ES256 { (CRV_P256, "P-256") } else { (CRV_SECP256K1, "secp256k1") };
                if params.int(-1)? != crv {
                    return Err(malformed(format!("COSE key curve is not {name} for its algorithm")));
                }
                let x = params.bytes(-2, 32)?;
                let y = params.bytes(-3, 32)?;
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                if alg == COSE_ES256 { p256_point(&point) } else { secp256k1_point(&point) }
            }
            (KTY_OKP, COSE_EDDSA) => {
                if params.int(-1)? != CRV_ED25519 {
                    return Err(AuthError::Unsupported("EdDSA curve other than Ed25519".into()));
                }
                ed25519_key(params.bytes(-2, 32)?)
            }
            (KTY_RSA, COSE_RS256) => {
                let n = params.any_bytes(-1)?;
                let e = params.any_bytes(-2)?;
                rsa_key(n, e)
            }
            (KTY_EC2 | KTY_OKP | KTY_RSA, COSE_ES256 | COSE_ES256K | COSE_EDDSA | COSE_RS256) => {
                Err(malformed("COSE key type does not match its algorithm"))
            }
            _ => Err(AuthError::Unsupported(format!("COSE algorithm {alg}"))),
        }
    }

    /// Parses a PEM `PUBLIC KEY` (SubjectPublicKeyInfo, as OpenSSL, Python and Node write it):
    /// P-256, secp256k1 or Ed25519.
    pub fn from_spki_pem(pem: &str) -> Result<Self, AuthError> {
        let (label, der) = spki::der::pem::decode_vec(pem.trim().as_bytes())
            .map_err(|_| malformed("public key is not PEM"))?;
        if label != "PUBLIC KEY" {
            return Err(malformed("PEM label is not PUBLIC KEY"));
        }
        Self::from_spki_der(&der)
    }

    /// Parses a DER SubjectPublicKeyInfo: P-256, secp256k1 or Ed25519.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, AuthError> {
        let info = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|_| malformed("public key is not a DER SubjectPublicKeyInfo"))?;
        let key = info
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| malformed("public key bit string has unused bits"))?;
        let oid = info.algorithm.oid;
        if oid == OID_ED25519 {
            // RFC 8410 §3: the parameters are absent.
            if info.algorithm.parameters.is_some() {
                return Err(malformed("Ed25519 key with algorithm parameters"));
            }
            return ed25519_key(key);
        }
        if oid != OID_EC_PUBLIC_KEY {
            return Err(AuthError::Unsupported("public key algorithm".into()));
        }
        let curve: ObjectIdentifier = info
            .algorithm
            .parameters
            .ok_or_else(|| malformed("EC key without a named curve"))?
            .decode_as()
            .map_err(|_| malformed("EC key parameters are not a named curve"))?;
        match curve {
            OID_PRIME256V1 => p256_point(key),
            OID_SECP256K1 => secp256k1_point(key),
            _ => Err(AuthError::Unsupported("EC curve".into())),
        }
    }

    /// Checks `signature` over `message`: ECDSA over SHA-256(message) with a strict DER
    /// signature, Ed25519 over the message, RSA PKCS#1 v1.5 over SHA-256(message).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), AuthError> {
        use aws_lc_rs::signature as aws;
        if signature.len() > MAX_SIGNATURE_LEN {
            return Err(malformed(format!("signature longer than {MAX_SIGNATURE_LEN} bytes")));
        }
        match self {
            CredentialPublicKey::P256(key) => {
                // Strict DER by the RustCrypto parser (the `der` crate refuses BER), then the
                // fixed r || s form by aws-lc-rs, measured 4x faster (benches/p256_verify.rs).
                let sig = p256::ecdsa::Signature::from_der(signature)
                    .map_err(|_| malformed("ECDSA signature is not strict DER"))?;
                aws::UnparsedPublicKey::new(&aws::ECDSA_P256_SHA256_FIXED, key.as_slice())
                    .verify(message, &sig.to_bytes())
                    .map_err(|_| AuthError::BadSignature)
            }
            CredentialPublicKey::Secp256k1(key) => {
                use k256::ecdsa::signature::Verifier as _;
                let sig = k256::ecdsa::Signature::from_der(signature)
                    .map_err(|_| malformed("ECDSA signature is not strict DER"))?;
                let key = k256::ecdsa::VerifyingKey::from_sec1_bytes(key)
                    .map_err(|_| malformed("secp256k1 key is not a curve point"))?;
                // k256 verifies low-S only; WebAuthn authenticators may produce high S, which
                // is as valid in ECDSA: verify its low-S twin.
                key.verify(message, &sig.normalize_s()).map_err(|_| AuthError::BadSignature)
            }
            CredentialPublicKey::Ed25519(key) => {
                // Strict: refuses a non-canonical S and small-order keys and R.
                use crate::ed25519::{Ed25519Error, verify_strict};
                verify_strict(key, message, signature).map_err(|e| match e {
                    Ed25519Error::PublicKey => malformed("Ed25519 key is not a curve point of large order"),
                    Ed25519Error::Length => malformed("Ed25519 signature length"),
                    Ed25519Error::Invalid => AuthError::BadSignature,
                })
            }
            CredentialPublicKey::Rsa { n, e } => {
                aws::RsaPublicKeyComponents { n: n.as_slice(), e: e.as_slice() }
                    .verify(&aws::RSA_PKCS1_2048_8192_SHA256, message, signature)
                    .map_err(|_| AuthError::BadSignature)
            }
        }
    }
}

/// A SEC1 P-256 point (compressed or not), checked on the curve and kept uncompressed.
fn p256_point(sec1: &[u8]) -> Result<CredentialPublicKey, AuthError> {
    use p256::elliptic_curve::sec1::ToSec1Point as _;
    let key =
        p256::PublicKey::from_sec1_bytes(sec1).map_err(|_| malformed("P-256 key is not a curve point"))?;
    Ok(CredentialPublicKey::P256(ByteBuf::from(key.to_sec1_point(false).as_bytes().to_vec())))
}

/// A SEC1 secp256k1 point (compressed or not), checked on the curve and kept compressed.
fn secp256k1_point(sec1: &[u8]) -> Result<CredentialPublicKey, AuthError> {
    use k256::elliptic_curve::sec1::ToSec1Point as _;
    let key = k256::PublicKey::from_sec1_bytes(sec1)
        .map_err(|_| malformed("secp256k1 key is not a curve point"))?;
    Ok(CredentialPublicKey::Secp256k1(ByteBuf::from(key.to_sec1_point(true).as_bytes().to_vec())))
}

/// An Ed25519 key: a canonical point encoding, not of small order.
fn ed25519_key(bytes: &[u8]) -> Result<CredentialPublicKey, AuthError> {
    let array: [u8; 32] = bytes.try_into().map_err(|_| malformed("Ed25519 key length"))?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&array)
        .map_err(|_| malformed("Ed25519 key is not a curve point"))?;
    if key.is_weak() {
        return Err(malformed("Ed25519 key of small order"));
    }
    // A non-canonical encoding (y >= p) decodes to the point of y - p: refuse it, one key has
    // one encoding.
    if key.to_edwards().compress().to_bytes() != array {
        return Err(malformed("Ed25519 key is not canonically encoded"));
    }
    Ok(CredentialPublicKey::Ed25519(ByteBuf::from(bytes.to_vec())))
}

/// An RSA key: minimal big-endian n of 2048 to 8192 bits, odd e of at most 32 bits and above 1.
fn rsa_key(n: &[u8], e: &[u8]) -> Result<CredentialPublicKey, AuthError> {
    if n.first().is_none_or(|&b| b == 0) || e.first().is_none_or(|&b| b == 0) {
        return Err(malformed("RSA n or e is empty or has a leading zero"));
    }
    let bits = n.len() * 8 - n[0].leading_zeros() as usize;
    if !RSA_MODULUS_BITS.contains(&bits) {
        return Err(AuthError::Unsupported(format!("RSA modulus of {bits} bits")));
    }
    if e.len() > 4 || e.last().is_some_and(|&b| b & 1 == 0) || e == [1] {
        return Err(malformed("RSA exponent must be odd, above 1 and at most 32 bits"));
    }
    Ok(CredentialPublicKey::Rsa { n: ByteBuf::from(n.to_vec()), e: ByteBuf::from(e.to_vec()) })
}

/// The parameters of a COSE key (coset refuses a repeated label).
struct Params<'a>(&'a [(Label, Value)]);

impl<'a> Params<'a> {
    fn get(&self, label: i64) -> Result<&'a Value, AuthError> {
        self.0
            .iter()
            .find(|(l, _)| *l == Label::Int(label))
            .map(|(_, v)| v)
            .ok_or_else(|| malformed(format!("COSE key lacks parameter {label}")))
    }

    fn int(&self, label: i64) -> Result<i64, AuthError> {
        match self.get(label)? {
            Value::Integer(i) => {
                i64::try_from(*i).map_err(|_| malformed(format!("COSE key parameter {label}")))
            }
            _ => Err(malformed(format!("COSE key parameter {label} is not an integer"))),
        }
    }

    fn any_bytes(&self, label: i64) -> Result<&'a [u8], AuthError> {
        match self.get(label)? {
            Value::Bytes(b) => Ok(b),
            _ => Err(malformed(format!("COSE key parameter {label} is not a byte string"))),
        }
    }

    fn bytes(&self, label: i64, len: usize) -> Result<&'a [u8], AuthError> {
        let bytes = self.any_bytes(label)?;
        if bytes.len() != len {
            return Err(malformed(format!("COSE key parameter {label} is not {len} bytes")));
        }
        Ok(bytes)
    }
}
