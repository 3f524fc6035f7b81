//! End-user signatures: COSE and SPKI keys, assertions and registrations (see
//! `userauth_property.rs`; seeds in `seeds/userauth/`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../userauth_property.rs"]
mod userauth_property;

fuzz_target!(|data: &[u8]| {
    userauth_property::userauth(data);
});
