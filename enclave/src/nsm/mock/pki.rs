//! The mock NSM's local P-384 PKI and its files: the root CA, made once and kept under the state
//! directory (`root-ca.pem`, key and certificate, mode 0600; `root-cert.pem`, the certificate alone,
//! for pinning), and the intermediate CAs and short-lived leaves it issues. Only certificates and
//! their files; the provider that signs with them is the parent module.

use std::io::{ErrorKind, Write as _};
use std::path::Path;

use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P384_SHA384, SerialNumber,
};
use signer_common::attestation::TrustedRoot;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::nsm::NsmError;

/// The root's key and certificate (PEM, mode 0600).
pub const ROOT_FILE: &str = "root-ca.pem";
/// The root certificate alone (PEM), for clients to pin.
pub const ROOT_CERT_FILE: &str = "root-cert.pem";

pub(super) const SECOND_MS: u64 = 1000;
pub(super) const HOUR_MS: u64 = 3600 * SECOND_MS;
pub(super) const DAY_MS: u64 = 24 * HOUR_MS;
/// A leaf lives this long (AWS leaves live three hours).
pub(super) const LEAF_LIFETIME_MS: u64 = 3 * HOUR_MS;
/// ... starting this long before it is made, to absorb small clock differences.
const LEAF_BACKDATE_MS: u64 = 5 * 60 * SECOND_MS;
/// A leaf is replaced when less than this remains.
const LEAF_RENEW_BEFORE_MS: u64 = HOUR_MS;
const INTERMEDIATE_LIFETIME_MS: u64 = 30 * DAY_MS;
const ROOT_LIFETIME_MS: u64 = 30 * 365 * DAY_MS;
const ORGANIZATION: &str = "signer mock NSM";

pub(super) struct Intermediate {
    issuer: Issuer<'static, KeyPair>,
    der: Vec<u8>,
    pub(super) not_before_ms: u64,
    pub(super) not_after_ms: u64,
}

pub(super) struct Leaf {
    pub(super) key: EcdsaKeyPair,
    pub(super) certificate: Vec<u8>,
    /// `[root, intermediate]`.
    pub(super) cabundle: Vec<Vec<u8>>,
    not_before_ms: u64,
    not_after_ms: u64,
}

impl Leaf {
    pub(super) fn valid_at(&self, now_ms: u64) -> bool {
        self.not_before_ms <= now_ms && now_ms < self.not_after_ms
    }

    pub(super) fn fresh_at(&self, now_ms: u64) -> bool {
        self.not_before_ms <= now_ms && now_ms.saturating_add(LEAF_RENEW_BEFORE_MS) < self.not_after_ms
    }
}

fn pki_err(what: &str) -> impl FnOnce(rcgen::Error) -> NsmError + '_ {
    move |e| NsmError::Pki(format!("{what}: {e}"))
}

fn state_err(what: String) -> impl FnOnce(std::io::Error) -> NsmError {
    move |e| NsmError::State(format!("{what}: {e}"))
}

pub(super) fn fill(rng: &SystemRandom, buf: &mut [u8]) -> Result<(), NsmError> {
    rng.fill(buf).map_err(|_| NsmError::Device("the system random source failed".to_string()))
}

// ---------------------------------------------------------------------------------------------
// PKI

fn datetime(ms: u64) -> Result<OffsetDateTime, NsmError> {
    i64::try_from(ms / SECOND_MS)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or_else(|| NsmError::Pki(format!("time {ms} ms is out of range for a certificate")))
}

/// Certificate times have second precision: round `ms` down to a whole second.
fn whole_seconds(ms: u64) -> u64 {
    ms - ms % SECOND_MS
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "US");
    dn.push(DnType::OrganizationName, ORGANIZATION);
    dn.push(DnType::OrganizationalUnitName, "mock");
    dn.push(DnType::CommonName, cn);
    dn
}

fn random_serial(rng: &SystemRandom) -> Result<SerialNumber, NsmError> {
    let mut serial = [0u8; 16];
    fill(rng, &mut serial)?;
    // Positive and 16 bytes long.
    serial[0] = (serial[0] & 0x7f) | 0x01;
    Ok(SerialNumber::from_slice(&serial))
}

fn ca_params(cn: &str, constraint: BasicConstraints) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name(cn);
    p.is_ca = IsCa::Ca(constraint);
    p.key_usages =
        vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

/// The root's parameters. Its subject must stay the same across versions: intermediates name it
/// as their issuer.
pub(super) fn root_params(now_ms: u64) -> Result<CertificateParams, NsmError> {
    let mut p = ca_params("mock.nitro-enclaves", BasicConstraints::Unconstrained);
    p.not_before = datetime(now_ms.saturating_sub(DAY_MS))?;
    p.not_after = datetime(now_ms.saturating_add(ROOT_LIFETIME_MS))?;
    Ok(p)
}

pub(super) fn make_intermediate(
    root: &Issuer<'static, KeyPair>,
    module_id: &str,
    now_ms: u64,
    rng: &SystemRandom,
) -> Result<Intermediate, NsmError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).map_err(pki_err("key"))?;
    let not_before_ms = whole_seconds(now_ms.saturating_sub(HOUR_MS));
    let not_after_ms = whole_seconds(now_ms.saturating_add(INTERMEDIATE_LIFETIME_MS));
    let instance = module_id.split("-enc").next().unwrap_or(module_id);
    let mut p = ca_params(&format!("{instance}.mock.nitro-enclaves"), BasicConstraints::Constrained(0));
    p.serial_number = Some(random_serial(rng)?);
    p.not_before = datetime(not_before_ms)?;
    p.not_after = datetime(not_after_ms)?;
    p.use_authority_key_identifier_extension = true;
    let cert = p.signed_by(&key, root).map_err(pki_err("intermediate"))?;
    Ok(Intermediate { der: cert.der().to_vec(), issuer: Issuer::new(p, key), not_before_ms, not_after_ms })
}

pub(super) fn make_leaf(
    intermediate: &Intermediate,
    root_der: &[u8],
    module_id: &str,
    now_ms: u64,
    rng: &SystemRandom,
) -> Result<Leaf, NsmError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).map_err(pki_err("key"))?;
    // Within the intermediate's validity, as a path validator requires.
    let not_before_ms =
        whole_seconds(now_ms.saturating_sub(LEAF_BACKDATE_MS)).max(intermediate.not_before_ms);
    let not_after_ms = whole_seconds(now_ms.saturating_add(LEAF_LIFETIME_MS)).min(intermediate.not_after_ms);
    let mut p = CertificateParams::default();
    p.distinguished_name = name(&format!("{module_id}.mock.nitro-enclaves"));
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.serial_number = Some(random_serial(rng)?);
    p.not_before = datetime(not_before_ms)?;
    p.not_after = datetime(not_after_ms)?;
    let cert = p.signed_by(&key, &intermediate.issuer).map_err(pki_err("leaf"))?;
    let pkcs8 = Zeroizing::new(key.serialize_der());
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &pkcs8)
        .map_err(|_| NsmError::Pki("leaf key does not load".to_string()))?;
    Ok(Leaf {
        key,
        certificate: cert.der().to_vec(),
        cabundle: vec![root_der.to_vec(), intermediate.der.clone()],
        not_before_ms,
        not_after_ms,
    })
}

// ---------------------------------------------------------------------------------------------
// State directory

pub(super) fn prepare_dir(dir: &Path) -> Result<(), NsmError> {
    std::fs::create_dir_all(dir).map_err(state_err(format!("cannot create {}", dir.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(state_err(format!("cannot restrict {}", dir.display())))?;
    }
    Ok(())
}

/// Loads the root key and certificate, making and storing them on first use. Concurrent first
/// starts agree on one root: the file is published with a hard link, which fails if it exists.
pub(super) fn load_or_create_root(
    dir: &Path,
    now_ms: u64,
    rng: &SystemRandom,
) -> Result<(KeyPair, Vec<u8>), NsmError> {
    let path = dir.join(ROOT_FILE);
    match read_root_file(&path) {
        Err(NsmError::State(m)) if m.starts_with("missing") => {}
        other => return other,
    }

    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).map_err(pki_err("root key"))?;
    let mut params = root_params(now_ms)?;
    params.serial_number = Some(random_serial(rng)?);
    let cert = params.self_signed(&key).map_err(pki_err("root"))?;
    let contents = Zeroizing::new(format!("{}{}", key.serialize_pem(), cert.pem()));

    let mut suffix = [0u8; 8];
    fill(rng, &mut suffix)?;
    let tmp = dir.join(format!(".{ROOT_FILE}.{}.tmp", hex::encode(suffix)));
    write_private(&tmp, contents.as_bytes())?;
    let published = std::fs::hard_link(&tmp, &path);
    let published = match published {
        Err(e) if e.kind() != ErrorKind::AlreadyExists => std::fs::rename(&tmp, &path),
        other => other,
    };
    // Best effort: the temporary name is gone after a rename, and harmless if left behind.
    let _ = std::fs::remove_file(&tmp);
    match published {
        Ok(()) => {}
        // Another process published its root first: use that one.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(NsmError::State(format!("cannot store {}: {e}", path.display()))),
    }
    read_root_file(&path)
}

fn read_root_file(path: &Path) -> Result<(KeyPair, Vec<u8>), NsmError> {
    let contents = match std::fs::read_to_string(path) {
        Ok(c) => Zeroizing::new(c),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(NsmError::State(format!("missing {}", path.display())));
        }
        Err(e) => return Err(NsmError::State(format!("cannot read {}: {e}", path.display()))),
    };
    #[cfg(unix)]
    {
        // Keep the key private even if someone loosened the mode.
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).map(|m| m.permissions().mode());
        if mode.is_ok_and(|m| m & 0o077 != 0) {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(state_err(format!("cannot restrict {}", path.display())))?;
        }
    }
    let corrupt = |what: &str| NsmError::State(format!("{} is corrupt: {what}", path.display()));
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let start = contents.find(BEGIN).ok_or_else(|| corrupt("no private key"))?;
    let end = contents
        .get(start..)
        .and_then(|rest| rest.find(END))
        .map(|e| start + e + END.len())
        .ok_or_else(|| corrupt("unterminated private key"))?;
    let key_pem = contents.get(start..end).ok_or_else(|| corrupt("no private key"))?;
    let key = KeyPair::from_pkcs8_pem_and_sign_algo(key_pem, &PKCS_ECDSA_P384_SHA384)
        .map_err(|_| corrupt("the private key is not a P-384 PKCS#8 key"))?;
    let cert = TrustedRoot::from_pem(&contents).map_err(|e| corrupt(&e.to_string()))?;
    // The certificate must carry this key (its uncompressed point appears in the SPKI).
    let point = key.public_key_raw();
    if !cert.der().windows(point.len()).any(|w| w == point) {
        return Err(corrupt("the certificate is not for the private key"));
    }
    Ok((key, cert.der().to_vec()))
}

fn write_private(path: &Path, contents: &[u8]) -> Result<(), NsmError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let what = || format!("cannot write {}", path.display());
    let mut file = options.open(path).map_err(state_err(what()))?;
    file.write_all(contents).map_err(state_err(what()))?;
    file.sync_all().map_err(state_err(what()))
}

/// Keeps `root-cert.pem` equal to the root in use.
pub(super) fn write_public_root(dir: &Path, pem: &str) -> Result<(), NsmError> {
    let path = dir.join(ROOT_CERT_FILE);
    if std::fs::read_to_string(&path).is_ok_and(|existing| existing == pem) {
        return Ok(());
    }
    std::fs::write(&path, pem).map_err(state_err(format!("cannot write {}", path.display())))
}
