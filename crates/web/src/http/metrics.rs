//! `/metrics` for Prometheus, and the counting of every HTTP request by route template.
//!
//! Who may scrape (`[metrics]`): nobody when disabled (404); otherwise a client whose address is
//! in `allow` (loopback by default), or one presenting `token` as a bearer (compared in constant
//! time). A wrong token, or an address outside `allow` without the token, gets 403. The address
//! is the client's as `http.trusted_proxies` tell it; a request forwarded by a proxy that is not
//! trusted (an `X-Forwarded-For` from an untrusted peer) is not let in by address, since its
//! real client is unknown (a local nginx in front would otherwise make every visitor local).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;

use crate::http::context::client_ip;
use crate::http::state::AppState;

/// Who may read `/metrics`. `Debug` hides the token.
#[derive(Clone)]
pub struct MetricsAccess {
    pub enabled: bool,
    /// Client addresses let in without a token.
    pub allow: Vec<IpNet>,
    /// A bearer token that lets in from anywhere.
    pub token: Option<String>,
}

impl std::fmt::Debug for MetricsAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsAccess")
            .field("enabled", &self.enabled)
            .field("allow", &self.allow)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .finish()
    }
}

impl Default for MetricsAccess {
    fn default() -> Self {
        MetricsAccess {
            enabled: true,
            allow: vec![
                IpNet::from(IpAddr::from([127, 0, 0, 1])),
                IpNet::from(IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
            ],
            token: None,
        }
    }
}

/// Where the route-template layer leaves the template of the route that answered.
#[derive(Clone, Default)]
pub struct RouteSlot(Arc<OnceLock<String>>);

/// Around every request: counts it by method, route template and status, and times it.
/// Requests that matched no route are counted as `unmatched`.
pub async fn track(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let slot = RouteSlot::default();
    req.extensions_mut().insert(slot.clone());
    let response = next.run(req).await;
    let route = slot.0.get().map_or("unmatched", String::as_str);
    app.service().metrics().http_request(
        method.as_str(),
        route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

/// On matched routes only: records the route template for [`track`].
pub async fn mark_route(req: Request, next: Next) -> Response {
    if let (Some(slot), Some(path)) = (
        req.extensions().get::<RouteSlot>(),
        req.extensions().get::<MatchedPath>(),
    ) {
        let _ = slot.0.set(path.as_str().to_owned());
    }
    next.run(req).await
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut response = (status, text).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Whether the request may read the metrics: `Err` is the refusal to send.
type Refusal = (StatusCode, &'static str);

fn admitted(access: &MetricsAccess, peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> Result<(), Refusal> {
    if !access.enabled {
        return Err((StatusCode::NOT_FOUND, "not found\n"));
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    if let Some(presented) = presented {
        let expected = access.token.as_deref().unwrap_or_default();
        // Hashes first, so that the comparison takes the same time whatever the lengths.
        let same = service::crypto::constant_time_eq(
            service::crypto::storage_hash(presented).as_bytes(),
            service::crypto::storage_hash(expected).as_bytes(),
        );
        return if access.token.is_some() && same {
            Ok(())
        } else {
            Err((StatusCode::FORBIDDEN, "forbidden: wrong metrics token\n"))
        };
    }
    let peer_trusted = trusted.iter().any(|net| net.contains(&peer));
    let forwarded_by_untrusted = !peer_trusted && headers.contains_key("x-forwarded-for");
    let client = client_ip(peer, headers, trusted);
    if !forwarded_by_untrusted && access.allow.iter().any(|net| net.contains(&client)) {
        Ok(())
    } else {
        Err((
            StatusCode::FORBIDDEN,
            "forbidden: this address may not read the metrics (see [metrics] allow and token)\n",
        ))
    }
}

/// `GET /metrics`.
pub async fn metrics(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Err((status, text)) = admitted(&app.http().metrics, peer.ip(), &headers, &app.http().trusted_proxies) {
        return plain(status, text);
    }
    match app.service().metrics().render(app.service()).await {
        Ok(text) => {
            let mut response = (StatusCode::OK, text).into_response();
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "metrics could not be read");
            plain(StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(token: Option<&str>) -> MetricsAccess {
        MetricsAccess {
            token: token.map(str::to_owned),
            ..MetricsAccess::default()
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn loopback_is_let_in_unless_an_untrusted_proxy_forwarded_it() {
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(admitted(&access(None), local, &HeaderMap::new(), &[]).is_ok());
        let forwarded = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert!(admitted(&access(None), local, &forwarded, &[]).is_err());
        // The same proxy, trusted: its client is known and is not local.
        let trusted = ["127.0.0.1/32".parse().unwrap()];
        assert!(admitted(&access(None), local, &forwarded, &trusted).is_err());
        let local_client = headers(&[("x-forwarded-for", "127.0.0.1")]);
        assert!(admitted(&access(None), local, &local_client, &trusted).is_ok());
    }

    #[test]
    fn the_token_lets_in_from_anywhere_and_a_wrong_one_never() {
        let far: IpAddr = "203.0.113.9".parse().unwrap();
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let good = headers(&[("authorization", "Bearer s3cret-token")]);
        let bad = headers(&[("authorization", "Bearer s3cret-tokeN")]);
        assert!(admitted(&access(Some("s3cret-token")), far, &good, &[]).is_ok());
        assert!(admitted(&access(Some("s3cret-token")), far, &bad, &[]).is_err());
        assert!(admitted(&access(Some("s3cret-token")), local, &bad, &[]).is_err());
        assert!(admitted(&access(None), local, &good, &[]).is_err());
        assert!(admitted(&access(Some("s3cret-token")), far, &HeaderMap::new(), &[]).is_err());
    }

    #[test]
    fn disabled_is_not_found() {
        let off = MetricsAccess {
            enabled: false,
            ..MetricsAccess::default()
        };
        let refusal = admitted(&off, "127.0.0.1".parse().unwrap(), &HeaderMap::new(), &[]).unwrap_err();
        assert_eq!(refusal.0, StatusCode::NOT_FOUND);
    }
}
