//! The vector tier.

use crate::diag::Checks;
use crate::object::Object;
use crate::render::Context;
use crate::spec::VectorStore;

/// Rules of a `VectorStore` beyond its types.
pub fn validate(_workload: &VectorStore, _checks: &mut Checks) {}

/// The objects of a `VectorStore`.
pub fn render(_workload: &VectorStore, _context: &Context) -> Vec<Object> {
    Vec::new()
}
