//! What the `artifact-registry` command and the docker credential helper share: the
//! registry logins they hand to clients ([`logins`]), the kubelet credential provider
//! built on them ([`kubelet`]), the client setup that points docker and podman at the
//! helper ([`configure`]), and the private files they all write ([`private_file`]).

pub mod configure;
pub mod kubelet;
pub mod logins;
pub mod private_file;
