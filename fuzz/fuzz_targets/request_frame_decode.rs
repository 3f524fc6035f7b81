//! Request frames, the enclave's first parser of untrusted bytes: see
//! `properties::request_frame_decode`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../properties.rs"]
#[allow(dead_code)] // each target uses one of the properties
mod properties;

fuzz_target!(|data: &[u8]| {
    properties::request_frame_decode(data);
});
