//! The PCRs the mock NSM reports for an enclave image, so dev mode can publish the expected
//! values (`DATA_DIR/pcrs.json`) before the enclave runs. Not a measurement of anything real:
//! PCR0 = SHA-384(image bytes); PCR1 and PCR2 = SHA-384(label || PCR0) with the labels below.
//! A real enclave's PCRs come from `nitro-cli build-enclave`.

use std::collections::BTreeMap;

use sha2::{Digest, Sha384};

/// The length of a PCR value (SHA-384).
pub const PCR_LEN: usize = 48;

/// The label hashed with PCR0 into the mock's PCR1.
pub const PCR1_LABEL: &[u8] = b"signer mock-nsm PCR1 (kernel and boot ramfs) of image ";

/// The label hashed with PCR0 into the mock's PCR2.
pub const PCR2_LABEL: &[u8] = b"signer mock-nsm PCR2 (application) of image ";

/// PCR0, PCR1 and PCR2 of the mock NSM for the enclave executable `image`.
pub fn mock_pcrs(image: &[u8]) -> [[u8; PCR_LEN]; 3] {
    let pcr0: [u8; PCR_LEN] = Sha384::digest(image).into();
    let derived = |label: &[u8]| -> [u8; PCR_LEN] {
        let mut hash = Sha384::new();
        hash.update(label);
        hash.update(pcr0);
        hash.finalize().into()
    };
    [pcr0, derived(PCR1_LABEL), derived(PCR2_LABEL)]
}

/// [`mock_pcrs`] in the JSON form of `pcrs.json` and `GET /enclave/attestation`: index (decimal)
/// to lowercase hex without `0x`.
pub fn mock_pcrs_json(image: &[u8]) -> BTreeMap<String, String> {
    (0u8..).zip(mock_pcrs(image)).map(|(i, v)| (i.to_string(), hex::encode(v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcr0_is_the_image_hash_and_the_others_derive_from_it() {
        let pcrs = mock_pcrs(b"image");
        let pcr0: [u8; PCR_LEN] = Sha384::digest(b"image").into();
        assert_eq!(pcrs[0], pcr0);
        let mut pcr1 = PCR1_LABEL.to_vec();
        pcr1.extend_from_slice(&pcr0);
        assert_eq!(pcrs[1].as_slice(), Sha384::digest(&pcr1).as_slice());
        assert_ne!(pcrs[1], pcrs[2]);
        assert_ne!(mock_pcrs(b"other")[2], pcrs[2]);
        let json = mock_pcrs_json(b"image");
        assert_eq!(json.keys().collect::<Vec<_>>(), ["0", "1", "2"]);
        assert_eq!(json["0"], hex::encode(pcr0));
    }
}
