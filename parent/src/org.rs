//! Creating an organisation (operator: `signer-parent org create`, and dev bootstrap): the
//! enclave notarizes its default application and issues the first admin's one-time
//! registration code; the parent stores the organisation and the application.

use signer_common::identity::{Notarized, UserVerification};
use signer_common::protocol::{CreateOrg, OrgCreated, Request, Response};

use crate::api::{AppState, now_rfc3339, random_hex};
use crate::error::ApiError;
use crate::store::OrgRow;

/// What a new organisation is made of.
#[derive(Debug, Clone)]
pub struct NewOrg {
    /// Display name.
    pub name: String,
    /// The first admin's login name (the code is bound to it).
    pub admin_username: String,
    /// The default application's expected origin.
    pub origin: String,
    /// Its relying-party id.
    pub rp_id: String,
    /// Its user-verification policy.
    pub user_verification: UserVerification,
    /// How long the registration code lives.
    pub code_ttl_secs: u64,
}

/// A created organisation.
#[derive(Debug, Clone)]
pub struct CreatedOrg {
    /// The stored organisation.
    pub org: OrgRow,
    /// Its default application's record.
    pub app: Notarized,
    /// The enclave's answer (registration code and its expiry).
    pub created: OrgCreated,
}

/// Creates an organisation through the enclave and stores it with its default application.
pub async fn create_org(state: &AppState, new: NewOrg) -> Result<CreatedOrg, ApiError> {
    let org_id = format!("or-{}", random_hex(12)?);
    let request = CreateOrg {
        org_id: org_id.clone(),
        app_id: format!("ap-{}", random_hex(12)?),
        origin: new.origin,
        rp_id: new.rp_id,
        rp_name: new.name.clone(),
        user_verification: new.user_verification,
        admin_username: new.admin_username,
        code_ttl_secs: new.code_ttl_secs,
    };
    let created = match state.enclave_call(Request::CreateOrg(request)).await? {
        Response::OrgCreated(created) => created,
        other => return Err(crate::api::state::unexpected(&other)),
    };
    let org = OrgRow { id: org_id, name: new.name, date_created: now_rfc3339() };
    state.store.insert_org(org.clone(), created.app.clone()).await.map_err(crate::api::state::store_error)?;
    tracing::info!(org_id = %org.id, "organisation created");
    Ok(CreatedOrg { org, app: created.app.clone(), created })
}
