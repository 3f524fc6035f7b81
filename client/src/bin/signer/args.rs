//! The command line of `signer`: its commands, arguments and their help texts.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};
use signer_client::AttestationMode;
use signer_client::cli::{ImageArgs, parse_attestation_arg};

/// Enclave-isolated signer client: wallets, signing, attestation and receipt verification.
#[derive(Parser)]
#[command(name = "signer", version, about, long_about = None)]
pub(crate) struct Cli {
    /// The parent's base URL (http:// only for now); defaults to the credentials file's url.
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) url: Option<String>,
    /// dev-credentials.json (url, access token, application, and the Key credential that signs
    /// state-changing calls).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) credentials: Option<PathBuf>,
    /// Print one JSON object on stdout.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Sign state-changing calls with the three-call user action (`/auth/action/init`,
    /// `/auth/action`, `X-User-Action`) instead of one-shot request signatures.
    #[arg(long, global = true)]
    pub(crate) user_action_flow: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Create, read, list wallets and sign with them.
    #[command(subcommand)]
    Wallet(WalletCommand),
    /// Verify an attestation document, or fetch a fresh one.
    #[command(subcommand)]
    Attestation(AttestationCommand),
    /// Verify a signing result (receipt and attestation document).
    #[command(subcommand)]
    Receipt(ReceiptCommand),
    /// Facts about the enclave as the parent reports them.
    #[command(subcommand)]
    Enclave(EnclaveCommand),
    /// Register a user with a registration code, or log in again.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// The signed-in user's credentials: add, list, activate, deactivate.
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// One-time registration codes (admins).
    #[command(subcommand)]
    RegistrationCode(RegistrationCodeCommand),
}

#[derive(Subcommand)]
pub(crate) enum AuthCommand {
    /// Register a new user with a one-time code and a new Key credential, log in, and write a
    /// credentials file (mode 0600) for it. Needs --url.
    Register {
        /// The organisation.
        #[arg(long, value_name = "ORG")]
        org_id: String,
        /// The new user's login name.
        #[arg(long, value_name = "NAME")]
        username: String,
        /// The one-time registration code from an admin.
        #[arg(long, value_name = "CODE")]
        code: String,
        /// The new key's algorithm: ES256, ES256K or EdDSA.
        #[arg(long, value_name = "ALG", default_value = "ES256")]
        algorithm: String,
        /// The application (X-App-Id); the org's default when absent.
        #[arg(long, value_name = "ID")]
        app_id: Option<String>,
        /// The credentials file to write (must not exist).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Log in again with the credentials file's key and replace its accessToken.
    Login,
}

#[derive(Subcommand)]
pub(crate) enum CredentialCommand {
    /// Add a new Key credential, signed by the current one, and write a credentials file (mode
    /// 0600) for the new one.
    Add {
        /// The new key's algorithm: ES256, ES256K or EdDSA.
        #[arg(long, value_name = "ALG", default_value = "ES256")]
        algorithm: String,
        /// A display name for it.
        #[arg(long, value_name = "NAME", default_value = "signer-cli key")]
        name: String,
        /// The credentials file to write for the new credential (must not exist).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// List the signed-in user's credentials.
    List,
    /// Deactivate a credential (it signs nothing more until activated).
    Deactivate {
        /// The credential id.
        #[arg(long, value_name = "ID", allow_hyphen_values = true)]
        cred_id: String,
    },
    /// Activate a credential again.
    Activate {
        /// The credential id.
        #[arg(long, value_name = "ID", allow_hyphen_values = true)]
        cred_id: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum RegistrationCodeCommand {
    /// Create a one-time registration code (admins only).
    Create {
        /// The login name the code is for; any name when absent.
        #[arg(long, value_name = "NAME")]
        username: Option<String>,
        /// Admin or Member (the parent's default, Member, when absent).
        #[arg(long, value_name = "ROLE", value_parser = ["Admin", "Member"])]
        role: Option<String>,
    },
}

#[derive(Subcommand)]
pub(crate) enum WalletCommand {
    /// Create a wallet (verifies its creation receipt when --root is given).
    Create(CreateArgs),
    /// Show one wallet.
    Get {
        /// The wallet id.
        #[arg(long, value_name = "ID")]
        wallet: String,
    },
    /// List the wallets.
    List,
    /// Sign a 32-byte hash or a message (verifies the result when --root is given).
    Sign(SignArgs),
}

/// How to verify a result that the parent returns.
#[derive(Args)]
pub(crate) struct ResultCheck {
    /// Verify the receipt and attestation against this root: aws, pem:FILE or der:FILE.
    /// Without it nothing is verified and the output says "verified": false.
    #[arg(long, value_name = "ROOT")]
    pub(crate) root: Option<String>,
    /// Verification time, seconds since the epoch (default: now).
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub(crate) at: Option<u64>,
    /// The expected enclave image.
    #[command(flatten)]
    pub(crate) image: ImageArgs,
}

/// The root, time and PCRs that `attestation verify` and `receipt verify` check against.
#[derive(Args)]
pub(crate) struct VerifyCheck {
    /// The trusted root: aws, pem:FILE or der:FILE.
    #[arg(long, value_name = "ROOT")]
    pub(crate) root: String,
    /// Verification time, seconds since the epoch (default: now).
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub(crate) at: Option<u64>,
    /// The expected enclave image (`receipt verify` requires PCR0 or --allow-any-image).
    #[command(flatten)]
    pub(crate) image: ImageArgs,
}

#[derive(Args)]
pub(crate) struct CreateArgs {
    /// secp256k1 or ed25519.
    #[arg(long, value_name = "CURVE")]
    pub(crate) curve: String,
    /// A name for the wallet.
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// Nonce (hex, up to 64 bytes) for the attestation document; a fresh random 32 bytes by
    /// default.
    #[arg(long, value_name = "HEX")]
    pub(crate) nonce: Option<String>,
    #[command(flatten)]
    pub(crate) check: ResultCheck,
}

#[derive(Args)]
pub(crate) struct SignArgs {
    /// The wallet id.
    #[arg(long, value_name = "ID")]
    pub(crate) wallet: String,
    /// The 32-byte hash to sign: 0x and 64 hex digits.
    #[arg(long, value_name = "0xHEX", conflicts_with = "message", required_unless_present = "message")]
    pub(crate) hash: Option<String>,
    /// The message to sign (hex bytes).
    #[arg(long, value_name = "HEX")]
    pub(crate) message: Option<String>,
    /// Nonce (hex, up to 64 bytes): in the attestation document (fresh) and the receipt; a
    /// fresh random 32 bytes by default.
    #[arg(long, value_name = "HEX")]
    pub(crate) nonce: Option<String>,
    /// With --root: the wallet's public key (hex, from its verified creation) the receipt must
    /// name. Without it the key is the one the enclave states for the wallet id.
    #[arg(long, value_name = "HEX", requires = "curve")]
    pub(crate) public_key: Option<String>,
    /// With --root: the wallet's curve, which the receipt must name.
    #[arg(long, value_name = "CURVE")]
    pub(crate) curve: Option<String>,
    /// How the result is attested: fresh (an attestation document per request) or session (the
    /// receipt signed by a receipt key attested once in a session document).
    #[arg(long, value_name = "MODE", default_value = "fresh", value_parser = parse_attestation_arg)]
    pub(crate) attestation: AttestationMode,
    #[command(flatten)]
    pub(crate) check: ResultCheck,
}

#[derive(Subcommand)]
pub(crate) enum AttestationCommand {
    /// Verify an attestation document file (raw CBOR, or base64/base64url text).
    Verify {
        /// The document file.
        #[arg(long, value_name = "FILE")]
        doc: PathBuf,
        #[command(flatten)]
        check: VerifyCheck,
        /// Expected user_data (hex).
        #[arg(long, value_name = "HEX")]
        user_data: Option<String>,
        /// Expected nonce (hex).
        #[arg(long, value_name = "HEX")]
        nonce: Option<String>,
        /// Expected public_key (hex).
        #[arg(long, value_name = "HEX")]
        public_key: Option<String>,
        /// Refuse a document whose timestamp is more than this many seconds from the
        /// verification time (either way).
        #[arg(long, value_name = "SECONDS")]
        max_age: Option<u64>,
    },
    /// Fetch a fresh attestation document from the parent (not verified: use `verify`).
    Get {
        /// Nonce (hex, up to 64 bytes) to put in the document.
        #[arg(long, value_name = "HEX")]
        nonce: Option<String>,
        /// Write the document (raw CBOR) to this file instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Fetch a session document from the parent, the current one or one by id (not verified:
    /// `receipt verify --session-document` verifies it).
    Session {
        /// The session document's id (hex SHA-256), as in a result's sessionId.
        #[arg(long, value_name = "HEX")]
        id: Option<String>,
        /// Write the document (raw CBOR) to this file instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub(crate) enum ReceiptCommand {
    /// Verify a receipt and its evidence end to end: an attestation document (fresh mode), or a
    /// receipt-key signature and the session document attesting that key (session mode).
    #[command(group(ArgGroup::new("evidence").required(true).args(["attestation", "receipt_signature"])))]
    Verify {
        // base64url values may begin with '-': allow_hyphen_values keeps clap from reading
        // them as flags.
        /// The receipt, base64url (or @FILE).
        #[arg(long, value_name = "B64", allow_hyphen_values = true)]
        receipt: String,
        /// Fresh mode: the attestation document, base64url (or @FILE).
        #[arg(long, value_name = "B64", allow_hyphen_values = true)]
        attestation: Option<String>,
        /// Session mode: the receipt key's signature over the receipt, base64url (or @FILE).
        #[arg(long, value_name = "B64", requires = "session_document", allow_hyphen_values = true)]
        receipt_signature: Option<String>,
        /// Session mode: the session document, base64url, or @FILE (raw CBOR or base64).
        #[arg(
            long,
            value_name = "B64|@FILE",
            requires = "receipt_signature",
            conflicts_with = "attestation",
            allow_hyphen_values = true
        )]
        session_document: Option<String>,
        #[command(flatten)]
        check: VerifyCheck,
        /// Expected nonce (hex): in the attestation document (fresh) or the receipt (session).
        #[arg(long, value_name = "HEX")]
        nonce: Option<String>,
        /// Expected wallet id.
        #[arg(long, value_name = "ID")]
        wallet: Option<String>,
        /// Expected public key (hex).
        #[arg(long, value_name = "HEX")]
        public_key: Option<String>,
    },
}

#[derive(Subcommand)]
pub(crate) enum EnclaveCommand {
    /// Print the attestation root certificate the parent says is in use (PEM). Pin the root
    /// out of band for anything that matters.
    Root,
}
