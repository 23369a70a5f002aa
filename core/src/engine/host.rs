//! What only the host can tell an operation: an environment variable, a file's
//! contents (text or bytes), or a command's output (AWS `credential_process`). Operations ask with
//! [`Step::Ask`](crate::Step::Ask) and the driver answers with
//! [`Operation::answer`](crate::Operation::answer), so the core reads no environment
//! and no file itself. A driver that cannot (a sandboxed component has no file
//! system) answers [`HostAnswer::Refused`], and the operation goes on without.

/// A question for the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostQuery {
    /// An environment variable.
    Env(String),
    /// A file's contents (UTF-8). `~/` means the user's home directory.
    File(String),
    /// A file's contents as bytes, answered with [`HostAnswer::Bytes`] (a PKCS#12
    /// certificate). `~/` as for [`HostQuery::File`].
    FileBytes(String),
    /// A command run without a shell: its standard output when it exits with 0.
    Command {
        /// The program.
        program: String,
        /// Its arguments.
        args: Vec<String>,
    },
}

/// The host's answer.
#[derive(Clone, PartialEq, Eq)]
pub enum HostAnswer {
    /// The value (variable set, file read, command succeeded with this output).
    Value(String),
    /// The bytes of a file asked for with [`HostQuery::FileBytes`].
    Bytes(Vec<u8>),
    /// Not there (variable unset, no such file).
    Missing,
    /// The host cannot or will not answer, or the command failed: why.
    Refused(String),
}

impl std::fmt::Debug for HostAnswer {
    // Answers can hold secrets (a key in an environment variable): print the shape.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostAnswer::Value(v) => write!(f, "Value({} bytes)", v.len()),
            HostAnswer::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            HostAnswer::Missing => f.write_str("Missing"),
            HostAnswer::Refused(why) => write!(f, "Refused({why:?})"),
        }
    }
}
