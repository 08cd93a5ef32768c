//! Compiles `defs/*.proto` into Rust at build time.
//!
//! The descriptors are produced by `protox`, a pure-Rust protobuf compiler, so
//! building this crate needs no system `protoc`: `cargo build` works on a fresh
//! machine. `tonic-prost-build` then generates the prost messages and both the
//! server and the client side of every service (the client is what our
//! in-process tests and any Terraform stand-in use).

use std::path::Path;

const DEFS: &str = "defs";
const FILES: [&str; 3] = [
    "tfplugin6.proto",
    "grpc_controller.proto",
    "grpc_stdio.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for file in FILES {
        println!(
            "cargo:rerun-if-changed={}",
            Path::new(DEFS).join(file).display()
        );
    }

    // protox ships the well-known types (timestamp.proto, empty.proto), so
    // only our own directory is on the include path.
    let descriptors = protox::compile(FILES, [DEFS])?;

    // Well-known types map to `prost_types` (the default), so no
    // `google.protobuf` module is generated here.
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // RPCs we do not serve (functions, actions, state stores…) answer UNIMPLEMENTED,
        // which Terraform accepts for capabilities a provider does not declare.
        .generate_default_stubs(true)
        .compile_fds(descriptors)?;
    Ok(())
}
