//! The stream tier.

use crate::diag::Checks;
use crate::object::Object;
use crate::render::Context;
use crate::spec::StreamCluster;

/// Rules of a `StreamCluster` beyond its types.
pub fn validate(_workload: &StreamCluster, _checks: &mut Checks) {}

/// The objects of a `StreamCluster`.
pub fn render(_workload: &StreamCluster, _context: &Context) -> Vec<Object> {
    Vec::new()
}
