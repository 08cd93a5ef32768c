//! `terraform-provider-strata`: started by Terraform, never by hand. Sets up logging
//! the way Terraform reads it, then serves the provider until Terraform shuts it down.

use std::process::ExitCode;

use strata_framework::plugin_host;
use terraform_provider_strata::provider::StrataProvider;

fn main() -> ExitCode {
    plugin_host::init_logging("provider.terraform-provider-strata");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("terraform-provider-strata: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(strata_framework::serve(StrataProvider)) {
        Ok(()) => ExitCode::SUCCESS,
        // The explanation for a missing cookie is already on stderr.
        Err(plugin_host::ServeError::NotLaunchedByTerraform) => ExitCode::FAILURE,
        Err(e) => {
            tracing::error!("provider stopped: {e}");
            eprintln!("terraform-provider-strata: {e}");
            ExitCode::FAILURE
        }
    }
}
