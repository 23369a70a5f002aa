//! What the `artifact-registry` command and the docker credential helper share: the
//! registry logins they hand to clients ([`logins`]), the kubelet credential provider
//! built on them ([`kubelet`]), and the client setup that points docker and podman at
//! the helper ([`configure`]).

pub mod configure;
pub mod kubelet;
pub mod logins;
