//! Session receipt keys (COSE_Key): see `properties::session_key_decode`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../properties.rs"]
#[allow(dead_code)] // each target uses one of the properties
mod properties;

fuzz_target!(|data: &[u8]| {
    properties::session_key_decode(data);
});
