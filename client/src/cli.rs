//! Argument parsing and JSON rendering shared by the `signer` binary (and usable by others).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use signer_common::attestation::{self, AttestationDoc, TrustedRoot};
use signer_common::encoding::{from_b64, from_hex_lenient, from_hex0x_array, to_hex0x};
use signer_common::protocol::AttestationMode;

use crate::api::{attestation_mode_name, parse_attestation_mode, parse_session_id};
use crate::error::{ClientError, VerifyResultError};
use crate::verify::{ImagePolicy, VerifiedResult};

/// A command's failure: a stable snake_case `code` and a one-line `message`. With `--json` it is
/// printed on stdout as `{ "error": { "code", "message" } }`, and the message on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// `invalid_argument`, `request_failed`, `credentials`, `no_expected_image`,
    /// `verification_failed`, `io_error`.
    pub code: &'static str,
    /// The one-line reason (never a secret).
    pub message: String,
}

impl CliError {
    /// An error with this code.
    pub fn new(code: &'static str, message: impl Into<String>) -> CliError {
        CliError { code, message: one_line(&message.into()) }
    }

    /// A verification failure, `context` first ("signature X does not verify: ...").
    pub fn verification(context: &str, e: &VerifyResultError) -> CliError {
        let code = match e {
            VerifyResultError::NoExpectedImage => "no_expected_image",
            _ => "verification_failed",
        };
        CliError::new(code, format!("{context}{e}"))
    }

    /// `{ "error": { "code", "message" } }`.
    pub fn to_json(&self) -> Value {
        json!({ "error": { "code": self.code, "message": self.message } })
    }
}

impl From<String> for CliError {
    fn from(message: String) -> CliError {
        CliError::new("invalid_argument", message)
    }
}

impl From<&str> for CliError {
    fn from(message: &str) -> CliError {
        CliError::new("invalid_argument", message)
    }
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> CliError {
        let code = match e {
            ClientError::InvalidInput(_) => "invalid_argument",
            ClientError::Credentials(_) => "credentials",
            _ => "request_failed",
        };
        CliError::new(code, e.to_string())
    }
}

/// The expected enclave image on a command line: `--pcr`, `--pcrs` and `--allow-any-image`, the
/// same flags on every command that verifies an answer.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ImageArgs {
    /// Expected PCR value, N=HEX (repeatable). Verifying an answer or a receipt against a root
    /// needs PCR0 (the enclave image): here, in --pcrs, or waived by --allow-any-image.
    #[arg(long = "pcr", value_name = "N=HEX")]
    pub pcrs: Vec<String>,
    /// Expected PCRs from a file: `{ "0": hex, ... }` (DATA_DIR/pcrs.json of `signer-parent
    /// dev`) or the JSON of `nitro-cli build-enclave` / `describe-eif`.
    #[arg(long = "pcrs", value_name = "FILE")]
    pub pcrs_file: Option<PathBuf>,
    /// Accept answers from any enclave image (no PCR0): for tests and first contact only.
    #[arg(long)]
    pub allow_any_image: bool,
}

impl ImageArgs {
    /// Whether any of the three flags was given.
    pub fn is_given(&self) -> bool {
        !self.pcrs.is_empty() || self.pcrs_file.is_some() || self.allow_any_image
    }

    /// The PCRs of `--pcr` and `--pcrs` together (a PCR given twice must agree).
    pub fn expected_pcrs(&self) -> Result<BTreeMap<u8, Vec<u8>>, String> {
        let mut pcrs = parse_pcrs(&self.pcrs)?;
        if let Some(path) = &self.pcrs_file {
            for (index, value) in parse_pcrs_file(path)? {
                if let Some(previous) = pcrs.insert(index, value.clone())
                    && previous != value
                {
                    return Err(format!("PCR {index} differs between --pcr and --pcrs"));
                }
            }
        }
        Ok(pcrs)
    }

    /// The image policy: see [`image_policy`].
    pub fn policy(&self) -> Result<ImagePolicy, CliError> {
        image_policy(&self.pcrs, self.pcrs_file.as_deref(), self.allow_any_image)
    }
}

/// The expected enclave image from `--pcr N=HEX` (repeated), `--pcrs FILE` and
/// `--allow-any-image`: pinned when PCR0 is among them; otherwise "no expected enclave image"
/// unless `allow_any_image`.
pub fn image_policy(
    pcr_args: &[String],
    pcrs_file: Option<&Path>,
    allow_any_image: bool,
) -> Result<ImagePolicy, CliError> {
    let args =
        ImageArgs { pcrs: pcr_args.to_vec(), pcrs_file: pcrs_file.map(Path::to_path_buf), allow_any_image };
    let pcrs = args.expected_pcrs()?;
    if pcrs.contains_key(&0) {
        return ImagePolicy::pinned(pcrs).map_err(|e| CliError::verification("", &e));
    }
    if !allow_any_image {
        return Err(CliError::new(
            "no_expected_image",
            "no expected enclave image: give --pcr 0=HEX or --pcrs FILE (e.g. DATA_DIR/pcrs.json), \
             or --allow-any-image to accept any enclave",
        ));
    }
    Ok(pcrs.into_iter().fold(ImagePolicy::danger_any_image(), |policy, (i, v)| policy.with_pcr(i, v)))
}

/// Reads a PCR file: `{ "0": hex, ... }` (as `signer-parent dev` writes `pcrs.json`), or the
/// JSON of `nitro-cli build-enclave` / `describe-eif`, whose `Measurements` object holds
/// `HashAlgorithm` and `PCR0`, `PCR1`, ... (other top-level fields are ignored). Unknown keys
/// (in the plain form, or in `Measurements`) and values that are not hex are refused.
pub fn parse_pcrs_file(path: &Path) -> Result<BTreeMap<u8, Vec<u8>>, String> {
    let bytes = read_small_file(path)?;
    let shown = path.display();
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("--pcrs {shown} is not JSON: {e}"))?;
    let object = value.as_object().ok_or_else(|| format!("--pcrs {shown} is not a JSON object"))?;
    let (entries, nitro) = match object.get("Measurements") {
        Some(Value::Object(measurements)) => (measurements, true),
        Some(_) => return Err(format!("--pcrs {shown}: Measurements is not an object")),
        None => (object, false),
    };
    let mut pcrs = BTreeMap::new();
    for (key, value) in entries {
        let index = if nitro {
            if key == "HashAlgorithm" {
                continue;
            }
            key.strip_prefix("PCR")
        } else {
            Some(key.as_str())
        };
        let index = index
            .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse::<u8>().ok())
            .filter(|i| *i < 32)
            .ok_or_else(|| format!("--pcrs {shown}: unknown PCR key {key:?}"))?;
        let text = value.as_str().ok_or_else(|| format!("--pcrs {shown}: PCR {index} is not a string"))?;
        let bytes = from_hex_lenient(text).map_err(|e| format!("--pcrs {shown}: PCR {index} {e}"))?;
        if bytes.is_empty() {
            return Err(format!("--pcrs {shown}: PCR {index} is empty"));
        }
        pcrs.insert(index, bytes);
    }
    if pcrs.is_empty() {
        return Err(format!("--pcrs {shown} holds no PCR"));
    }
    Ok(pcrs)
}

/// The largest file read for a `pem:`/`der:` root, a document or a `@FILE` argument.
const MAX_INPUT_FILE_LEN: u64 = 1024 * 1024;

/// Reads a small file, refusing anything larger than 1 MiB.
pub fn read_small_file(path: &Path) -> Result<Vec<u8>, String> {
    let len = std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?.len();
    if len > MAX_INPUT_FILE_LEN {
        return Err(format!("{} is larger than {MAX_INPUT_FILE_LEN} bytes", path.display()));
    }
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Parses `--root`: `aws` (the pinned AWS Nitro Root-G1), `pem:FILE` or `der:FILE`.
pub fn parse_root(spec: &str) -> Result<TrustedRoot, String> {
    if spec == "aws" {
        return Ok(TrustedRoot::aws_nitro_root_g1());
    }
    if let Some(path) = spec.strip_prefix("pem:") {
        let bytes = read_small_file(Path::new(path))?;
        let text = String::from_utf8(bytes).map_err(|_| format!("{path} is not PEM text"))?;
        return TrustedRoot::from_pem(&text).map_err(|e| format!("{path}: {e}"));
    }
    if let Some(path) = spec.strip_prefix("der:") {
        let bytes = read_small_file(Path::new(path))?;
        return TrustedRoot::from_der(bytes).map_err(|e| format!("{path}: {e}"));
    }
    Err(format!("--root must be aws, pem:FILE or der:FILE, not {spec:?}"))
}

/// Parses hex with or without `0x`; the error says what is wrong (odd length, a non-hex
/// character) without echoing the value.
pub fn parse_hex(what: &str, text: &str) -> Result<Vec<u8>, String> {
    from_hex_lenient(text).map_err(|e| format!("{what} {e}"))
}

/// Parses a nonce: hex with or without `0x`, 1 to 64 bytes.
pub fn parse_nonce(text: &str) -> Result<Vec<u8>, String> {
    signer_common::api::parse_nonce(text).map_err(|e| format!("--{e}"))
}

/// Parses `--hash`: `0x` and 64 hex digits, the API's rule for binary values.
pub fn parse_hash(text: &str) -> Result<[u8; 32], String> {
    from_hex0x_array::<32>(text.trim()).map_err(|e| format!("--hash {e} (0x and 64 hex digits)"))
}

/// Parses one `--pcr N=HEX` (N from 0 to 31).
pub fn parse_pcr(text: &str) -> Result<(u8, Vec<u8>), String> {
    let (index, value) = text.split_once('=').ok_or_else(|| format!("--pcr must be N=HEX, not {text:?}"))?;
    let index: u8 = index
        .trim()
        .parse()
        .ok()
        .filter(|i| *i < 32)
        .ok_or_else(|| format!("--pcr index must be 0 to 31, not {index:?}"))?;
    let value = parse_hex("--pcr value", value)?;
    if value.is_empty() {
        return Err(format!("--pcr {index} has an empty value"));
    }
    Ok((index, value))
}

/// Parses every `--pcr`, refusing an index given twice with different values.
pub fn parse_pcrs(args: &[String]) -> Result<BTreeMap<u8, Vec<u8>>, String> {
    let mut pcrs = BTreeMap::new();
    for arg in args {
        let (index, value) = parse_pcr(arg)?;
        if let Some(previous) = pcrs.insert(index, value.clone())
            && previous != value
        {
            return Err(format!("--pcr {index} is given twice with different values"));
        }
    }
    Ok(pcrs)
}

/// A base64/base64url argument, or `@FILE` to read the text from a file.
pub fn parse_b64_arg(what: &str, text: &str) -> Result<Vec<u8>, String> {
    let owned;
    let text = match text.strip_prefix('@') {
        Some(path) => {
            let bytes = read_small_file(Path::new(path))?;
            owned = String::from_utf8(bytes).map_err(|_| format!("{path} is not text"))?;
            owned.as_str()
        }
        None => text,
    };
    let bytes = from_b64(text).map_err(|_| format!("{what} is not base64url"))?;
    if bytes.is_empty() {
        return Err(format!("{what} is empty"));
    }
    Ok(bytes)
}

/// An attestation document argument: base64/base64url text, or `@FILE` holding raw CBOR or
/// base64 text.
pub fn parse_document_arg(what: &str, text: &str) -> Result<Vec<u8>, String> {
    match text.strip_prefix('@') {
        Some(path) => {
            let bytes = read_small_file(Path::new(path))?;
            attestation::document_from_file_bytes(&bytes).map_err(|e| format!("{what} {path}: {e}"))
        }
        None => parse_b64_arg(what, text),
    }
}

/// Parses `--attestation`: `fresh` or `session`.
pub fn parse_attestation_arg(text: &str) -> Result<AttestationMode, String> {
    parse_attestation_mode(text)
        .ok_or_else(|| format!("--attestation must be fresh or session, not {text:?}"))
}

/// Parses a session document id: 32 bytes of hex, with or without `0x`.
pub fn parse_session_id_arg(text: &str) -> Result<[u8; 32], String> {
    parse_session_id(text).ok_or_else(|| format!("--id must be 32 bytes of hex, not {text:?}"))
}

/// Seconds since the Unix epoch, now.
pub fn now_unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `{ "0": "<hex>", ... }`: attestation-document values are plain lowercase hex, as in the
/// vectors' `expected.json` and `--pcr N=HEX`.
pub fn pcrs_json(pcrs: &BTreeMap<u8, Vec<u8>>) -> Value {
    Value::Object(pcrs.iter().map(|(i, v)| (i.to_string(), Value::String(hex::encode(v)))).collect())
}

/// An attestation-document field as plain hex, or null.
fn opt_hex(bytes: Option<&[u8]>) -> Value {
    bytes.map_or(Value::Null, |b| Value::String(hex::encode(b)))
}

/// A receipt field (key, digest, signature) as `0x`-hex like the HTTP API, or null.
fn opt_hex0x(bytes: Option<&[u8]>) -> Value {
    bytes.map_or(Value::Null, |b| Value::String(to_hex0x(b)))
}

/// The output of `signer attestation verify`: `{ valid: true, moduleId, timestamp, digest,
/// pcrs, userData, nonce, publicKey }`, binary values as plain hex or null.
pub fn document_json(doc: &AttestationDoc) -> Value {
    json!({
        "valid": true,
        "moduleId": doc.module_id,
        "timestamp": doc.timestamp,
        "digest": doc.digest,
        "pcrs": pcrs_json(&doc.pcrs),
        "userData": opt_hex(doc.user_data.as_deref()),
        "nonce": opt_hex(doc.nonce.as_deref()),
        "publicKey": opt_hex(doc.public_key.as_deref()),
    })
}

/// The output of `signer receipt verify`: `{ valid: true, kind, walletId, curve, publicKey,
/// payloadSha256, signature, requestId, time, moduleId, pcrs }` plus `payload`, `nonce`, the
/// document's `timestamp`, `attestationMode` (`fresh` or `session`) and `sessionId` (hex, or
/// null in fresh mode). `nonce` is the verified nonce: the document's in fresh mode, the
/// receipt's in session mode.
pub fn verified_result_json(result: &VerifiedResult) -> Value {
    let r = &result.receipt;
    let d = &result.document;
    let nonce = match result.mode {
        AttestationMode::Fresh => d.nonce.as_deref(),
        AttestationMode::Session => r.nonce.as_deref(),
    };
    json!({
        "valid": true,
        "kind": r.kind.as_str(),
        "walletId": r.wallet_id,
        "curve": r.curve.as_str(),
        "publicKey": to_hex0x(&r.public_key),
        "payloadSha256": opt_hex0x(r.payload_sha256.as_ref().map(|d| d.as_slice())),
        "payload": opt_hex0x(r.payload.as_deref()),
        "signature": opt_hex0x(r.signature.as_deref()),
        "requestId": r.request_id,
        "time": r.time,
        "moduleId": d.module_id,
        "timestamp": d.timestamp,
        "nonce": opt_hex(nonce),
        "pcrs": pcrs_json(&d.pcrs),
        "attestationMode": attestation_mode_name(result.mode),
        "sessionId": opt_hex(result.session_id.as_ref().map(|id| id.as_slice())),
    })
}

/// `value` (a JSON object) with `key` set; other values are wrapped as `{ "result": value }`.
pub fn with_field(value: Value, key: &str, field: Value) -> Value {
    let mut map = match value {
        Value::Object(map) => map,
        other => {
            let mut map = Map::new();
            map.insert("result".into(), other);
            map
        }
    };
    map.insert(key.into(), field);
    Value::Object(map)
}

/// A clap usage error as one line: its first paragraph, without the `error: ` prefix.
pub fn clap_error_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let paragraph: Vec<&str> = rendered
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let line = paragraph.join(" ");
    let line = line.trim_start_matches("error: ");
    if line.is_empty() { "invalid arguments".to_owned() } else { line.to_owned() }
}

/// An error message on one line (newlines and runs of spaces collapsed).
pub fn one_line(message: &str) -> String {
    crate::transport::one_line(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pcrs() {
        assert_eq!(parse_pcr("0=0xab").unwrap(), (0, vec![0xab]));
        assert_eq!(parse_pcr("16=AB01").unwrap(), (16, vec![0xab, 0x01]));
        assert!(parse_pcr("32=ab").is_err());
        assert!(parse_pcr("x=ab").is_err());
        assert!(parse_pcr("1=").is_err());
        assert!(parse_pcr("1=xyz").is_err());
        assert!(parse_pcr("ab").is_err());
        let pcrs = parse_pcrs(&["1=aa".into(), "1=0xaa".into(), "2=bb".into()]).unwrap();
        assert_eq!(pcrs.len(), 2);
        assert!(parse_pcrs(&["1=aa".into(), "1=bb".into()]).is_err());
    }

    #[test]
    fn parses_hashes_nonces_and_roots() {
        assert_eq!(parse_hash(&format!("0x{}", "11".repeat(32))).unwrap(), [0x11; 32]);
        assert_eq!(
            parse_hash("0x1122").unwrap_err(),
            "--hash must be 32 bytes, not 2 (0x and 64 hex digits)"
        );
        assert!(parse_hash(&"11".repeat(32)).unwrap_err().contains("must start with 0x"));
        assert!(parse_hash("0xabc").unwrap_err().contains("odd number of hex digits"));
        assert_eq!(
            parse_hex("--message", "0xabc").unwrap_err(),
            "--message has an odd number of hex digits (3)"
        );
        assert_eq!(parse_nonce("0102").unwrap(), vec![1, 2]);
        assert!(parse_nonce("").is_err());
        assert!(parse_nonce(&"00".repeat(65)).is_err());
        assert_eq!(parse_root("aws").unwrap(), TrustedRoot::aws_nitro_root_g1());
        assert!(parse_root("gcp").is_err());
        assert!(parse_root("pem:/nonexistent/root.pem").is_err());
        let dir = std::env::temp_dir().join(format!("signer-cli-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pem = dir.join("root.pem");
        std::fs::write(&pem, TrustedRoot::aws_nitro_root_g1().to_pem()).unwrap();
        let root = parse_root(&format!("pem:{}", pem.display())).unwrap();
        assert_eq!(root, TrustedRoot::aws_nitro_root_g1());
        let b64 = dir.join("receipt.b64");
        std::fs::write(&b64, "AQID\n").unwrap();
        assert_eq!(parse_b64_arg("--receipt", &format!("@{}", b64.display())).unwrap(), vec![1, 2, 3]);
        assert_eq!(parse_b64_arg("--receipt", "AQID").unwrap(), vec![1, 2, 3]);
        assert!(parse_b64_arg("--receipt", "").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn write_temp(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("signer-cli-pcrs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn reads_pcr_files_in_both_forms() {
        let a = "aa".repeat(48);
        let plain = write_temp("plain.json", &format!(r#"{{"0":"{a}","1":"0x{a}","2":"{a}"}}"#));
        let pcrs = parse_pcrs_file(&plain).unwrap();
        assert_eq!(pcrs.len(), 3);
        assert_eq!(pcrs[&1], vec![0xaa; 48]);
        // nitro-cli build-enclave / describe-eif: extra top-level fields are ignored.
        let nitro = write_temp(
            "nitro.json",
            &format!(
                r#"{{"EnclaveName":"x","Measurements":{{"HashAlgorithm":"Sha384 {{ ... }}","PCR0":"{a}","PCR8":"{a}"}},"IsSigned":false}}"#
            ),
        );
        assert_eq!(parse_pcrs_file(&nitro).unwrap().keys().copied().collect::<Vec<_>>(), vec![0, 8]);
        for (name, text, needle) in [
            ("unknown.json", format!(r#"{{"0":"{a}","pcr1":"{a}"}}"#), "unknown PCR key \"pcr1\""),
            (
                "bad-nitro.json",
                format!(r#"{{"Measurements":{{"PCR0":"{a}","PCRX":"{a}"}}}}"#),
                "unknown PCR key",
            ),
            ("big.json", format!(r#"{{"32":"{a}"}}"#), "unknown PCR key"),
            ("nothex.json", r#"{"0":"zz"}"#.to_owned(), "PCR 0 has a character that is not a hex digit"),
            ("odd.json", r#"{"0":"abc"}"#.to_owned(), "PCR 0 has an odd number"),
            ("empty.json", "{}".to_owned(), "holds no PCR"),
            ("notjson.json", "PCR0=aa".to_owned(), "is not JSON"),
        ] {
            let err = parse_pcrs_file(&write_temp(name, &text)).unwrap_err();
            assert!(err.contains(needle), "{name}: {err}");
        }
    }

    #[test]
    fn an_image_is_required_unless_any_image_is_allowed() {
        let err = image_policy(&[], None, false).unwrap_err();
        assert_eq!(err.code, "no_expected_image");
        assert!(err.message.starts_with("no expected enclave image"));
        let err = image_policy(&["1=aa".into()], None, false).unwrap_err();
        assert_eq!(err.code, "no_expected_image", "PCR1 alone does not pin the image");
        assert!(image_policy(&["0=aa".into()], None, false).unwrap().is_pinned());
        let any = image_policy(&["1=aa".into()], None, true).unwrap();
        assert!(!any.is_pinned());
        assert_eq!(any.pcrs().len(), 1);
        let file = write_temp("pin.json", r#"{"0":"bb"}"#);
        assert!(image_policy(&[], Some(&file), false).unwrap().is_pinned());
        assert!(image_policy(&["0=aa".into()], Some(&file), false).is_err(), "conflicting PCR0");
        assert_eq!(
            CliError::new("x", "a\nb").to_json(),
            json!({ "error": { "code": "x", "message": "a b" } })
        );
    }

    #[test]
    fn renders_documents() {
        let doc = AttestationDoc {
            module_id: "i-1-enc1".into(),
            digest: "SHA384".into(),
            timestamp: 5,
            pcrs: BTreeMap::from([(0, vec![1]), (16, vec![2])]),
            certificate: vec![],
            cabundle: vec![],
            public_key: None,
            user_data: Some(vec![0xaa]),
            nonce: None,
        };
        let json = document_json(&doc);
        assert_eq!(json["valid"], true);
        assert_eq!(json["pcrs"]["16"], "02");
        assert_eq!(json["userData"], "aa");
        assert_eq!(json["nonce"], Value::Null);
        assert_eq!(with_field(json!({"a": 1}), "verified", json!(false)), json!({"a": 1, "verified": false}));
    }
}
