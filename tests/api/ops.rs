//! Operations: liveness, readiness and Prometheus metrics, on the main address (loopback only by
//! default) or on a separate metrics listener.

use twofold::app::Application;

use crate::helpers::{spawn_app, spawn_app_with, test_settings};

#[tokio::test]
async fn the_browser_finds_the_tab_icon() {
    let app = spawn_app().await;
    let r = app.get("/favicon.ico").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/x-icon");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..4], &[0, 0, 1, 0], "an ICO file");
    assert_eq!(&bytes[22..30], b"\x89PNG\r\n\x1a\n", "with a PNG inside");
    assert!(app.get_html("/login").await.contains(r#"<link rel="icon" href="/favicon.ico""#));
}

#[tokio::test]
async fn health_and_readiness_answer_while_the_database_does() {
    let app = spawn_app().await;
    let r = app.get("/healthz").await;
    assert_eq!((r.status().as_u16(), r.text().await.unwrap()), (200, "ok".to_string()));
    let r = app.get("/readyz").await;
    assert_eq!((r.status().as_u16(), r.text().await.unwrap()), (200, "ready".to_string()));
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_second_factor_results_by_method() {
    let app = spawn_app().await;
    let (_, _) = app.signed_in_user("ada").await;
    app.get("/settings/devices/not-a-device").await;
    let b = app.other_browser();
    b.login("ada", crate::helpers::PASSWORD).await;
    b.post_form("/prompt/passcode", &[("passcode", "000000")]).await;

    let r = app.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = r.text().await.unwrap();
    assert!(text.contains(r#"twofold_http_requests_total{method="GET",route="/login",status="200"}"#), "{text}");
    assert!(text.contains(r#"route="/settings/devices/{id}""#), "route patterns, never raw paths: {text}");
    assert!(!text.contains("not-a-device"), "{text}");
    assert!(text.contains(r#"twofold_security_events_total{event="mfa.passcode",outcome="success"} 1"#), "{text}");
    assert!(text.contains(r#"twofold_security_events_total{event="mfa.passcode",outcome="failure"} 1"#), "{text}");
    assert!(text.contains(r#"twofold_http_request_duration_seconds_bucket{le="#), "{text}");
    assert!(text.contains("twofold_pushes_pending 0"), "{text}");
}

#[tokio::test]
async fn metrics_are_not_served_to_clients_outside_the_allowed_addresses() {
    // Behind a proxy on this machine, the client is the forwarded address, not the proxy.
    let app = spawn_app_with(|s| s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let outside = app.client.get(app.url("/metrics")).header("X-Forwarded-For", "203.0.113.9").send().await.unwrap();
    assert_eq!(outside.status(), 404);
    let inside = app.client.get(app.url("/metrics")).header("X-Forwarded-For", "127.0.0.1").send().await.unwrap();
    assert_eq!(inside.status(), 200);

    let off = spawn_app_with(|s| s.metrics.enabled = false).await;
    assert_eq!(off.get("/metrics").await.status(), 404);
}

#[tokio::test]
async fn a_separate_metrics_listener_serves_metrics_and_the_main_address_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), crate::helpers::fresh_database_url().await);
    settings.metrics.bind = Some("127.0.0.1:0".into());
    let app = Application::build(settings).await.unwrap();
    let (main, metrics) = (app.port(), app.metrics_port().expect("a metrics listener"));
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();
    let get = |port: u16, path: &'static str| {
        let http = http.clone();
        async move { http.get(format!("http://127.0.0.1:{port}{path}")).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get(main, "/login").await, 200);
    assert_eq!(get(main, "/metrics").await, 404);
    assert_eq!(get(metrics, "/metrics").await, 200);
    assert_eq!(get(metrics, "/readyz").await, 200);
    assert_eq!(get(metrics, "/login").await, 404, "only the operations endpoints");
    let text = http.get(format!("http://127.0.0.1:{metrics}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains(r#"route="/login",status="200""#), "{text}");
}
