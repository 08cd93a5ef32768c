//! Logs in the shape Terraform reads from a plugin's stderr, and a panic hook
//! that Terraform recognises as a plugin crash.
//!
//! go-plugin parses each stderr line that is a JSON object as an hclog entry:
//! `@level` and `@message` must be strings, `@timestamp` must use Go's layout
//! `2006-01-02T15:04:05.000000Z07:00` (exactly six fractional digits), and any
//! other key becomes a field of the entry. Lines that are not JSON are logged
//! at debug, and a line starting with `panic: ` marks the start of a crash
//! report that Terraform prints to the user.
//!
//! ## Level
//! `TF_LOG_PROVIDER`, else `TF_LOG`: `TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`,
//! `OFF`, or `JSON` (= trace), case-insensitive; any other non-empty value
//! means trace, as in Terraform itself. Terraform passes its environment to
//! the provider and applies the same variables to what it reads from us, so
//! filtering here only saves the work of formatting lines that would be
//! dropped. When neither is set Terraform discards provider logs anyway; we
//! then keep warnings and errors (`WARN`) so a debug-mode run in a terminal
//! still shows problems. terraform-plugin-go differs here: it logs everything
//! (trace) unless `TF_LOG_PROVIDER_<NAME>` is set, leaving all filtering to
//! Terraform.
//!
//! The transport crates (h2, hyper, rustls, tower, tonic) log every HTTP/2
//! frame at debug. Those are capped at info unless the level is trace, so
//! `TF_LOG=DEBUG` shows the provider's own debugging rather than frame dumps.

use std::fmt;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs a global `tracing` subscriber that writes hclog-style JSON lines
/// to stderr, tagged `@module = module` (for the Strata provider:
/// `"provider.terraform-provider-strata"`), at the level chosen by
/// `TF_LOG_PROVIDER` / `TF_LOG` (see the module docs). Span fields are added
/// to every event inside the span.
///
/// Also installs a panic hook: a panic prints `panic: <message>`, its location
/// and a backtrace on stderr, which Terraform shows as a plugin crash, and then
/// **exits the process with status 2**, as a Go provider would. Staying alive
/// after a panic in one RPC would leave Terraform talking to a provider in an
/// unknown state, with only a vague transport error to show for it.
///
/// Call it once, first thing in `main`; later calls keep the first subscriber.
pub fn init_logging(module: &str) {
    let level = level_from(
        std::env::var("TF_LOG_PROVIDER").ok().as_deref(),
        std::env::var("TF_LOG").ok().as_deref(),
    );
    let layer = HclogLayer::new(module, std::io::stderr).with_filter(targets_for(level));
    // Err only when a subscriber is already installed; keeping it is right.
    let _ = tracing_subscriber::registry().with(layer).try_init();
    install_panic_hook();
}

/// The level filter for a `TF_LOG_PROVIDER` and a `TF_LOG` value.
pub(super) fn level_from(provider: Option<&str>, global: Option<&str>) -> LevelFilter {
    let chosen = [provider, global]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|value| !value.is_empty());
    let Some(value) = chosen else {
        return LevelFilter::WARN;
    };
    match value.to_ascii_uppercase().as_str() {
        "DEBUG" => LevelFilter::DEBUG,
        "INFO" => LevelFilter::INFO,
        "WARN" => LevelFilter::WARN,
        "ERROR" => LevelFilter::ERROR,
        "OFF" => LevelFilter::OFF,
        // TRACE, JSON, and anything Terraform would not recognise.
        _ => LevelFilter::TRACE,
    }
}

/// Crates whose debug output is per-frame transport detail.
const TRANSPORT_CRATES: [&str; 7] = [
    "h2",
    "hyper",
    "hyper_util",
    "rustls",
    "tokio_rustls",
    "tower",
    "tonic",
];

/// `level` for everything, except the transport crates below trace.
pub(super) fn targets_for(level: LevelFilter) -> Targets {
    let transport = if level == LevelFilter::TRACE {
        LevelFilter::TRACE
    } else {
        level.min(LevelFilter::INFO)
    };
    Targets::new()
        .with_default(level)
        .with_targets(TRANSPORT_CRATES.map(|target| (target, transport)))
}

/// A `tracing` layer writing one hclog JSON object per event.
pub(super) struct HclogLayer<W> {
    module: String,
    make_writer: W,
}

impl<W> HclogLayer<W> {
    pub(super) fn new(module: &str, make_writer: W) -> Self {
        Self {
            module: module.to_owned(),
            make_writer,
        }
    }
}

/// Fields recorded on a span, kept in the span's extensions.
#[derive(Default)]
struct SpanFields(Map<String, Value>);

impl<S, W> Layer<S> for HclogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = JsonVisitor::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields.fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() {
            let mut visitor = JsonVisitor {
                fields: std::mem::take(fields),
                message: None,
            };
            values.record(&mut visitor);
            *fields = visitor.fields;
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        // Outer spans first, so inner spans and the event itself win on clashes.
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(span_fields)) = span.extensions().get::<SpanFields>() {
                    fields.extend(span_fields.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        let mut visitor = JsonVisitor {
            fields,
            message: None,
        };
        event.record(&mut visitor);
        let line = format_line(
            *event.metadata().level(),
            visitor.message.as_deref().unwrap_or_default(),
            &self.module,
            SystemTime::now(),
            visitor.fields,
        );
        // One write per line so concurrent lines do not interleave.
        let _ = self.make_writer.make_writer().write_all(line.as_bytes());
    }
}

/// Renders one hclog JSON line, newline included.
pub(super) fn format_line(
    level: Level,
    message: &str,
    module: &str,
    at: SystemTime,
    mut fields: Map<String, Value>,
) -> String {
    let level = match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    };
    // Reserved keys last, so a field cannot masquerade as them.
    fields.insert("@level".to_owned(), level.into());
    fields.insert("@message".to_owned(), message.into());
    fields.insert("@module".to_owned(), module.into());
    fields.insert("@timestamp".to_owned(), format_timestamp(at).into());
    let mut line = Value::Object(fields).to_string();
    line.push('\n');
    line
}

/// Formats `at` in UTC with Go's layout `2006-01-02T15:04:05.000000Z07:00`,
/// writing the zero offset as `+00:00`: `1970-01-01T00:00:00.000000+00:00`.
pub(super) fn format_timestamp(at: SystemTime) -> String {
    // A clock before 1970 is not worth an error in a log line.
    let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (year, month, day) = civil_from_days(secs / 86_400);
    let secs_of_day = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        secs_of_day / 3600,
        secs_of_day % 3600 / 60,
        secs_of_day % 60,
        since_epoch.subsec_micros(),
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), after
/// Howard Hinnant's `civil_from_days`, for non-negative day counts.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // shift the epoch to 0000-03-01
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153; // month, counted from March
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Collects `tracing` fields as JSON values; `message` is kept apart.
#[derive(Default)]
struct JsonVisitor {
    fields: Map<String, Value>,
    message: Option<String>,
}

impl JsonVisitor {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            });
        } else {
            self.fields.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for JsonVisitor {
    fn record_f64(&mut self, field: &Field, value: f64) {
        // NaN and infinities are not JSON numbers.
        let value = serde_json::Number::from_f64(value)
            .map_or_else(|| Value::String(value.to_string()), Value::Number);
        self.put(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.put(field, value.to_string().into());
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.put(field, value.to_string().into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // The whole cause chain: "failed to x: because y: because z".
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        self.put(field, text.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("Box<dyn Any>");
        let location = info
            .location()
            .map_or_else(|| "unknown location".to_owned(), ToString::to_string);
        let thread = std::thread::current();
        let backtrace = std::backtrace::Backtrace::force_capture();
        let report = panic_report(
            message,
            &location,
            thread.name().unwrap_or("unnamed"),
            &backtrace,
        );
        let _ = std::io::stderr().lock().write_all(report.as_bytes());
        // Go's exit status for a panic.
        std::process::exit(2);
    }));
}

/// The crash report: starts with `panic: ` so Terraform records it, and every
/// following line too, as the crash's details.
fn panic_report(
    message: &str,
    location: &str,
    thread: &str,
    backtrace: &dyn fmt::Display,
) -> String {
    format!("panic: {message}\n\nat {location} (thread {thread})\n\n{backtrace}\n")
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    #[test]
    fn timestamps_have_six_fractional_digits_and_an_offset() {
        let epoch = format_timestamp(UNIX_EPOCH);
        assert_eq!(epoch, "1970-01-01T00:00:00.000000+00:00");

        // Go's reference time, in UTC.
        let reference = UNIX_EPOCH + Duration::new(1_136_214_245, 123_456_789);
        assert_eq!(
            format_timestamp(reference),
            "2006-01-02T15:04:05.123456+00:00"
        );

        let leap_day = UNIX_EPOCH + Duration::from_secs(1_709_164_800 + 86_399);
        assert_eq!(
            format_timestamp(leap_day),
            "2024-02-29T23:59:59.000000+00:00"
        );

        let after_century_leap = UNIX_EPOCH + Duration::from_secs(951_868_800);
        assert_eq!(
            format_timestamp(after_century_leap),
            "2000-03-01T00:00:00.000000+00:00"
        );
    }

    #[test]
    fn level_prefers_tf_log_provider() {
        assert_eq!(level_from(Some("debug"), Some("ERROR")), LevelFilter::DEBUG);
        assert_eq!(level_from(None, Some("INFO")), LevelFilter::INFO);
        assert_eq!(level_from(Some(""), Some("ERROR")), LevelFilter::ERROR);
        assert_eq!(level_from(None, Some("JSON")), LevelFilter::TRACE);
        assert_eq!(level_from(None, Some("off")), LevelFilter::OFF);
        assert_eq!(level_from(None, Some("bogus")), LevelFilter::TRACE);
        assert_eq!(level_from(None, None), LevelFilter::WARN);
    }

    #[test]
    fn transport_crates_are_quiet_below_trace() {
        let debug = targets_for(LevelFilter::DEBUG);
        assert!(debug.would_enable("strata_framework::server", &Level::DEBUG));
        assert!(!debug.would_enable("h2::codec::framed_write", &Level::DEBUG));
        assert!(debug.would_enable("h2::proto", &Level::INFO));
        assert!(!targets_for(LevelFilter::WARN).would_enable("hyper", &Level::INFO));
        assert!(targets_for(LevelFilter::TRACE).would_enable("h2", &Level::TRACE));
    }

    #[test]
    fn line_has_string_level_and_message() {
        let mut fields = Map::new();
        fields.insert("tf_rpc".to_owned(), "PlanResourceChange".into());
        fields.insert("@level".to_owned(), "bogus".into());
        let line = format_line(
            Level::WARN,
            "hello",
            "provider.test",
            UNIX_EPOCH + Duration::from_micros(1),
            fields,
        );
        assert!(line.ends_with('\n'));
        let json: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(json["@level"], "warn");
        assert_eq!(json["@message"], "hello");
        assert_eq!(json["@module"], "provider.test");
        assert_eq!(json["@timestamp"], "1970-01-01T00:00:00.000001+00:00");
        assert_eq!(json["tf_rpc"], "PlanResourceChange");
    }

    /// Collects everything written, line by line.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[test]
    fn events_carry_fields_and_span_fields() {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::registry().with(
            HclogLayer::new("provider.terraform-provider-strata", capture.clone())
                .with_filter(LevelFilter::DEBUG),
        );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("rpc", tf_rpc = "ApplyResourceChange", attempt = 1);
            let _entered = span.enter();
            let error = std::io::Error::other("boom");
            tracing::error!(
                resource = "strata_vpc",
                count = 3_u64,
                error = &error as &dyn std::error::Error,
                "create failed: {}",
                "vpc"
            );
            tracing::trace!("filtered out");
        });

        let output = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(lines.len(), 1, "{output}");
        let json: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(json["@level"], "error");
        assert_eq!(json["@message"], "create failed: vpc");
        assert_eq!(json["@module"], "provider.terraform-provider-strata");
        assert_eq!(json["resource"], "strata_vpc");
        assert_eq!(json["count"], 3);
        assert_eq!(json["error"], "boom");
        assert_eq!(json["tf_rpc"], "ApplyResourceChange");
        assert_eq!(json["attempt"], 1);
        let timestamp = json["@timestamp"].as_str().unwrap();
        let fraction = timestamp.split('.').nth(1).unwrap();
        assert_eq!(fraction.len(), "000000+00:00".len(), "{timestamp}");
    }

    #[test]
    fn panic_report_starts_with_panic_prefix() {
        let report = panic_report(
            "index out of bounds",
            "src/lib.rs:1:2",
            "main",
            &"<backtrace>",
        );
        assert!(
            report.starts_with("panic: index out of bounds\n"),
            "{report}"
        );
        assert!(report.contains("src/lib.rs:1:2"));
    }
}
