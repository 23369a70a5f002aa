#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| artifact_registry_core::fuzzing::key_files(data));
