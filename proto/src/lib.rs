//! Generated Rust bindings for the wire protocols a Terraform provider speaks.
//!
//! * [`tfplugin6`] — the Terraform plugin protocol 6.10 (`defs/tfplugin6.proto`):
//!   the messages and the `Provider` service (`provider_server` to implement
//!   it, `provider_client` to call it).
//! * [`plugin`] — go-plugin's own services (`defs/grpc_controller.proto`,
//!   `defs/grpc_stdio.proto`): `GRPCController.Shutdown`, which Terraform calls
//!   when it is done with the process, and `GRPCStdio.StreamStdio`.
//!
//! The code is generated at build time by `build.rs` (protox + tonic-prost-build,
//! no system `protoc`). Well-known types (`Timestamp`, `Empty`) come from
//! [`prost_types`]; `google.protobuf.Empty` appears as `()`. Every method of the
//! generated server traits has a default that answers `UNIMPLEMENTED`, so an
//! implementation only writes the RPCs it supports (streaming methods return
//! `tonic::codegen::BoxStream`).
//!
//! This crate holds no logic: the go-plugin host and the provider server live in
//! `strata-framework`.

/// Terraform plugin protocol 6.10 (`package tfplugin6`).
pub mod tfplugin6 {
    #![allow(clippy::all, clippy::pedantic, missing_docs)]
    tonic::include_proto!("tfplugin6");
}

/// go-plugin's controller and stdio services (`package plugin`).
pub mod plugin {
    #![allow(clippy::all, clippy::pedantic, missing_docs)]
    tonic::include_proto!("plugin");
}

pub use prost_types;

#[cfg(test)]
mod tests;
