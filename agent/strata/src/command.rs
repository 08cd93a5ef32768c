//! One module per subcommand.

pub mod render;
pub mod schema;
pub mod validate;
