//! One module per subcommand.

pub mod diff;
pub mod render;
pub mod run;
pub mod schema;
pub mod status;
pub mod validate;
