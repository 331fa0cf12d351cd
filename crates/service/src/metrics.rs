//! What `/metrics` says: counters the use cases and the HTTP layer bump as things happen, and
//! gauges read from the store at scrape time (outbox, connection pool). Encoded in the
//! OpenMetrics text format (`prometheus-client`), which Prometheus reads.
//!
//! Labels are closed sets (route templates, never paths; outcomes from enums), so no request can
//! create a new series at will.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::Service;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AnswerLabels {
    answer: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HowLabels {
    how: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s, doubling.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// How a join request ended (`dialogue_joins_total{outcome}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinOutcome {
    /// In the room, with a token.
    Entered,
    /// Too early: the waiting page.
    Waiting,
    /// The window has closed.
    Over,
    /// The session was cancelled.
    Cancelled,
    /// No Jitsi server to send them to.
    Unavailable,
    /// The external join check kept them out.
    Refused,
    /// An unknown or revoked personal link.
    UnknownLink,
}

impl JoinOutcome {
    fn label(self) -> &'static str {
        match self {
            JoinOutcome::Entered => "entered",
            JoinOutcome::Waiting => "waiting",
            JoinOutcome::Over => "over",
            JoinOutcome::Cancelled => "cancelled",
            JoinOutcome::Unavailable => "unavailable",
            JoinOutcome::Refused => "refused",
            JoinOutcome::UnknownLink => "unknown_link",
        }
    }
}

/// What Prosody's reservation request was answered (`dialogue_reservations_total{answer}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationAnswer {
    /// The room may exist.
    Created,
    /// It was reserved already (409 with the id).
    Existing,
    /// Refused: no such session, or outside its window.
    Refused,
}

impl ReservationAnswer {
    fn label(self) -> &'static str {
        match self {
            ReservationAnswer::Created => "created",
            ReservationAnswer::Existing => "existing",
            ReservationAnswer::Refused => "refused",
        }
    }
}

/// The installation's metrics. One per process, shared by every request.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily<RouteLabels>,
    joins: Family<OutcomeLabels, Counter>,
    tokens: Counter,
    join_checks: Family<OutcomeLabels, Counter>,
    reservations: Family<AnswerLabels, Counter>,
    login_failures: Counter,
    lockouts: Counter,
    prosody: Family<OutcomeLabels, Counter>,
    outbox: Family<StatusLabels, Gauge>,
    outbox_oldest: Gauge,
    /// Follows the store's own counts, caught up at scrape time under `reclaimed_sync`.
    reclaimed: Family<HowLabels, Counter>,
    reclaimed_sync: std::sync::Mutex<()>,
    /// Follows the store's count, caught up at scrape time under `reclaimed_sync`.
    name_conflicts: Counter,
    pool_size: Gauge,
    pool_idle: Gauge,
    pool_max: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("dialogue");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let latency: HistogramFamily<RouteLabels> = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests, by method and route template",
            latency.clone(),
        );
        let joins = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "joins",
            "Requests to enter a session's room (personal links and staff), by outcome",
            joins.clone(),
        );
        let tokens = Counter::default();
        registry.register("jitsi_tokens_minted", "Jitsi tokens minted", tokens.clone());
        let join_checks = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "join_checks",
            "Answers of the external join check: allow, deny, or error (timeout, unreachable, unusable answer)",
            join_checks.clone(),
        );
        // Present from the start (at 0), so that alerts on a rate see the series.
        for outcome in ["allow", "deny", "error"] {
            join_checks.get_or_create(&OutcomeLabels { outcome }).inc_by(0);
        }
        let reservations = Family::<AnswerLabels, Counter>::default();
        registry.register(
            "reservations",
            "Prosody's room reservation requests, by answer",
            reservations.clone(),
        );
        let login_failures = Counter::default();
        registry.register(
            "login_failures",
            "Password logins refused for a wrong email or password",
            login_failures.clone(),
        );
        let lockouts = Counter::default();
        registry.register(
            "login_lockouts",
            "Password logins refused because the account or address is locked out",
            lockouts.clone(),
        );
        let prosody = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "prosody_account_changes",
            "Changes applied to secure-domain servers' Prosody accounts (created, password, deleted) and failed attempts",
            prosody.clone(),
        );
        for outcome in ["created", "password", "deleted", "failed"] {
            prosody.get_or_create(&OutcomeLabels { outcome }).inc_by(0);
        }
        let outbox = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "outbox_messages",
            "Messages in the mail outbox, by status (read at scrape time)",
            outbox.clone(),
        );
        let outbox_oldest = Gauge::default();
        registry.register(
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest message waiting to be delivered (0 when none)",
            outbox_oldest.clone(),
        );
        let reclaimed = Family::<HowLabels, Counter>::default();
        registry.register(
            "outbox_leases_reclaimed",
            "Outbox leases taken back by this instance: its own at start after a crash (restart), or expired ones (expired)",
            reclaimed.clone(),
        );
        for how in ["restart", "expired"] {
            reclaimed.get_or_create(&HowLabels { how }).inc_by(0);
        }
        let name_conflicts = Counter::default();
        registry.register(
            "instance_name_conflicts",
            "Times this instance found its name (mail.instance) taken by another live process: two instances share it",
            name_conflicts.clone(),
        );
        let pool_size = Gauge::default();
        registry.register(
            "db_pool_connections",
            "Database connections open in this instance's pool",
            pool_size.clone(),
        );
        let pool_idle = Gauge::default();
        registry.register(
            "db_pool_idle_connections",
            "Open database connections not in use",
            pool_idle.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "db_pool_max_connections",
            "Most database connections this instance opens",
            pool_max.clone(),
        );
        registry.register(
            "build",
            "The running build",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        Metrics {
            registry,
            requests,
            latency,
            joins,
            tokens,
            join_checks,
            reservations,
            login_failures,
            lockouts,
            prosody,
            outbox,
            outbox_oldest,
            reclaimed,
            reclaimed_sync: std::sync::Mutex::new(()),
            name_conflicts,
            pool_size,
            pool_idle,
            pool_max,
        }
    }

    /// An HTTP request was answered. `route` is the route template (`/j/{key}`), never the path.
    pub fn http_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "other",
        };
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    pub fn join(&self, outcome: JoinOutcome) {
        self.joins
            .get_or_create(&OutcomeLabels {
                outcome: outcome.label(),
            })
            .inc();
    }

    /// The external join check answered (`dialogue_join_checks_total{outcome}`).
    pub fn join_check(&self, answer: &domain::access::CheckAnswer) {
        let outcome = match answer {
            domain::access::CheckAnswer::Allow => "allow",
            domain::access::CheckAnswer::Deny(_) => "deny",
            domain::access::CheckAnswer::Failed(_) => "error",
        };
        self.join_checks.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub fn token_minted(&self) {
        self.tokens.inc();
    }

    pub fn reservation(&self, answer: ReservationAnswer) {
        self.reservations
            .get_or_create(&AnswerLabels { answer: answer.label() })
            .inc();
    }

    pub fn login_failure(&self) {
        self.login_failures.inc();
    }

    pub fn lockout(&self) {
        self.lockouts.inc();
    }

    /// A Prosody account change was applied (`created`, `password`, `deleted`) or failed
    /// (`failed`) (`dialogue_prosody_account_changes_total{outcome}`).
    pub fn prosody_change(&self, outcome: &'static str) {
        self.prosody.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// The text Prometheus scrapes (`application/openmetrics-text; version=1.0.0`), after
    /// reading the gauges from the store (two cheap queries).
    pub async fn render(&self, svc: &Service) -> crate::Result<String> {
        let store = svc.store();
        let health = store.outbox_health(svc.now()).await?;
        for (status, n) in [
            ("queued", health.counts.queued),
            ("sending", health.counts.sending),
            ("sent", health.counts.sent),
            ("failed", health.counts.failed),
            ("superseded", health.counts.superseded),
        ] {
            self.outbox.get_or_create(&StatusLabels { status }).set(n);
        }
        self.outbox_oldest.set(health.oldest_pending_age_secs);
        {
            let counts = store.outbox_leases_reclaimed();
            // A poisoned lock guards no data: go on.
            let _one_at_a_time = self.reclaimed_sync.lock().unwrap_or_else(|e| e.into_inner());
            for (how, n) in [("restart", counts.restart), ("expired", counts.expired)] {
                let counter = self.reclaimed.get_or_create(&HowLabels { how });
                let seen = counter.get();
                if n > seen {
                    counter.inc_by(n - seen);
                }
            }
            let conflicts = store.instance_conflicts();
            let seen = self.name_conflicts.get();
            if conflicts > seen {
                self.name_conflicts.inc_by(conflicts - seen);
            }
        }
        let pool = store.pool_stats();
        self.pool_size.set(i64::from(pool.size));
        self.pool_idle.set(pool.idle as i64);
        self.pool_max.set(i64::from(pool.max));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .map_err(|e| crate::Error::Internal(format!("metrics: {e}")))?;
        Ok(text)
    }
}
