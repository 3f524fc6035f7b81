//! `Request::Call` frames made by hand, as a compromised parent would send them straight to the
//! enclave socket: the records come from the parent's database, the one-shot signature from the
//! dev admin's Key credential (the enclave still demands one).

use serde_bytes::ByteBuf;
use signer_common::identity::CredentialKind;
use signer_common::protocol::{
    Assertion, AttestationMode, Call, CallAuth, Request, SealedWallet, WalletContext,
};

use crate::Stack;
use crate::auth_support::{dev_user, key_get_client_data, now_ms, one_shot_challenge, request_id, unb64u};
use crate::db::Db;

/// A `Call` of `method path body` by the dev admin, signed one-shot now, on `wallet` if given.
pub fn dev_call(
    stack: &Stack,
    method: &str,
    path: &str,
    body: &[u8],
    wallet: Option<(SealedWallet, signer_common::identity::Notarized)>,
    attestation: AttestationMode,
) -> Request {
    let user = dev_user(stack);
    let db = Db::open(stack);
    let creds = stack.credentials();
    let app_id = creds["appId"].as_str().map_or_else(|| db.first_app_id(), str::to_owned);
    let (time_ms, id) = (now_ms(), request_id());
    let challenge = one_shot_challenge(method, path, body, time_ms, &id);
    let client_data = key_get_client_data(&challenge, &user.credential.origin);
    let signature = user.credential.key.sign(client_data.as_bytes());
    let call = Call {
        request_id: format!("rq-{id}"),
        method: method.into(),
        path: path.into(),
        body: ByteBuf::from(body.to_vec()),
        auth: CallAuth::OneShot {
            time_ms,
            request_id: id,
            assertion: Assertion {
                kind: CredentialKind::Key,
                cred_id: ByteBuf::from(unb64u(&user.credential.cred_id)),
                client_data: ByteBuf::from(client_data.into_bytes()),
                authenticator_data: None,
                signature: ByteBuf::from(signature),
                user_handle: None,
            },
        },
        app: db.app_record(&app_id),
        user: db.user_record(&user.user_id),
        credential: Some(db.credential_record(&user.credential.cred_id)),
        wallet: wallet.map(|(sealed, record)| WalletContext { sealed, record }),
        credentials: Vec::new(),
        users: Vec::new(),
        nonce: None,
        attestation,
    };
    Request::Call(Box::new(call))
}
