//! The component's version and license, as the custom sections `version` and
//! `licenses` that `wasm-tools metadata show` reads (the `wasm-metadata` names). The
//! version is the workspace's, like the wheel's and the npm package's.

const VERSION: &str = env!("CARGO_PKG_VERSION");
const LICENSES: &str = env!("CARGO_PKG_LICENSE");

/// A string's bytes as an array (a custom section's contents must be a static).
const fn bytes<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = s.as_bytes()[i];
        i += 1;
    }
    out
}

#[used]
#[unsafe(link_section = "version")]
static VERSION_SECTION: [u8; VERSION.len()] = bytes(VERSION);

#[used]
#[unsafe(link_section = "licenses")]
static LICENSES_SECTION: [u8; LICENSES.len()] = bytes(LICENSES);
