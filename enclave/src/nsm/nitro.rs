//! The real Nitro Secure Module, through `/dev/nsm` (aws-nitro-enclaves-nsm-api driver).

use std::collections::BTreeMap;

use aws_nitro_enclaves_nsm_api::api::{ErrorCode, Request, Response};
use aws_nitro_enclaves_nsm_api::driver::{nsm_exit, nsm_init, nsm_process_request};
use serde_bytes::ByteBuf;
use signer_common::attestation::TrustedRoot;

use super::{FIRST_APPLICATION_PCR, MAX_EXTEND_DATA_LEN, Nsm, NsmError, PCR_COUNT, check_attestation_inputs};

/// A connection to the enclave's NSM device.
#[derive(Debug)]
pub struct NitroNsm {
    fd: i32,
    max_pcrs: u16,
}

impl NitroNsm {
    /// Opens `/dev/nsm` (only present inside a Nitro Enclave).
    pub fn open() -> Result<NitroNsm, NsmError> {
        let fd = nsm_init();
        if fd < 0 {
            return Err(NsmError::Unavailable(
                "cannot open /dev/nsm (not running inside a Nitro Enclave?)".to_string(),
            ));
        }
        let mut nsm = NitroNsm { fd, max_pcrs: PCR_COUNT };
        match nsm.request(Request::DescribeNSM, "DescribeNSM")? {
            Response::DescribeNSM { max_pcrs, .. } => nsm.max_pcrs = max_pcrs.min(PCR_COUNT),
            _ => return Err(NsmError::UnexpectedResponse("DescribeNSM")),
        }
        Ok(nsm)
    }

    fn request(&self, request: Request, what: &'static str) -> Result<Response, NsmError> {
        match nsm_process_request(self.fd, request) {
            Response::Error(code) => Err(error_from(code, what)),
            response => Ok(response),
        }
    }

    fn request_indexed(
        &self,
        request: Request,
        index: u16,
        what: &'static str,
    ) -> Result<Response, NsmError> {
        match nsm_process_request(self.fd, request) {
            Response::Error(ErrorCode::InvalidIndex) => Err(NsmError::InvalidIndex(index)),
            Response::Error(ErrorCode::ReadOnlyIndex) => Err(NsmError::ReadOnlyIndex(index)),
            Response::Error(code) => Err(error_from(code, what)),
            response => Ok(response),
        }
    }

    fn describe_pcr(&self, index: u16) -> Result<Vec<u8>, NsmError> {
        match self.request_indexed(Request::DescribePCR { index }, index, "DescribePCR")? {
            Response::DescribePCR { data, .. } => Ok(data),
            _ => Err(NsmError::UnexpectedResponse("DescribePCR")),
        }
    }
}

fn error_from(code: ErrorCode, what: &'static str) -> NsmError {
    let reason = match code {
        ErrorCode::Success => "success without a result",
        ErrorCode::InvalidArgument => "invalid argument",
        ErrorCode::InvalidIndex => "invalid PCR index",
        ErrorCode::InvalidResponse => "invalid response",
        ErrorCode::ReadOnlyIndex => "PCR is read-only",
        ErrorCode::InvalidOperation => "operation not supported",
        ErrorCode::BufferTooSmall => "buffer too small",
        ErrorCode::InputTooLarge => "input too large",
        ErrorCode::InternalError => "internal error",
    };
    NsmError::Device(format!("{what}: {reason}"))
}

impl Drop for NitroNsm {
    fn drop(&mut self) {
        nsm_exit(self.fd);
    }
}

impl Nsm for NitroNsm {
    fn attest(
        &self,
        user_data: Option<&[u8]>,
        nonce: Option<&[u8]>,
        public_key: Option<&[u8]>,
    ) -> Result<Vec<u8>, NsmError> {
        check_attestation_inputs(user_data, nonce, public_key)?;
        let buf = |v: Option<&[u8]>| v.map(|v| ByteBuf::from(v.to_vec()));
        let request = Request::Attestation {
            user_data: buf(user_data),
            nonce: buf(nonce),
            public_key: buf(public_key),
        };
        match self.request(request, "Attestation")? {
            Response::Attestation { document } => Ok(document),
            _ => Err(NsmError::UnexpectedResponse("Attestation")),
        }
    }

    fn pcrs(&self) -> Result<BTreeMap<u8, Vec<u8>>, NsmError> {
        let mut pcrs = BTreeMap::new();
        for index in 0..self.max_pcrs {
            let value = self.describe_pcr(index)?;
            // Boot PCRs always; application PCRs once they have been extended (non-zero).
            if index < FIRST_APPLICATION_PCR || value.iter().any(|b| *b != 0) {
                let key = u8::try_from(index).map_err(|_| NsmError::InvalidIndex(index))?;
                pcrs.insert(key, value);
            }
        }
        Ok(pcrs)
    }

    fn extend_pcr(&self, index: u16, data: &[u8]) -> Result<Vec<u8>, NsmError> {
        if data.len() > MAX_EXTEND_DATA_LEN {
            return Err(NsmError::InputTooLarge {
                field: "PCR extension data",
                len: data.len(),
                max: MAX_EXTEND_DATA_LEN,
            });
        }
        let request = Request::ExtendPCR { index, data: data.to_vec() };
        match self.request_indexed(request, index, "ExtendPCR")? {
            Response::ExtendPCR { data } => Ok(data),
            _ => Err(NsmError::UnexpectedResponse("ExtendPCR")),
        }
    }

    fn lock_pcr(&self, index: u16) -> Result<(), NsmError> {
        match self.request_indexed(Request::LockPCR { index }, index, "LockPCR")? {
            Response::LockPCR => Ok(()),
            _ => Err(NsmError::UnexpectedResponse("LockPCR")),
        }
    }

    fn random(&self, buf: &mut [u8]) -> Result<(), NsmError> {
        let mut filled = 0;
        while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
            let random = match self.request(Request::GetRandom, "GetRandom")? {
                Response::GetRandom { random } => random,
                _ => return Err(NsmError::UnexpectedResponse("GetRandom")),
            };
            if random.is_empty() {
                return Err(NsmError::Device("GetRandom: no bytes returned".to_string()));
            }
            let n = random.len().min(rest.len());
            if let (Some(dst), Some(src)) = (rest.get_mut(..n), random.get(..n)) {
                dst.copy_from_slice(src);
            }
            filled += n;
        }
        Ok(())
    }

    fn root_certificate_pem(&self) -> String {
        TrustedRoot::aws_nitro_root_g1().to_pem()
    }

    fn kind(&self) -> &'static str {
        "nitro"
    }
}
