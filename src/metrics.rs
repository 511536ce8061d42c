//! Prometheus metrics of one instance: requests by route and status, their latency, security
//! events (sign-in results by method, lockouts, …) by outcome, and mail delivery failures.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route pattern (`/settings/devices/{id}`), never the raw path: paths carry tokens.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RadiusLabels {
    client: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DropLabels {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: String,
    outcome: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~16 s, doubling.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    events: Family<EventLabels, Counter>,
    /// Shared with the mail sender, which counts each failed delivery attempt.
    pub mail_failures: Counter,
    /// Pushes waiting for an answer (all instances: read from the database at each scrape).
    pub pushes_pending: Gauge,
    radius_requests: Family<RadiusLabels, Counter>,
    radius_dropped: Family<DropLabels, Counter>,
    /// The process, read from /proc at each scrape (`observe_process`).
    resident_memory: Gauge,
    open_fds: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("twofold");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered, by route pattern and status", requests.clone());
        let latency = LatencyFamily::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by route pattern",
            latency.clone(),
        );
        let events = Family::<EventLabels, Counter>::default();
        registry.register(
            "security_events",
            "Audit-logged events by name and outcome (mfa.* are second-factor results by method)",
            events.clone(),
        );
        let mail_failures = Counter::default();
        registry.register("mail_delivery_failures", "Failed SMTP delivery attempts", mail_failures.clone());
        let pushes_pending = Gauge::default();
        registry.register("pushes_pending", "Pushes waiting for an answer, on every instance", pushes_pending.clone());
        let radius_requests = Family::<RadiusLabels, Counter>::default();
        registry.register(
            "radius_requests",
            "RADIUS requests answered, by client and result (accept, reject, challenge, duplicate, status)",
            radius_requests.clone(),
        );
        let radius_dropped = Family::<DropLabels, Counter>::default();
        registry.register("radius_dropped", "RADIUS packets dropped unanswered, by reason", radius_dropped.clone());
        let resident_memory = Gauge::default();
        registry.register("process_resident_memory_bytes", "Resident memory of this instance", resident_memory.clone());
        let open_fds = Gauge::default();
        registry.register("process_open_fds", "Open file descriptors of this instance", open_fds.clone());
        let start_time: Gauge = Gauge::default();
        let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        start_time.set(i64::try_from(started).unwrap_or(0));
        registry.register("process_start_time_seconds", "When this instance started (Unix time)", start_time);
        let build = Family::<BuildLabels, Gauge>::default();
        build.get_or_create(&BuildLabels { version: env!("CARGO_PKG_VERSION").into() }).set(1);
        registry.register("build_info", "The running version (always 1)", build);
        Self {
            registry,
            requests,
            latency,
            events,
            mail_failures,
            pushes_pending,
            radius_requests,
            radius_dropped,
            resident_memory,
            open_fds,
        }
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = RequestLabels { method: method.to_string(), route: route.to_string(), status };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&RouteLabels { route: route.to_string() }).observe(seconds);
    }

    pub fn observe_radius(&self, client: &str, result: &str) {
        self.radius_requests.get_or_create(&RadiusLabels { client: client.into(), result: result.into() }).inc();
    }

    pub fn radius_dropped(&self, reason: &str) {
        self.radius_dropped.get_or_create(&DropLabels { reason: reason.into() }).inc();
    }

    pub fn observe_event(&self, event: &str, outcome: &str) {
        self.events.get_or_create(&EventLabels { event: event.to_string(), outcome: outcome.to_string() }).inc();
    }

    /// Reads the process's memory and descriptors (Linux /proc; elsewhere they stay 0).
    pub fn observe_process(&self) {
        if let Ok(status) = std::fs::read_to_string("/proc/self/status")
            && let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        {
            self.resident_memory.set(kb * 1024);
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            self.open_fds.set(i64::try_from(fds.count()).unwrap_or(i64::MAX));
        }
    }

    /// The text exposition format Prometheus scrapes.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Metrics;

    #[test]
    fn the_process_and_the_build_are_in_the_exposition() {
        let m = Metrics::new();
        m.observe_process();
        let text = m.render();
        assert!(text.contains(&format!("twofold_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"))), "{text}");
        let rss = text.lines().find(|l| l.starts_with("twofold_process_resident_memory_bytes ")).unwrap();
        assert!(rss.split(' ').nth(1).unwrap().parse::<i64>().unwrap() > 1_000_000, "{rss}");
        let fds = text.lines().find(|l| l.starts_with("twofold_process_open_fds ")).unwrap();
        assert!(fds.split(' ').nth(1).unwrap().parse::<i64>().unwrap() > 2, "{fds}");
        assert!(text.contains("twofold_process_start_time_seconds "), "{text}");
    }

    #[test]
    fn requests_events_and_failures_appear_in_the_exposition() {
        let m = Metrics::new();
        m.observe_request("GET", "/login", 200, 0.002);
        m.observe_request("GET", "/login", 200, 0.004);
        m.observe_event("mfa.passcode", "failure");
        m.mail_failures.inc();
        m.pushes_pending.set(3);
        let text = m.render();
        assert!(text.contains(r#"twofold_http_requests_total{method="GET",route="/login",status="200"} 2"#), "{text}");
        assert!(text.contains(r#"twofold_http_request_duration_seconds_count{route="/login"} 2"#), "{text}");
        assert!(text.contains(r#"twofold_security_events_total{event="mfa.passcode",outcome="failure"} 1"#), "{text}");
        assert!(text.contains("twofold_mail_delivery_failures_total 1"), "{text}");
        assert!(text.contains("twofold_pushes_pending 3"), "{text}");
        assert!(text.trim_end().ends_with("# EOF"), "OpenMetrics text ends with # EOF");
    }
}
