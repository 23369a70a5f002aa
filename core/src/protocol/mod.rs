//! Wire formats of the providers' APIs: what their answers and errors look like.
//! Authentication lives in [`crate::auth`]; what operations mean, in
//! [`crate::providers`].

pub(crate) mod aws;
pub(crate) mod aws_xml;
pub(crate) mod azure;
pub(crate) mod google;
