//! The pure half of `strata-agent`: from the files of one revision of the config repo to
//! the exact Kubernetes objects of the data tiers. No I/O, no cluster, no git.
//!
//! Start at [`Repo::load`] (files → validated documents with [`Diagnostic`]s) and
//! [`Repo::render`] (documents → [`Object`]s for one cluster). The document format is
//! defined by the types in [`spec`]; [`schema::json_schema`] publishes it for editors.
//! Each tier lives in [`tier`], built from the shared pieces in [`render::build`].

pub mod diag;
pub mod load;
pub mod object;
pub mod quantity;
pub mod render;
pub mod repo;
pub mod schema;
pub mod spec;
// Finders for every kind, whether or not each tier's tests use all of them yet.
#[cfg(test)]
#[allow(dead_code)]
mod testing;
pub mod tier;
pub mod validate;

pub use diag::{Diagnostic, Severity};
pub use load::RepoFile;
pub use object::{Object, ObjectKey, to_yaml, write_yaml};
pub use repo::{RenderError, Repo};
