//! Receipts checked with the client SDK against the image the dev stack says it runs
//! (`DIR/pcrs.json`) and the stack's attestation root.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use signer_client::{ImagePolicy, ReceiptKind, ResultExpectations, TrustedRoot, verify_signing_result};
use signer_common::encoding::from_b64;

use crate::Stack;

/// The image in `DIR/pcrs.json`, as the SDK's policy.
pub fn dev_image(stack: &Stack) -> ImagePolicy {
    let pcrs: Value = serde_json::from_slice(&std::fs::read(stack.dir.join("pcrs.json")).unwrap()).unwrap();
    let pcrs: BTreeMap<u8, Vec<u8>> = pcrs
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.parse().unwrap(), hex::decode(v.as_str().unwrap()).unwrap()))
        .collect();
    assert!(pcrs.contains_key(&0), "pcrs.json has PCR0");
    ImagePolicy::pinned(pcrs).unwrap()
}

/// The stack's attestation root (the mock root in dev).
pub fn root_of(stack: &Stack) -> TrustedRoot {
    let (status, pem) = stack.get("/enclave/root", None).unwrap();
    assert_eq!(status, 200);
    TrustedRoot::from_pem(&pem).unwrap()
}

/// Verifies an answer's `receipt` and `attestation` with the SDK, for `kind` on `wallet_id`.
pub fn verify_answer(stack: &Stack, answer: &Value, kind: ReceiptKind, wallet_id: &str) {
    let field =
        |name: &str| from_b64(answer[name].as_str().unwrap_or_else(|| panic!("{name} in {answer}"))).unwrap();
    let expect = ResultExpectations {
        wallet_id: Some(wallet_id.to_owned()),
        kind: Some(kind),
        ..ResultExpectations::new(dev_image(stack))
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let verified =
        verify_signing_result(&field("receipt"), &field("attestation"), &root_of(stack), now, &expect)
            .unwrap_or_else(|e| panic!("{kind:?} receipt of {wallet_id} does not verify: {e}"));
    assert_eq!(verified.receipt.wallet_id, wallet_id);
}
