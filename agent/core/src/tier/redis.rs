//! The redis tier.

use crate::diag::Checks;
use crate::object::Object;
use crate::render::Context;
use crate::spec::RedisCluster;

/// Rules of a `RedisCluster` beyond its types.
pub fn validate(_workload: &RedisCluster, _checks: &mut Checks) {}

/// The objects of a `RedisCluster`.
pub fn render(_workload: &RedisCluster, _context: &Context) -> Vec<Object> {
    Vec::new()
}
