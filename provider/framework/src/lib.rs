//! `strata-framework`: write a Terraform provider in Rust.
//!
//! Start with [`resource::Resource`] and [`resource::Provider`]: a resource declares
//! its [`schema::Schema`] and implements create/read/update/delete over
//! [`value::Value`]s. The framework does the rest: the go-plugin handshake and mTLS
//! (`plugin_host`), the msgpack wire form ([`codec`]), the tfplugin6 RPCs
//! (`server`) and the protocol's planning rules ([`plan`]).
//! Nothing here depends on AWS; the provider's resources live in the crate above.

pub mod codec;
pub mod diag;
pub mod docs;
pub mod plan;
pub mod plugin_host;
pub mod resource;
pub mod schema;
pub mod server;
pub mod value;

pub use diag::{AttributePath, Diagnostics};
pub use resource::{Context, Provider, Resource};
pub use schema::{Attribute, Block, NestedBlock, Schema};
pub use value::{Type, Value};

/// Serves `provider` to Terraform: the go-plugin handshake, mTLS, and the tfplugin6
/// service. Returns when Terraform shuts the provider down; an error means the process
/// should exit non-zero (for example, it was not started by Terraform).
pub async fn serve<P: Provider>(provider: P) -> Result<(), plugin_host::ServeError> {
    let config = plugin_host::ServeConfig::from_env()?;
    let service = strata_proto::tfplugin6::provider_server::ProviderServer::new(
        server::ProviderService::new(provider),
    )
    .max_decoding_message_size(plugin_host::MAX_MESSAGE_SIZE)
    .max_encoding_message_size(plugin_host::MAX_MESSAGE_SIZE);
    plugin_host::serve(tonic::service::Routes::new(service), config).await
}
