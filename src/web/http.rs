//! Small pieces every page handler uses: rendering a page, the client's address, GET routes.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::error::AppError;
use super::state::AppState;

/// A GET route that answers HEAD too (monitors and link checkers send HEAD; GET never changes state).
pub(crate) fn get() -> actix_web::Route {
    web::route().guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head()))
}

/// Renders a page with a status. Pages are never cached (they may show secrets or personal data).
pub fn html<T: Template>(status: StatusCode, page: &T) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(page.render()?))
}

/// The client's address: the TCP peer, or, when the peer is a configured trusted proxy, the
/// nearest address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(req: &HttpRequest) -> Option<String> {
    let peer = req.peer_addr()?.ip();
    let trusted = req.app_data::<web::Data<AppState>>().map(|s| s.settings.trusted_proxies.as_slice()).unwrap_or(&[]);
    Some(
        client_address(peer, req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok()), trusted)
            .to_string(),
    )
}

fn client_address<'a>(
    peer: std::net::IpAddr,
    forwarded: impl Iterator<Item = &'a str>,
    trusted: &[std::net::IpAddr],
) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<std::net::IpAddr> =
        forwarded.flat_map(|h| h.split(',')).filter_map(|a| a.trim().parse().ok()).collect();
    // Walk from the nearest hop outwards; the first one we do not run is the client as far as we can tell.
    hops.into_iter().rev().find(|a| !trusted.contains(a)).unwrap_or(peer)
}

/// Anything not routed: a page for GET and HEAD, 405 otherwise.
pub(crate) async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    if req.method() == actix_web::http::Method::GET || req.method() == actix_web::http::Method::HEAD {
        Err(AppError::NotFound)
    } else {
        Ok(HttpResponse::MethodNotAllowed().finish())
    }
}

#[cfg(test)]
mod tests {
    use super::client_address;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let proxy = ip("10.0.0.2");
        let header = ["203.0.113.9, 198.51.100.7"];
        assert_eq!(client_address(ip("192.0.2.1"), header.into_iter(), &[proxy]), ip("192.0.2.1"), "untrusted peer");
        assert_eq!(client_address(proxy, header.into_iter(), &[proxy]), ip("198.51.100.7"), "nearest untrusted hop");
        assert_eq!(
            client_address(proxy, ["203.0.113.9, 10.0.0.3"].into_iter(), &[proxy, ip("10.0.0.3")]),
            ip("203.0.113.9")
        );
        assert_eq!(client_address(proxy, ["garbage"].into_iter(), &[proxy]), proxy, "no usable hop");
    }
}
