//! `strata-agent render`: the objects for one cluster, as multi-document YAML on stdout
//! or as one file per object in a directory.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use strata_agent_core::{Object, RenderError, Repo, to_yaml, write_yaml};

use crate::input::{self, SourceArgs};
use crate::report::{self, Status};

/// Render a config repo.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cluster to render for; required when the repo declares more than one
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Write one file per object into DIR (created when missing), named so that lexical
    /// order is apply order; files this command wrote before and no longer renders are
    /// removed
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: Option<PathBuf>,
    // Last: its options end under their own help heading.
    #[command(flatten)]
    pub source: SourceArgs,
}

pub fn run(args: &Args) -> anyhow::Result<Status> {
    let loaded = input::load(&args.source).context("cannot read the config repo")?;
    let repo = Repo::load(&loaded.files);
    report::print(&repo.diagnostics);
    report::warn_if_empty(&repo);
    let objects = match repo.render(args.cluster.as_deref(), &loaded.revision) {
        Ok(objects) => objects,
        Err(RenderError::Invalid(errors)) => {
            eprintln!(
                "error: the config repo has {}; nothing was rendered",
                report::count(errors, "error")
            );
            return Ok(Status::Invalid);
        }
        Err(RenderError::Collisions(found)) => {
            report::print(&found);
            eprintln!("error: documents collide; nothing was rendered");
            return Ok(Status::Invalid);
        }
        Err(error @ RenderError::ClusterRequired(_)) => {
            anyhow::bail!("{error} with --cluster NAME")
        }
        Err(error @ RenderError::UnknownCluster { .. }) => return Err(error.into()),
    };
    match &args.output {
        None => print(&objects)?,
        Some(dir) => {
            let written = write_dir(dir, &objects, args.cluster.as_deref(), &loaded.revision)
                .with_context(|| format!("cannot write to {}", dir.display()))?;
            println!(
                "wrote {} to {}{}",
                report::count(written.files, "file"),
                dir.display(),
                match written.removed {
                    0 => String::new(),
                    n => format!(", removed {} no longer rendered", report::count(n, "file")),
                }
            );
        }
    }
    Ok(Status::Ok)
}

/// The YAML on stdout; a closed pipe (`| head`) is not an error.
fn print(objects: &[Object]) -> anyhow::Result<()> {
    let mut stdout = io::BufWriter::new(io::stdout().lock());
    match write_yaml(objects, &mut stdout).and_then(|()| stdout.flush()) {
        Err(error) if error.kind() != io::ErrorKind::BrokenPipe => {
            Err(error).context("cannot write to stdout")
        }
        _ => Ok(()),
    }
}

/// The first line of every file `render -o` writes: how it recognises its own files.
const HEADER: &str = "# Rendered by strata-agent";

/// What [`write_dir`] did.
#[derive(Debug)]
struct Written {
    files: usize,
    removed: usize,
}

/// Writes one file per object and removes the files of an earlier run that are no
/// longer rendered. Other files in the directory are left alone.
fn write_dir(
    dir: &Path,
    objects: &[Object],
    cluster: Option<&str>,
    revision: &str,
) -> io::Result<Written> {
    fs::create_dir_all(dir)?;
    let mut names = BTreeSet::new();
    let mut files = Vec::new();
    for object in objects {
        let mut name = file_name(object, false);
        if names.contains(&name) {
            name = file_name(object, true);
        }
        names.insert(name.clone());
        let header = match cluster {
            Some(cluster) => {
                format!("{HEADER} from revision {revision} for cluster {cluster}; do not edit.\n")
            }
            None => format!("{HEADER} from revision {revision}; do not edit.\n"),
        };
        files.push((name, header + &to_yaml(std::slice::from_ref(object))));
    }

    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !names.contains(&name) && entry.file_type()?.is_file() && is_ours(&entry.path(), &name) {
            fs::remove_file(entry.path())?;
            tracing::info!(file = name, "removed a file no longer rendered");
            removed += 1;
        }
    }
    for (name, text) in &files {
        let path = dir.join(name);
        if fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
            continue;
        }
        fs::write(&path, text)?;
    }
    Ok(Written {
        files: files.len(),
        removed,
    })
}

/// `06-statefulset-data-weaviate.yaml`: apply rank, kind, namespace (`_` for
/// cluster-scoped objects) and name, so that `ls` (and `kubectl apply -f DIR`) sees
/// every object after those it depends on. `with_group` adds the API group to the kind,
/// for the rare object whose kind, namespace and name another object of another group
/// shares.
fn file_name(object: &Object, with_group: bool) -> String {
    let key = object.key();
    let kind = if with_group && !key.group.is_empty() {
        format!("{}.{}", key.kind, key.group)
    } else {
        key.kind.clone()
    };
    format!(
        "{:02}-{}-{}-{}.yaml",
        object.apply_rank(),
        safe(&kind.to_ascii_lowercase()),
        safe(key.namespace.as_deref().unwrap_or("_")),
        safe(&key.name),
    )
}

/// Keeps `[A-Za-z0-9._-]`; anything else (a `/` in a plain manifest's name) becomes `_`.
fn safe(part: &str) -> String {
    part.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A file an earlier `render -o` wrote: named `NN-….yaml` and starting with [`HEADER`].
fn is_ours(path: &Path, name: &str) -> bool {
    let bytes = name.as_bytes();
    let named = name.ends_with(".yaml")
        && bytes.len() > 3
        && bytes[0].is_ascii_digit()
        && bytes[1].is_ascii_digit()
        && bytes[2] == b'-';
    named && fs::read(path).is_ok_and(|contents| contents.starts_with(HEADER.as_bytes()))
}
