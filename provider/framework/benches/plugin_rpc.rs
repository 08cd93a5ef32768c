//! Provider binaries measured the way Terraform uses them, side by side.
//!
//! ```sh
//! STRATA_BENCH_PROVIDERS=ours=$PWD/target/release/terraform-provider-strata,peer=/abs/go-provider \
//!   cargo bench -p strata-framework --bench plugin_rpc
//! ```
//!
//! `tests/bench/provider-bench` builds our release binary, fetches the Go peer and runs
//! this with both. For every binary in `STRATA_BENCH_PROVIDERS` (`label=path`, comma
//! separated; the first is "ours", the others are compared against it):
//!
//! * **launch cycle**, `STRATA_BENCH_LAUNCHES` times (default 50) after 3 warm-up
//!   launches: exec → handshake line, connect (mutual TLS, ALPN h2), the first
//!   `GetProviderSchema`, `GRPCController.Shutdown` → process exit. This is what
//!   Terraform pays for every provider process it starts, several per command.
//! * **plaintext launches**: exec → handshake line without `PLUGIN_CLIENT_CERT`, which
//!   isolates the cost of the server certificate; the process is killed afterwards.
//! * **warm `GetProviderSchema`**: one process, one connection,
//!   `STRATA_BENCH_SCHEMA_CALLS` calls (default 200) after 10 warm-up calls; the size of
//!   the response on the wire; then the process's peak RSS (`VmHWM`).
//!
//! Launches and calls alternate between the binaries, so load from other processes
//! on a shared machine falls on all of them alike and the ratios stay meaningful.
//! Plain `std::time::Instant` and medians/p90 rather than criterion: the quantities
//! are milliseconds of process start-up, where a process-level median over a few
//! dozen runs is what matters, and the ratio against the peer has to come out of
//! one run. Results go to stdout as a markdown table, and as JSON to the file named
//! by `STRATA_BENCH_JSON` if set (for the report script).

mod plugin_client;

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use plugin_client::{ClientIdentity, Plugin, Result, memory_kib};
use prost::Message;
use prost::bytes::Buf;
use serde_json::json;
use strata_framework::plugin_host::MAX_MESSAGE_SIZE;
use strata_proto::tfplugin6::get_provider_schema;
use tonic::Status;
use tonic::client::Grpc;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

const WARMUP_LAUNCHES: usize = 3;
const WARMUP_CALLS: usize = 10;
const DEFAULT_LAUNCHES: usize = 50;
const DEFAULT_SCHEMA_CALLS: usize = 200;

/// The only protocol we have bindings for; Terraform 1.15 prefers it and
/// terraform-plugin-framework providers (and muxed SDKv2 ones) speak it.
const SCHEMA_PROTOCOL: u32 = 6;

fn main() -> ExitCode {
    let Ok(spec) = std::env::var("STRATA_BENCH_PROVIDERS") else {
        eprintln!(
            "plugin_rpc: skipped, STRATA_BENCH_PROVIDERS is not set.\n\
             Set it to label=path[,label=path…] (the first is ours, the rest are compared \
             with it), or run tests/bench/provider-bench, which builds our release binary \
             and fetches a Go peer."
        );
        return ExitCode::SUCCESS;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(&spec)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plugin_rpc: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Provider {
    label: String,
    path: PathBuf,
    binary_bytes: u64,
}

/// Everything measured for one provider binary.
#[derive(Default)]
struct Results {
    app_protocol: u32,
    handshake_tls: Samples,
    handshake_plain: Samples,
    connect: Samples,
    first_schema: Samples,
    shutdown_exit: Samples,
    cycle: Samples,
    schema_warm: Samples,
    schema: Option<SchemaInfo>,
    rss_ready_kib: u64,
    rss_peak_kib: u64,
}

struct SchemaInfo {
    /// The response as it came over the wire (protobuf, before decoding).
    wire_bytes: usize,
    /// The same response re-encoded from what our 6.10 bindings understood:
    /// less than `wire_bytes` when the peer sends fields newer than 6.10.
    known_bytes: usize,
    resources: usize,
    data_sources: usize,
    functions: usize,
    ephemeral: usize,
    error_diagnostics: usize,
}

async fn run(spec: &str) -> Result<()> {
    let providers = parse_providers(spec)?;
    let launches = env_count("STRATA_BENCH_LAUNCHES", DEFAULT_LAUNCHES)?;
    let calls = env_count("STRATA_BENCH_SCHEMA_CALLS", DEFAULT_SCHEMA_CALLS)?;
    let scratch = TempDir::new()?;
    // One identity per run, as Terraform makes one per command.
    let identity = ClientIdentity::terraform_like()?;
    let mut results: Vec<Results> = providers.iter().map(|_| Results::default()).collect();
    let load_before = loadavg();

    progress(&format!(
        "launch cycles: {WARMUP_LAUNCHES} warm-up + {launches} per binary (mTLS)"
    ));
    for round in 0..WARMUP_LAUNCHES + launches {
        let warm = round >= WARMUP_LAUNCHES;
        for (provider, result) in providers.iter().zip(&mut results) {
            launch_cycle(provider, &identity, scratch.path(), result, warm).await?;
        }
    }

    progress(&format!(
        "plaintext launches: {WARMUP_LAUNCHES} warm-up + {launches} per binary"
    ));
    for round in 0..WARMUP_LAUNCHES + launches {
        for (provider, result) in providers.iter().zip(&mut results) {
            let (plugin, elapsed) = Plugin::launch(&provider.path, None, scratch.path()).await?;
            plugin.kill().await?;
            if round >= WARMUP_LAUNCHES {
                result.handshake_plain.push(elapsed);
            }
        }
    }

    progress(&format!(
        "GetProviderSchema: {WARMUP_CALLS} warm-up + {calls} calls per binary over one connection"
    ));
    warm_schema(&providers, &identity, scratch.path(), &mut results, calls).await?;

    let load_after = loadavg();
    let report = Report {
        providers: &providers,
        results: &results,
        launches,
        calls,
        load: (load_before, load_after),
    };
    print!("{}", report.markdown());
    if let Some(path) = std::env::var_os("STRATA_BENCH_JSON") {
        std::fs::write(&path, serde_json::to_vec_pretty(&report.json())?)?;
    }
    Ok(())
}

/// One process the way Terraform uses it for a short command: launch, connect,
/// fetch the schema, shut down.
async fn launch_cycle(
    provider: &Provider,
    identity: &ClientIdentity,
    scratch: &Path,
    result: &mut Results,
    record: bool,
) -> Result<()> {
    let started = Instant::now();
    let (plugin, handshake) = Plugin::launch(&provider.path, Some(identity), scratch).await?;
    result.app_protocol = plugin.handshake.app_protocol;
    let connect_start = Instant::now();
    let channel = plugin.connect(Some(identity)).await?;
    let connect = connect_start.elapsed();
    let first_schema = if plugin.handshake.app_protocol == SCHEMA_PROTOCOL {
        let mut grpc = schema_client(&channel);
        let call_start = Instant::now();
        get_provider_schema(&mut grpc).await?;
        Some(call_start.elapsed())
    } else {
        None
    };
    let exit = plugin.shutdown(channel).await?;
    let cycle = started.elapsed();
    if record {
        result.handshake_tls.push(handshake);
        result.connect.push(connect);
        if let Some(first) = first_schema {
            result.first_schema.push(first);
        }
        result.shutdown_exit.push(exit);
        result.cycle.push(cycle);
    }
    Ok(())
}

async fn warm_schema(
    providers: &[Provider],
    identity: &ClientIdentity,
    scratch: &Path,
    results: &mut [Results],
    calls: usize,
) -> Result<()> {
    let mut sessions = Vec::new();
    for (provider, result) in providers.iter().zip(results.iter_mut()) {
        let (plugin, _) = Plugin::launch(&provider.path, Some(identity), scratch).await?;
        let channel = plugin.connect(Some(identity)).await?;
        result.rss_ready_kib = memory_kib(plugin.pid()?)?.0;
        if plugin.handshake.app_protocol != SCHEMA_PROTOCOL {
            progress(&format!(
                "{}: speaks protocol {}, not measured (only tfplugin6 bindings here)",
                provider.label, plugin.handshake.app_protocol
            ));
        }
        let grpc = schema_client(&channel);
        sessions.push((plugin, channel, grpc));
    }

    for round in 0..WARMUP_CALLS + calls {
        for ((plugin, _, grpc), result) in sessions.iter_mut().zip(results.iter_mut()) {
            if plugin.handshake.app_protocol != SCHEMA_PROTOCOL {
                continue;
            }
            let started = Instant::now();
            let (wire_bytes, response) = get_provider_schema(grpc).await?;
            let elapsed = started.elapsed();
            if round >= WARMUP_CALLS {
                result.schema_warm.push(elapsed);
            }
            if result.schema.is_none() {
                result.schema = Some(SchemaInfo::new(wire_bytes, &response));
            }
        }
    }

    for ((plugin, channel, _), result) in sessions.into_iter().zip(results.iter_mut()) {
        // VmHWM: the peak over the process's whole life, so far: start-up, TLS,
        // and every schema call (the calls above build and drop the response).
        result.rss_peak_kib = memory_kib(plugin.pid()?)?.1;
        plugin.shutdown(channel).await?;
    }
    Ok(())
}

impl SchemaInfo {
    fn new(wire_bytes: usize, response: &get_provider_schema::Response) -> Self {
        Self {
            wire_bytes,
            known_bytes: response.encoded_len(),
            resources: response.resource_schemas.len(),
            data_sources: response.data_source_schemas.len(),
            functions: response.functions.len(),
            ephemeral: response.ephemeral_resource_schemas.len(),
            // tfplugin6 Diagnostic.Severity ERROR = 1.
            error_diagnostics: response
                .diagnostics
                .iter()
                .filter(|d| d.severity == 1)
                .count(),
        }
    }
}

// ---------------------------------------------------------------------------------
// GetProviderSchema with the response size

fn schema_client(channel: &Channel) -> Grpc<Channel> {
    // A real provider's schema can exceed tonic's 4 MiB default; Terraform has no limit.
    Grpc::new(channel.clone()).max_decoding_message_size(MAX_MESSAGE_SIZE)
}

/// One GetProviderSchema round trip, including decoding the response (Terraform
/// decodes it too). Returns the response's size on the wire and the response.
async fn get_provider_schema(
    grpc: &mut Grpc<Channel>,
) -> Result<(usize, get_provider_schema::Response)> {
    grpc.ready().await?;
    let response = grpc
        .unary(
            tonic::Request::new(get_provider_schema::Request {}),
            PathAndQuery::from_static("/tfplugin6.Provider/GetProviderSchema"),
            SizedCodec::default(),
        )
        .await?;
    Ok(response.into_inner())
}

/// prost on the way out; on the way in, prost plus the length of the message as
/// it arrived. The generated client cannot give that length, and re-encoding
/// the decoded message would drop fields newer than our 6.10 bindings.
struct SizedCodec<Req, Resp>(PhantomData<(Req, Resp)>);

impl<Req, Resp> Default for SizedCodec<Req, Resp> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<Req, Resp> Codec for SizedCodec<Req, Resp>
where
    Req: Message + Send + 'static,
    Resp: Message + Default + Send + 'static,
{
    type Encode = Req;
    type Decode = (usize, Resp);
    type Encoder = SizedCodec<Req, Resp>;
    type Decoder = SizedCodec<Req, Resp>;

    fn encoder(&mut self) -> Self::Encoder {
        Self::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        Self::default()
    }
}

impl<Req: Message, Resp> Encoder for SizedCodec<Req, Resp> {
    type Item = Req;
    type Error = Status;

    fn encode(&mut self, item: Req, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst)
            .map_err(|e| Status::internal(e.to_string()))
    }
}

impl<Req, Resp: Message + Default> Decoder for SizedCodec<Req, Resp> {
    type Item = (usize, Resp);
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<(usize, Resp)>, Status> {
        // The buffer holds exactly one message (tonic strips the gRPC framing).
        let len = src.remaining();
        let message = Resp::decode(src).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Some((len, message)))
    }
}

// ---------------------------------------------------------------------------------
// Statistics and the report

#[derive(Default)]
struct Samples(Vec<Duration>);

impl Samples {
    fn push(&mut self, sample: Duration) {
        self.0.push(sample);
    }

    fn sorted(&self) -> Vec<Duration> {
        let mut sorted = self.0.clone();
        sorted.sort();
        sorted
    }

    fn median(&self) -> Option<Duration> {
        let sorted = self.sorted();
        let n = sorted.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(sorted[n / 2]),
            _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
        }
    }

    /// Nearest-rank 90th percentile.
    fn p90(&self) -> Option<Duration> {
        let sorted = self.sorted();
        let rank = (sorted.len() * 9).div_ceil(10);
        rank.checked_sub(1).map(|i| sorted[i])
    }

    fn json(&self) -> serde_json::Value {
        let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1e3);
        json!({ "median_ms": ms(self.median()), "p90_ms": ms(self.p90()), "runs": self.0.len() })
    }
}

struct Report<'a> {
    providers: &'a [Provider],
    results: &'a [Results],
    launches: usize,
    calls: usize,
    load: (String, String),
}

/// One table cell: the text shown and the number the ratio column uses.
type Cell = (String, Option<f64>);

/// One table row: a cell per provider.
struct Row {
    metric: String,
    cells: Vec<Cell>,
}

impl Report<'_> {
    fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        let mut add = |metric: String, cell: &dyn Fn(&Provider, &Results) -> Cell| {
            let cells = self
                .providers
                .iter()
                .zip(self.results)
                .map(|(p, r)| cell(p, r))
                .collect();
            rows.push(Row { metric, cells });
        };
        let (n, calls) = (self.launches, self.calls);

        add("plugin protocol (handshake)".into(), &|_, r| {
            (r.app_protocol.to_string(), None)
        });
        add(
            format!("exec → handshake line, mTLS, median (p90), {n} launches"),
            &|_, r| timing(&r.handshake_tls),
        );
        add(
            format!("exec → handshake line, plaintext, median (p90), {n} launches"),
            &|_, r| timing(&r.handshake_plain),
        );
        add(
            "connect: socket + TLS 1.3 with client cert, median".into(),
            &|_, r| timing(&r.connect),
        );
        add(
            "first GetProviderSchema of a fresh process, median".into(),
            &|_, r| timing(&r.first_schema),
        );
        add(
            format!("GetProviderSchema round trip, warm, median (p90), {calls} calls"),
            &|_, r| timing(&r.schema_warm),
        );
        add("Shutdown → process exit, median".into(), &|_, r| {
            timing(&r.shutdown_exit)
        });
        add(
            "whole cycle: exec → handshake → connect → schema → Shutdown → exit, median".into(),
            &|_, r| timing(&r.cycle),
        );
        add(
            "GetProviderSchema response size (wire)".into(),
            &|_, r| match &r.schema {
                Some(s) => (bytes(s.wire_bytes as u64), Some(s.wire_bytes as f64)),
                None => ("not measured".into(), None),
            },
        );
        add(
            "schema contents: resources / data sources / functions / ephemeral".into(),
            &|_, r| match &r.schema {
                Some(s) => (
                    format!(
                        "{} / {} / {} / {}",
                        s.resources, s.data_sources, s.functions, s.ephemeral
                    ),
                    None,
                ),
                None => ("-".into(), None),
            },
        );
        add(
            "RSS when ready (after handshake + connect)".into(),
            &|_, r| mib(r.rss_ready_kib),
        );
        add(
            format!(
                "peak RSS (VmHWM) after {} schema calls",
                WARMUP_CALLS + calls
            ),
            &|_, r| mib(r.rss_peak_kib),
        );
        add("binary size".into(), &|p, _| {
            (
                format!("{:.1} MB", p.binary_bytes as f64 / 1e6),
                Some(p.binary_bytes as f64),
            )
        });
        rows
    }

    fn markdown(&self) -> String {
        let mut out = String::new();
        let ours = &self.providers[0].label;
        let mut header = vec!["metric".to_owned()];
        header.extend(self.providers.iter().map(|p| p.label.clone()));
        header.extend(
            self.providers[1..]
                .iter()
                .map(|p| format!("{ours}/{}", p.label)),
        );
        out += &format!("| {} |\n", header.join(" | "));
        out += &format!("|{}\n", "---|".repeat(header.len()));
        for row in self.rows() {
            let mut cells = vec![row.metric.clone()];
            cells.extend(row.cells.iter().map(|(text, _)| text.clone()));
            for (other, _) in row.cells.iter().skip(1).enumerate() {
                cells.push(ratio(row.cells[0].1, row.cells[other + 1].1));
            }
            out += &format!("| {} |\n", cells.join(" | "));
        }
        out += "\n";
        for (provider, result) in self.providers.iter().zip(self.results) {
            if let Some(s) = &result.schema {
                if s.known_bytes != s.wire_bytes {
                    out += &format!(
                        "- {}: {} of the {} schema bytes are fields newer than tfplugin6 6.10 \
                         (unknown to our bindings; decoded and dropped, still timed).\n",
                        provider.label,
                        s.wire_bytes - s.known_bytes.min(s.wire_bytes),
                        s.wire_bytes
                    );
                }
                if s.error_diagnostics > 0 {
                    out += &format!(
                        "- {}: GetProviderSchema returned {} error diagnostics.\n",
                        provider.label, s.error_diagnostics
                    );
                }
            }
        }
        out += &format!(
            "- load average (1/5/15 min) before: {}; after: {}.\n",
            self.load.0, self.load.1
        );
        for p in self.providers {
            out += &format!("- {}: `{}`\n", p.label, p.path.display());
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        let providers: Vec<_> = self
            .providers
            .iter()
            .zip(self.results)
            .map(|(p, r)| {
                json!({
                    "label": p.label,
                    "path": p.path,
                    "binary_bytes": p.binary_bytes,
                    "app_protocol": r.app_protocol,
                    "handshake_tls": r.handshake_tls.json(),
                    "handshake_plain": r.handshake_plain.json(),
                    "connect": r.connect.json(),
                    "first_schema": r.first_schema.json(),
                    "schema_warm": r.schema_warm.json(),
                    "shutdown_exit": r.shutdown_exit.json(),
                    "cycle": r.cycle.json(),
                    "schema_wire_bytes": r.schema.as_ref().map(|s| s.wire_bytes),
                    "schema_known_bytes": r.schema.as_ref().map(|s| s.known_bytes),
                    "schema_resources": r.schema.as_ref().map(|s| s.resources),
                    "schema_data_sources": r.schema.as_ref().map(|s| s.data_sources),
                    "rss_ready_kib": r.rss_ready_kib,
                    "rss_peak_kib": r.rss_peak_kib,
                })
            })
            .collect();
        json!({
            "launches": self.launches,
            "schema_calls": self.calls,
            "loadavg_before": self.load.0,
            "loadavg_after": self.load.1,
            "providers": providers,
        })
    }
}

fn timing(samples: &Samples) -> Cell {
    let (Some(median), Some(p90)) = (samples.median(), samples.p90()) else {
        return ("not measured".into(), None);
    };
    let text = if samples.0.len() > 1 {
        format!("{} ({})", duration(median), duration(p90))
    } else {
        duration(median)
    };
    (text, Some(median.as_secs_f64()))
}

fn duration(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{} µs", d.as_micros())
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

fn bytes(n: u64) -> String {
    if n >= 10 * 1024 {
        format!("{:.1} KiB ({n} B)", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

fn mib(kib: u64) -> Cell {
    (format!("{:.1} MiB", kib as f64 / 1024.0), Some(kib as f64))
}

fn ratio(ours: Option<f64>, other: Option<f64>) -> String {
    match (ours, other) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "-".into(),
    }
}

// ---------------------------------------------------------------------------------
// Set-up

fn parse_providers(spec: &str) -> Result<Vec<Provider>> {
    let mut providers = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (label, path) = item
            .split_once('=')
            .ok_or_else(|| format!("STRATA_BENCH_PROVIDERS: {item:?} is not label=path"))?;
        // cargo runs benches from the package directory, not from where it was called.
        let path = std::fs::canonicalize(path).map_err(|e| {
            let cwd = std::env::current_dir().unwrap_or_default();
            format!(
                "STRATA_BENCH_PROVIDERS: {path}: {e} (relative to {}; use absolute paths)",
                cwd.display()
            )
        })?;
        let binary_bytes = std::fs::metadata(&path)?.len();
        providers.push(Provider {
            label: label.trim().to_owned(),
            path,
            binary_bytes,
        });
    }
    if providers.is_empty() {
        return Err("STRATA_BENCH_PROVIDERS names no binary".into());
    }
    Ok(providers)
}

fn env_count(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(value) => match value.parse() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{name}={value:?}: expected a positive number").into()),
        },
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn progress(message: &str) {
    eprintln!("plugin_rpc: {message}");
}

/// The plugins' `TMPDIR`: go-plugin puts its Unix socket there, and a plugin we
/// kill leaves its socket behind. Removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self> {
        let base = std::env::temp_dir();
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos();
        let path = base.join(format!("strata-bench-{}-{stamp}", std::process::id()));
        std::fs::create_dir(&path)?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
