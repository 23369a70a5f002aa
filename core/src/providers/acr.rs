//! Azure Container Registry: configuration, naming and endpoints. Its operations
//! answer `not-supported` until the ACR provider lands.

use crate::config::{AcrBinding, AzurePlatform};
use crate::error::Error;
use crate::naming;
use crate::providers::Pending;

/// The ACR provider of this version: names and endpoints only.
pub(crate) fn pending(binding: &AcrBinding, _platform: &AzurePlatform) -> Pending {
    let prefix = binding.repository_prefix.clone();
    Pending {
        error: Error::not_supported(
            "the Azure Container Registry provider's operations are not implemented in this version (configuration, naming and endpoints are)",
        ),
        endpoint: format!("https://{}.azurecr.io", binding.registry_name.to_ascii_lowercase()),
        prefix: prefix.clone().unwrap_or_default(),
        naming: Box::new(move |logical| naming::acr_routable_name(prefix.as_deref(), logical)),
    }
}
