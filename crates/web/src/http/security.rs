//! Security headers on every response, and request ids.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::http::state::AppState;

/// The header that carries a request's id, in the answer and in a trusted proxy's request.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// No inline script or style anywhere: every script and stylesheet is a file of ours.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub async fn headers(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // `same-origin`: no Referer leaves for another site (join links stay private), while same-site
    // form posts keep a real `Origin` (with `no-referrer`, browsers send `Origin: null`).
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    if app.config().https() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

/// Request ids: 64 random bits, hex, unless a trusted proxy sent one (see
/// [`sanitize_request_id`]).
#[derive(Clone, Copy, Default)]
pub struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let id = service::crypto::hex(&store::random_bytes::<8>());
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// Drops the `X-Request-Id` a request came with, so that one of ours replaces it, unless the
/// peer is a trusted proxy (`http.trusted_proxies`) and the id is plausible (one, of 1 to 64
/// `A-Z a-z 0-9 - _ .`): a proxy's id is kept for tracing across both logs, while a client
/// cannot choose the id its requests are logged under (and so blur them with others'), nor put
/// arbitrary text into every log line of the request.
pub async fn sanitize_request_id(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    let plausible = |v: &HeaderValue| {
        let b = v.as_bytes();
        (1..=64).contains(&b.len())
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    };
    let from_proxy = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|peer| app.http().trusted_proxies.iter().any(|net| net.contains(&peer.0.ip())));
    let headers = request.headers_mut();
    let ids = headers.get_all(REQUEST_ID);
    let keep = from_proxy && ids.iter().count() == 1 && ids.iter().all(plausible);
    if !keep {
        headers.remove(REQUEST_ID);
    }
    next.run(request).await
}

/// Paths whose next segment is a credential: personal join links, the first-start and
/// set-password links, calendar feeds.
const SECRET_PATHS: [&str; 5] = ["/j/", "/setup/", "/password/", "/ical/", "/r/"];

/// A request path as the log shows it: the credential in a link is replaced by `…`
/// (`/j/<key>/rsvp` is logged as `/j/…/rsvp`), so that logs never let anyone in.
pub fn log_path(path: &str) -> std::borrow::Cow<'_, str> {
    for prefix in SECRET_PATHS {
        if let Some(rest) = path.strip_prefix(prefix) {
            let after = rest.find('/').map_or("", |i| &rest[i..]);
            return std::borrow::Cow::Owned(format!("{prefix}…{after}"));
        }
    }
    std::borrow::Cow::Borrowed(path)
}

#[cfg(test)]
mod log_path_tests {
    use super::log_path;

    #[test]
    fn credentials_in_links_never_reach_the_log() {
        assert_eq!(log_path("/j/abcDEF_123/rsvp"), "/j/…/rsvp");
        assert_eq!(log_path("/j/abcDEF_123"), "/j/…");
        assert_eq!(log_path("/setup/tok"), "/setup/…");
        assert_eq!(log_path("/password/tok"), "/password/…");
        assert_eq!(log_path("/ical/u1-key.ics"), "/ical/…");
        assert_eq!(log_path("/sessions/abc/join"), "/sessions/abc/join");
        assert_eq!(log_path("/healthz"), "/healthz");
        assert_eq!(log_path("/r/abcDEF_123"), "/r/…");
    }
}
