#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| artifact_registry_core::fuzzing::ecr_policy(data));
