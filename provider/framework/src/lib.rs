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
pub mod resource;
pub mod schema;
pub mod server;
pub mod value;

pub use diag::{AttributePath, Diagnostics};
pub use resource::{Context, Provider, Resource};
pub use schema::{Attribute, Block, NestedBlock, Schema};
pub use value::{Type, Value};
