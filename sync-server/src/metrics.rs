//! `GET /metrics`: counters and a latency histogram of `POST /v1/sync` in the
//! OpenMetrics text format (which Prometheus scrapes natively), built with
//! the official client `prometheus-client`.
//!
//! How it fits: one [`Metrics`] lives in [`crate::state::AppState`]. The sync
//! route is wrapped by [`track_sync`] (see [`crate::sync::routes`]), which
//! times every request — including those refused before the handler runs
//! (bad token 401, body over the limit 413) — and reads the [`SyncStats`]
//! the handler attaches to its response. [`scrape`] refreshes the two gauges
//! from the database and encodes the registry.
//!
//! Metrics (all prefixed `gridwork_`):
//!
//! | name | type | what |
//! |---|---|---|
//! | `sync_requests_total{outcome}` | counter | one per `POST /v1/sync`; `outcome` is one of [`Outcome::ALL`] |
//! | `sync_request_duration_seconds` | histogram | time to answer `POST /v1/sync`, buckets [`LATENCY_BUCKETS`] (5 ms–10 s) |
//! | `sync_request_bytes_total` | counter | request body bytes read by the handler (authenticated requests within the size limit) |
//! | `sync_response_bytes_total` | counter | response body bytes of `POST /v1/sync`, errors included |
//! | `sync_docs_received_total` | counter | docs pushed by devices (fast-path pushes plus slow-path messages) |
//! | `sync_docs_sent_total` | counter | docs sent down to devices |
//! | `sync_docs_rejected_total` | counter | pushed docs refused (out of scope, read-only, malformed) |
//! | `docs` | gauge | documents stored on the server, counted at scrape time |
//! | `devices` | gauge | devices that have synced at least once, counted at scrape time |
//!
//! Access: by default `/metrics` is served on the same listener without
//! authentication, like `/healthz`. The server runs on an intranet, and the
//! exposition holds only counts, byte totals and timings — no worker ids,
//! grid codes, doc ids or any personal data — so reading it reveals how busy
//! the server is and nothing more. Where even that should stay private,
//! `serve --metrics-token-env VAR` requires `Authorization: Bearer <token>`
//! with the token read once at start from the environment variable `VAR`
//! (never from the command line); a missing or wrong token gets 401.

use crate::backend::Backend;
use crate::error::Error;
use crate::state::AppState;
use axum::body::HttpBody;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The `Content-Type` of `GET /metrics` (OpenMetrics text 1.0.0, UTF-8).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds of the sync latency buckets, in seconds (5 ms to 10 s; the
/// `+Inf` bucket is implicit).
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Fewest characters in a `--metrics-token-env` token.
pub const MIN_TOKEN_CHARS: usize = 16;

/// How one `POST /v1/sync` ended: the `outcome` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Answered (200) with every pushed doc applied.
    Ok,
    /// Answered (200), but at least one pushed doc was refused.
    Rejected,
    /// Missing, unknown or revoked device token (401).
    Unauthorized,
    /// Malformed body or unknown protocol version (400), or another 4xx.
    BadRequest,
    /// Body over the size limit (413).
    TooLarge,
    /// The server failed (5xx).
    Error,
}

impl Outcome {
    /// Every outcome, in the order they are exposed (all start at 0).
    pub const ALL: [Outcome; 6] = [
        Outcome::Ok,
        Outcome::Rejected,
        Outcome::Unauthorized,
        Outcome::BadRequest,
        Outcome::TooLarge,
        Outcome::Error,
    ];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Rejected => "rejected",
            Outcome::Unauthorized => "unauthorized",
            Outcome::BadRequest => "bad_request",
            Outcome::TooLarge => "too_large",
            Outcome::Error => "error",
        }
    }

    /// The outcome of a response with `status` that refused `rejected` docs.
    pub fn of(status: StatusCode, rejected: u64) -> Outcome {
        match status {
            s if s.is_success() && rejected > 0 => Outcome::Rejected,
            s if s.is_success() => Outcome::Ok,
            StatusCode::UNAUTHORIZED => Outcome::Unauthorized,
            StatusCode::PAYLOAD_TOO_LARGE => Outcome::TooLarge,
            s if s.is_client_error() => Outcome::BadRequest,
            _ => Outcome::Error,
        }
    }
}

/// What the sync handler knows about one request, attached to its response
/// as an extension for [`track_sync`]. Absent when an extractor refused the
/// request before the handler ran (nothing was read then).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Bytes of the request body.
    pub request_bytes: u64,
    /// Docs the device pushed (pushes plus slow-path messages).
    pub docs_received: u64,
    /// Docs sent down in the response.
    pub docs_sent: u64,
    /// Pushed docs refused.
    pub docs_rejected: u64,
}

/// The label set of `sync_requests_total`.
type OutcomeLabel = [(&'static str, &'static str); 1];

/// The server's metrics and the registry that exposes them. Cheap to
/// update from any thread (atomics); shared through [`AppState`].
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<OutcomeLabel, Counter>,
    duration: Histogram,
    request_bytes: Counter,
    response_bytes: Counter,
    docs_received: Counter,
    docs_sent: Counter,
    docs_rejected: Counter,
    docs: Gauge,
    devices: Gauge,
    /// SHA-256 of the scrape token, when `/metrics` requires one.
    token_hash: Option<[u8; 32]>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(None)
    }
}

impl Metrics {
    /// Fresh metrics, all zero. With `scrape_token`, [`scrape`] requires
    /// `Authorization: Bearer <scrape_token>`.
    pub fn new(scrape_token: Option<&str>) -> Metrics {
        let mut registry = Registry::with_prefix("gridwork");
        let requests = Family::<OutcomeLabel, Counter>::default();
        for outcome in Outcome::ALL {
            // Expose every outcome from the start, so rates work from the first scrape.
            let _ = requests.get_or_create(&[("outcome", outcome.label())]);
        }
        registry.register(
            "sync_requests",
            "POST /v1/sync requests by outcome",
            requests.clone(),
        );
        let duration = Histogram::new(LATENCY_BUCKETS);
        registry.register_with_unit(
            "sync_request_duration",
            "Time to answer POST /v1/sync",
            Unit::Seconds,
            duration.clone(),
        );
        let counter = |registry: &mut Registry, name: &str, help: &str, unit: Option<Unit>| {
            let counter = Counter::default();
            match unit {
                Some(unit) => registry.register_with_unit(name, help, unit, counter.clone()),
                None => registry.register(name, help, counter.clone()),
            }
            counter
        };
        let request_bytes = counter(
            &mut registry,
            "sync_request",
            "Request body bytes of POST /v1/sync read by the handler",
            Some(Unit::Bytes),
        );
        let response_bytes = counter(
            &mut registry,
            "sync_response",
            "Response body bytes of POST /v1/sync",
            Some(Unit::Bytes),
        );
        let docs_received = counter(
            &mut registry,
            "sync_docs_received",
            "Docs pushed by devices",
            None,
        );
        let docs_sent = counter(
            &mut registry,
            "sync_docs_sent",
            "Docs sent to devices",
            None,
        );
        let docs_rejected = counter(
            &mut registry,
            "sync_docs_rejected",
            "Pushed docs refused (out of scope, read-only or malformed)",
            None,
        );
        let docs = Gauge::default();
        registry.register("docs", "Documents stored on the server", docs.clone());
        let devices = Gauge::default();
        registry.register(
            "devices",
            "Devices that have synced at least once",
            devices.clone(),
        );
        Metrics {
            registry,
            requests,
            duration,
            request_bytes,
            response_bytes,
            docs_received,
            docs_sent,
            docs_rejected,
            docs,
            devices,
            token_hash: scrape_token.map(|t| Sha256::digest(t.as_bytes()).into()),
        }
    }

    /// Record one finished `POST /v1/sync`.
    pub fn observe_sync(
        &self,
        outcome: Outcome,
        elapsed: Duration,
        stats: SyncStats,
        response_bytes: u64,
    ) {
        self.requests
            .get_or_create(&[("outcome", outcome.label())])
            .inc();
        self.duration.observe(elapsed.as_secs_f64());
        self.request_bytes.inc_by(stats.request_bytes);
        self.response_bytes.inc_by(response_bytes);
        self.docs_received.inc_by(stats.docs_received);
        self.docs_sent.inc_by(stats.docs_sent);
        self.docs_rejected.inc_by(stats.docs_rejected);
    }

    /// Set the gauges from the database (two counts; blocking).
    pub fn refresh_gauges(&self, backend: &Backend) -> Result<(), Error> {
        let (docs, devices) = backend.read(|conn| {
            let count = |sql: &str| -> Result<i64, Error> {
                Ok(conn.value(sql, &[])?.map_or(Ok(0), |c| c.int())?)
            };
            Ok((
                count("SELECT count(*) FROM docs")?,
                count("SELECT count(*) FROM devices")?,
            ))
        })?;
        self.docs.set(docs);
        self.devices.set(devices);
        Ok(())
    }

    /// The exposition: OpenMetrics text ending in `# EOF`.
    pub fn encode(&self) -> Result<String, Error> {
        let mut out = String::new();
        text::encode(&mut out, &self.registry)
            .map_err(|_| Error::Internal("指标编码失败 / encoding the metrics failed".into()))?;
        Ok(out)
    }

    /// True if a request with these headers may read the metrics: always
    /// without a scrape token, else only with `Authorization: Bearer
    /// <token>` (compared in constant time).
    pub fn may_scrape(&self, headers: &HeaderMap) -> bool {
        let Some(expected) = &self.token_hash else {
            return true;
        };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .unwrap_or_default();
        let hash: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        !given.is_empty() && bool::from(hash.ct_eq(expected))
    }
}

/// The scrape token in the environment variable `var` (for
/// `--metrics-token-env`): unset, empty or shorter than
/// [`MIN_TOKEN_CHARS`] is a user error naming the variable, never a value.
pub fn token_from_env(var: &str) -> Result<String, Error> {
    match std::env::var(var) {
        Ok(value) if value.trim().chars().count() >= MIN_TOKEN_CHARS => Ok(value.trim().to_owned()),
        _ => Err(Error::invalid(
            "metrics-token-env",
            format!(
                "环境变量 {var} 未设置或少于 {MIN_TOKEN_CHARS} 个字符 / the environment variable {var} is not set or has fewer than {MIN_TOKEN_CHARS} characters"
            ),
        )),
    }
}

/// Middleware around `POST /v1/sync`: time the request and record its
/// outcome, the handler's [`SyncStats`] and the response size.
pub async fn track_sync(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let response = next.run(request).await;
    let stats = response
        .extensions()
        .get::<SyncStats>()
        .copied()
        .unwrap_or_default();
    let response_bytes = response.body().size_hint().exact().unwrap_or(0);
    let outcome = Outcome::of(response.status(), stats.docs_rejected);
    metrics.observe_sync(outcome, started.elapsed(), stats, response_bytes);
    response
}

/// `GET /metrics`: refresh the gauges and return the exposition (401
/// without the scrape token when one is configured).
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, Error> {
    if !state.metrics.may_scrape(&headers) {
        return Err(Error::Unauthorized);
    }
    let metrics = state.metrics.clone();
    let backend = state.backend.clone();
    let body = tokio::task::spawn_blocking(move || {
        metrics.refresh_gauges(&backend)?;
        metrics.encode()
    })
    .await??;
    Ok((
        [
            (header::CONTENT_TYPE, CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_the_status() {
        assert_eq!(Outcome::of(StatusCode::OK, 0), Outcome::Ok);
        assert_eq!(Outcome::of(StatusCode::OK, 2), Outcome::Rejected);
        assert_eq!(
            Outcome::of(StatusCode::UNAUTHORIZED, 0),
            Outcome::Unauthorized
        );
        assert_eq!(
            Outcome::of(StatusCode::PAYLOAD_TOO_LARGE, 0),
            Outcome::TooLarge
        );
        assert_eq!(Outcome::of(StatusCode::BAD_REQUEST, 0), Outcome::BadRequest);
        assert_eq!(
            Outcome::of(StatusCode::INTERNAL_SERVER_ERROR, 0),
            Outcome::Error
        );
    }

    #[test]
    fn observations_show_up_in_the_exposition() {
        let metrics = Metrics::default();
        let text = metrics.encode().unwrap();
        for outcome in Outcome::ALL {
            let line = format!(
                "gridwork_sync_requests_total{{outcome=\"{}\"}} 0\n",
                outcome.label()
            );
            assert!(text.contains(&line), "{text}");
        }
        let stats = SyncStats {
            request_bytes: 100,
            docs_received: 2,
            docs_sent: 3,
            docs_rejected: 1,
        };
        metrics.observe_sync(Outcome::Rejected, Duration::from_millis(20), stats, 250);
        let text = metrics.encode().unwrap();
        for line in [
            "gridwork_sync_requests_total{outcome=\"rejected\"} 1\n",
            "gridwork_sync_request_bytes_total 100\n",
            "gridwork_sync_response_bytes_total 250\n",
            "gridwork_sync_docs_received_total 2\n",
            "gridwork_sync_docs_sent_total 3\n",
            "gridwork_sync_docs_rejected_total 1\n",
            "gridwork_sync_request_duration_seconds_count 1\n",
            "gridwork_sync_request_duration_seconds_bucket{le=\"0.01\"} 0\n",
            "gridwork_sync_request_duration_seconds_bucket{le=\"0.025\"} 1\n",
            "# TYPE gridwork_sync_request_duration_seconds histogram\n",
            "# UNIT gridwork_sync_request_bytes bytes\n",
        ] {
            assert!(text.contains(line), "{line}: {text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn a_scrape_token_is_required_when_configured() {
        let mut headers = HeaderMap::new();
        assert!(Metrics::default().may_scrape(&headers));
        let metrics = Metrics::new(Some("0123456789abcdef"));
        assert!(!metrics.may_scrape(&headers));
        headers.insert(header::AUTHORIZATION, "Bearer wrong".parse().unwrap());
        assert!(!metrics.may_scrape(&headers));
        headers.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert!(!metrics.may_scrape(&headers));
        headers.insert(
            header::AUTHORIZATION,
            "bearer 0123456789abcdef".parse().unwrap(),
        );
        assert!(metrics.may_scrape(&headers));
    }
}
