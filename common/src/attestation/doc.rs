//! The attestation document payload (AWS field names) and its CBOR codec.

use std::collections::BTreeMap;

use ciborium::Value;

use super::VerifyError;
use super::cbor;

/// The only digest the NSM uses.
pub const DIGEST_SHA384: &str = "SHA384";
/// Largest accepted `public_key`, `user_data` or `nonce` (real NSMs emit up to 1024 bytes).
pub const MAX_OPTIONAL_FIELD_LEN: usize = 1024;
/// Largest accepted certificate (AWS: 1..=1024 bytes).
pub const MAX_CERTIFICATE_LEN: usize = 1024;
/// Most certificates accepted in `cabundle` (AWS emits 4: root, regional, zonal, instance).
pub const MAX_CABUNDLE_LEN: usize = 16;
/// Most PCRs in a document (indices 0..=31).
pub const MAX_PCRS: usize = 32;

/// A decoded attestation document payload (AWS field names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationDoc {
    /// Identifier of the NSM (e.g. `i-0123...-enc0123...`).
    pub module_id: String,
    /// Digest used for the PCRs: always `"SHA384"`.
    pub digest: String,
    /// Time the document was made, milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// PCR index -> value.
    pub pcrs: BTreeMap<u8, Vec<u8>>,
    /// The leaf certificate (DER) whose key signed the document.
    pub certificate: Vec<u8>,
    /// `[root, ..., last intermediate]`, DER.
    pub cabundle: Vec<Vec<u8>>,
    /// Optional public key supplied by the enclave application.
    pub public_key: Option<Vec<u8>>,
    /// Optional user data supplied by the enclave application.
    pub user_data: Option<Vec<u8>>,
    /// Optional nonce supplied by the enclave application.
    pub nonce: Option<Vec<u8>>,
}

impl AttestationDoc {
    /// CBOR payload as the NSM encodes it (definite-length map, text keys, pcrs as map
    /// uint -> bytes, optional fields as CBOR null when absent). Used by the mock NSM.
    pub fn to_cbor(&self) -> Vec<u8> {
        let opt_len = |o: &Option<Vec<u8>>| o.as_ref().map_or(0, Vec::len);
        let capacity = 256
            + self.module_id.len()
            + self.pcrs.values().map(|v| v.len() + 4).sum::<usize>()
            + self.certificate.len()
            + self.cabundle.iter().map(|c| c.len() + 4).sum::<usize>()
            + opt_len(&self.public_key)
            + opt_len(&self.user_data)
            + opt_len(&self.nonce);
        let mut out = Vec::with_capacity(capacity);
        cbor::head(&mut out, cbor::MAP, 9);
        cbor::text(&mut out, "module_id");
        cbor::text(&mut out, &self.module_id);
        cbor::text(&mut out, "digest");
        cbor::text(&mut out, &self.digest);
        cbor::text(&mut out, "timestamp");
        cbor::head(&mut out, cbor::UINT, self.timestamp);
        cbor::text(&mut out, "pcrs");
        cbor::head(&mut out, cbor::MAP, self.pcrs.len() as u64);
        for (index, value) in &self.pcrs {
            cbor::head(&mut out, cbor::UINT, u64::from(*index));
            cbor::bytes(&mut out, value);
        }
        cbor::text(&mut out, "certificate");
        cbor::bytes(&mut out, &self.certificate);
        cbor::text(&mut out, "cabundle");
        cbor::head(&mut out, cbor::ARRAY, self.cabundle.len() as u64);
        for cert in &self.cabundle {
            cbor::bytes(&mut out, cert);
        }
        cbor::text(&mut out, "public_key");
        cbor::opt_bytes(&mut out, self.public_key.as_deref());
        cbor::text(&mut out, "user_data");
        cbor::opt_bytes(&mut out, self.user_data.as_deref());
        cbor::text(&mut out, "nonce");
        cbor::opt_bytes(&mut out, self.nonce.as_deref());
        out
    }
}

fn err(msg: impl Into<String>) -> VerifyError {
    VerifyError::Payload(msg.into())
}

/// Step 2: decodes the payload generically (definite or indefinite-length maps) and checks
/// the presence, types and sizes of every field.
pub(crate) fn parse_payload(payload: &[u8]) -> Result<AttestationDoc, VerifyError> {
    let value = cbor::decode_one(payload).map_err(err)?;
    let Value::Map(entries) = value else {
        return Err(err("not a CBOR map"));
    };

    let mut module_id = None;
    let mut digest = None;
    let mut timestamp = None;
    let mut pcrs = None;
    let mut certificate = None;
    let mut cabundle = None;
    let mut public_key = None;
    let mut user_data = None;
    let mut nonce = None;

    for (key, value) in entries {
        let Value::Text(key) = key else {
            return Err(err("a map key is not a text string"));
        };
        let slot_taken = match key.as_str() {
            "module_id" => module_id.replace(parse_module_id(value)?).is_some(),
            "digest" => digest.replace(parse_digest(value)?).is_some(),
            "timestamp" => timestamp.replace(parse_timestamp(value)?).is_some(),
            "pcrs" => pcrs.replace(parse_pcrs(value)?).is_some(),
            "certificate" => certificate.replace(parse_cert(value, "certificate")?).is_some(),
            "cabundle" => cabundle.replace(parse_cabundle(value)?).is_some(),
            "public_key" => public_key.replace(parse_optional(value, "public_key")?).is_some(),
            "user_data" => user_data.replace(parse_optional(value, "user_data")?).is_some(),
            "nonce" => nonce.replace(parse_optional(value, "nonce")?).is_some(),
            // Fields a future NSM may add are covered by the signature; ignore them.
            _ => false,
        };
        if slot_taken {
            return Err(err(format!("duplicate field `{key}`")));
        }
    }

    let missing = |name: &str| err(format!("missing field `{name}`"));
    Ok(AttestationDoc {
        module_id: module_id.ok_or_else(|| missing("module_id"))?,
        digest: digest.ok_or_else(|| missing("digest"))?,
        timestamp: timestamp.ok_or_else(|| missing("timestamp"))?,
        pcrs: pcrs.ok_or_else(|| missing("pcrs"))?,
        certificate: certificate.ok_or_else(|| missing("certificate"))?,
        cabundle: cabundle.ok_or_else(|| missing("cabundle"))?,
        public_key: public_key.flatten(),
        user_data: user_data.flatten(),
        nonce: nonce.flatten(),
    })
}

fn parse_module_id(value: Value) -> Result<String, VerifyError> {
    match value {
        Value::Text(s) if !s.is_empty() => Ok(s),
        Value::Text(_) => Err(err("`module_id` is empty")),
        _ => Err(err("`module_id` is not a text string")),
    }
}

fn parse_digest(value: Value) -> Result<String, VerifyError> {
    match value {
        Value::Text(s) if s == DIGEST_SHA384 => Ok(s),
        Value::Text(s) => {
            Err(err(format!("`digest` is {:?}, expected \"SHA384\"", s.chars().take(32).collect::<String>())))
        }
        _ => Err(err("`digest` is not a text string")),
    }
}

fn parse_timestamp(value: Value) -> Result<u64, VerifyError> {
    let Value::Integer(i) = value else {
        return Err(err("`timestamp` is not an integer"));
    };
    match u64::try_from(i) {
        Ok(t) if t > 0 => Ok(t),
        _ => Err(err("`timestamp` is not a positive 64-bit integer")),
    }
}

fn parse_pcrs(value: Value) -> Result<BTreeMap<u8, Vec<u8>>, VerifyError> {
    let Value::Map(entries) = value else {
        return Err(err("`pcrs` is not a map"));
    };
    if entries.is_empty() || entries.len() > MAX_PCRS {
        return Err(err(format!("`pcrs` has {} entries, expected 1 to {MAX_PCRS}", entries.len())));
    }
    let mut pcrs = BTreeMap::new();
    for (index, pcr) in entries {
        let index = match index {
            Value::Integer(i) => u8::try_from(i)
                .ok()
                .filter(|i| usize::from(*i) < MAX_PCRS)
                .ok_or_else(|| err("a PCR index is not in 0..=31"))?,
            _ => return Err(err("a PCR index is not an integer")),
        };
        let Value::Bytes(pcr) = pcr else {
            return Err(err(format!("PCR{index} is not a byte string")));
        };
        if ![32, 48, 64].contains(&pcr.len()) {
            return Err(err(format!("PCR{index} is {} bytes, expected 32, 48 or 64", pcr.len())));
        }
        if pcrs.insert(index, pcr).is_some() {
            return Err(err(format!("duplicate PCR{index}")));
        }
    }
    Ok(pcrs)
}

fn parse_cert(value: Value, name: &str) -> Result<Vec<u8>, VerifyError> {
    match value {
        Value::Bytes(b) if !b.is_empty() && b.len() <= MAX_CERTIFICATE_LEN => Ok(b),
        Value::Bytes(b) => {
            Err(err(format!("`{name}` is {} bytes, expected 1 to {MAX_CERTIFICATE_LEN}", b.len())))
        }
        _ => Err(err(format!("`{name}` is not a byte string"))),
    }
}

fn parse_cabundle(value: Value) -> Result<Vec<Vec<u8>>, VerifyError> {
    let Value::Array(items) = value else {
        return Err(err("`cabundle` is not an array"));
    };
    if items.is_empty() || items.len() > MAX_CABUNDLE_LEN {
        return Err(err(format!(
            "`cabundle` has {} certificates, expected 1 to {MAX_CABUNDLE_LEN}",
            items.len()
        )));
    }
    items.into_iter().map(|item| parse_cert(item, "cabundle entry")).collect()
}

/// Optional fields: absent or `null` -> None; otherwise a byte string of at most 1024 bytes.
fn parse_optional(value: Value, name: &str) -> Result<Option<Vec<u8>>, VerifyError> {
    match value {
        Value::Null => Ok(None),
        Value::Bytes(b) if b.len() <= MAX_OPTIONAL_FIELD_LEN => Ok(Some(b)),
        Value::Bytes(b) => {
            Err(err(format!("`{name}` is {} bytes, at most {MAX_OPTIONAL_FIELD_LEN} allowed", b.len())))
        }
        _ => Err(err(format!("`{name}` is neither a byte string nor null"))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn sample() -> AttestationDoc {
        AttestationDoc {
            module_id: "i-mock-enc0".into(),
            digest: DIGEST_SHA384.into(),
            timestamp: 1_700_000_000_000,
            pcrs: (0u8..16).map(|i| (i, vec![i; 48])).collect(),
            certificate: vec![1; 300],
            cabundle: vec![vec![2; 400], vec![3; 500]],
            public_key: None,
            user_data: Some(vec![]),
            nonce: Some(vec![9; 1024]),
        }
    }

    #[test]
    fn to_cbor_roundtrips() {
        let doc = sample();
        let cbor = doc.to_cbor();
        assert_eq!(cbor.first(), Some(&0xa9));
        assert_eq!(parse_payload(&cbor).unwrap(), doc);
    }

    #[test]
    fn to_cbor_matches_ciborium_encoding() {
        // Our hand-written encoder must produce what a generic encoder makes of the same Value.
        let doc = sample();
        let value = cbor::decode_one(&doc.to_cbor()).unwrap();
        let mut reencoded = Vec::new();
        ciborium::ser::into_writer(&value, &mut reencoded).unwrap();
        assert_eq!(reencoded, doc.to_cbor());
    }

    #[test]
    fn accepts_indefinite_length_maps() {
        let cbor = sample().to_cbor();
        // Re-frame the 9-entry map as an indefinite-length map: 0xbf ... 0xff.
        let mut indefinite = vec![0xbf];
        indefinite.extend_from_slice(cbor.get(1..).unwrap());
        indefinite.push(0xff);
        assert_eq!(parse_payload(&indefinite).unwrap(), sample());
    }

    #[test]
    fn rejects_bad_fields() {
        let check = |mutate: &dyn Fn(&mut AttestationDoc)| {
            let mut doc = sample();
            mutate(&mut doc);
            parse_payload(&doc.to_cbor()).unwrap_err()
        };
        check(&|d| d.module_id.clear());
        check(&|d| d.digest = "SHA256".into());
        check(&|d| d.timestamp = 0);
        check(&|d| d.pcrs.clear());
        check(&|d| {
            d.pcrs.insert(32, vec![0; 48]);
        });
        check(&|d| {
            d.pcrs.insert(3, vec![0; 47]);
        });
        check(&|d| d.certificate.clear());
        check(&|d| d.certificate = vec![0; 1025]);
        check(&|d| d.cabundle.clear());
        check(&|d| d.nonce = Some(vec![0; 1025]));
        check(&|d| d.user_data = Some(vec![0; 1025]));
        check(&|d| d.public_key = Some(vec![0; 1025]));
    }

    #[test]
    fn rejects_missing_and_duplicate_fields() {
        // Drop "nonce": null from the end, leaving 8 entries: optional, still fine.
        let cbor = sample().to_cbor();
        // A map with only a module_id.
        let mut only = vec![0xa1];
        cbor::text(&mut only, "module_id");
        cbor::text(&mut only, "x");
        assert!(matches!(parse_payload(&only), Err(VerifyError::Payload(m)) if m.contains("missing")));
        // Duplicate key: claim 10 entries and append another module_id.
        let mut dup = vec![0xaa];
        dup.extend_from_slice(cbor.get(1..).unwrap());
        cbor::text(&mut dup, "module_id");
        cbor::text(&mut dup, "y");
        assert!(matches!(parse_payload(&dup), Err(VerifyError::Payload(m)) if m.contains("duplicate")));
    }

    #[test]
    fn absent_optional_fields_are_none() {
        let mut doc = sample();
        doc.nonce = None;
        doc.user_data = None;
        // Encode, then strip the three optional entries by building a 6-entry map by hand.
        let full = doc.to_cbor();
        let mut six = vec![0xa6];
        let cut = full.windows(11).position(|w| w == b"\x6apublic_key").unwrap();
        six.extend_from_slice(full.get(1..cut).unwrap());
        let parsed = parse_payload(&six).unwrap();
        assert_eq!(parsed.public_key, None);
        assert_eq!(parsed.user_data, None);
        assert_eq!(parsed.nonce, None);
    }
}
