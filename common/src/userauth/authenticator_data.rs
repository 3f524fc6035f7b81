//! WebAuthn authenticator data (L3 §6.1): rpIdHash, flags, signCount, then the attested
//! credential data (flag AT) and the extensions (flag ED).

use sha2::{Digest, Sha256};

use super::error::{AuthError, malformed};
use super::expected::{Expected, MAX_AUTHENTICATOR_DATA_LEN, MAX_CREDENTIAL_ID_LEN, check_len};

/// User present.
pub(crate) const FLAG_UP: u8 = 0x01;
/// User verified.
pub(crate) const FLAG_UV: u8 = 0x04;
/// Backup eligible.
pub(crate) const FLAG_BE: u8 = 0x08;
/// Backed up.
pub(crate) const FLAG_BS: u8 = 0x10;
/// Attested credential data included.
pub(crate) const FLAG_AT: u8 = 0x40;
/// Extension data included.
pub(crate) const FLAG_ED: u8 = 0x80;

/// The fixed part: rpIdHash (32), flags (1), signCount (4).
const FIXED_LEN: usize = 37;

/// Parsed authenticator data, borrowing the input.
#[derive(Debug)]
pub(crate) struct AuthenticatorData<'a> {
    pub rp_id_hash: &'a [u8],
    pub flags: u8,
    pub sign_count: u32,
    pub attested: Option<AttestedCredential<'a>>,
}

/// The attested credential data of a registration.
#[derive(Debug)]
pub(crate) struct AttestedCredential<'a> {
    pub cred_id: &'a [u8],
    /// The COSE_Key bytes, exactly.
    pub public_key: &'a [u8],
}

impl AuthenticatorData<'_> {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Checks the rpIdHash, UP, UV when required (WebAuthn L3 §7.2 steps 15-17, §7.1 steps
    /// 13-15); BS without BE is already refused by [`parse`].
    pub fn check(&self, expected: &Expected<'_>) -> Result<(), AuthError> {
        if self.rp_id_hash != Sha256::digest(expected.rp_id.as_bytes()).as_slice() {
            return Err(AuthError::RpIdMismatch);
        }
        if !self.has(FLAG_UP) {
            return Err(AuthError::UserNotPresent);
        }
        if expected.requires_uv() && !self.has(FLAG_UV) {
            return Err(AuthError::UserNotVerified);
        }
        Ok(())
    }
}

/// Parses authenticator data: the fixed 37 bytes, the attested credential data when AT is
/// set, one CBOR map of extensions when ED is set, and nothing after.
pub(crate) fn parse(bytes: &[u8]) -> Result<AuthenticatorData<'_>, AuthError> {
    check_len("authenticator data", bytes, MAX_AUTHENTICATOR_DATA_LEN)?;
    if bytes.len() < FIXED_LEN {
        return Err(malformed("authenticator data shorter than 37 bytes"));
    }
    let flags = bytes[32];
    // BS (backed up) implies BE (backup eligible) (L3 §6.1 "Flags").
    if flags & FLAG_BS != 0 && flags & FLAG_BE == 0 {
        return Err(malformed("authenticator data flags BS without BE"));
    }
    let sign_count = u32::from_be_bytes([bytes[33], bytes[34], bytes[35], bytes[36]]);
    let mut rest = &bytes[FIXED_LEN..];
    let attested = if flags & FLAG_AT != 0 {
        // aaguid (16), credentialIdLength (2, big-endian), credentialId, credentialPublicKey.
        if rest.len() < 18 {
            return Err(malformed("attested credential data truncated"));
        }
        let id_len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
        if id_len > MAX_CREDENTIAL_ID_LEN {
            return Err(malformed("credential id longer than 1023 bytes"));
        }
        rest = &rest[18..];
        if rest.len() < id_len {
            return Err(malformed("credential id truncated"));
        }
        let (cred_id, after) = rest.split_at(id_len);
        let key_len = cbor_item_len(after).map_err(|_| malformed("credential public key is not CBOR"))?;
        let (public_key, after) = after.split_at(key_len);
        rest = after;
        Some(AttestedCredential { cred_id, public_key })
    } else {
        None
    };
    if flags & FLAG_ED != 0 {
        let len = cbor_item_len(rest).map_err(|_| malformed("extensions are not CBOR"))?;
        if !matches!(rest.first(), Some(0xa0..=0xbf)) {
            return Err(malformed("extensions are not a CBOR map"));
        }
        rest = &rest[len..];
    }
    if !rest.is_empty() {
        return Err(malformed("trailing bytes after authenticator data"));
    }
    Ok(AuthenticatorData { rp_id_hash: &bytes[..32], flags, sign_count, attested })
}

/// The length of the one CBOR item that starts `bytes`.
fn cbor_item_len(bytes: &[u8]) -> Result<usize, ciborium::de::Error<std::io::Error>> {
    let mut reader = bytes;
    let _: ciborium::Value = ciborium::from_reader(&mut reader)?;
    Ok(bytes.len() - reader.len())
}
