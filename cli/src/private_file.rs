//! Files other users must not read or swap: written to a new 0600 file beside the
//! target (`O_EXCL`, `O_NOFOLLOW`) and renamed over it, so a reader never sees half of
//! one and a link planted at either name is not followed; read without following a
//! link. The embedded registry's key and blob record, the login cache and the client
//! configuration `configure` writes all go through here.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Writes `bytes` to a new 0600 file beside `path` and renames it over `path`.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(name);
    let _ = std::fs::remove_file(&temporary);
    let mut file =
        OpenOptions::new().write(true).create_new(true).mode(0o600).custom_flags(libc::O_NOFOLLOW).open(&temporary)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all()).and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// The text of `path`, read without following a link; `None` when it cannot be.
pub fn read(path: &Path) -> Option<String> {
    let mut text = String::new();
    OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path).ok()?.read_to_string(&mut text).ok()?;
    Some(text)
}
