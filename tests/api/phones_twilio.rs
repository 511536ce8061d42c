//! The Twilio-compatible adapter against a local stand-in for the carrier that records the exact
//! requests, and the signed webhooks posted back as the carrier would (T38, T39).

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use twofold::channels::telephony::signature;
use twofold::channels::telephony::{CarrierError, PhoneError, Phones};
use twofold::config::TelephonyMode;
use twofold::domain::PhoneNumber;

use crate::helpers::{TestApp, now, spawn_app_with};

const SID: &str = "AC00000000000000000000000000000001";
const TOKEN: &str = "test-auth-token-1";

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: String,
    form: Vec<(String, String)>,
}

#[derive(Clone)]
struct Carrier {
    seen: Arc<Mutex<Vec<Seen>>>,
    /// HTTP status the stand-in answers with.
    status: Arc<Mutex<u16>>,
    delay_ms: Arc<Mutex<u64>>,
}

async fn carrier_endpoint(req: HttpRequest, body: web::Bytes, carrier: web::Data<Carrier>) -> HttpResponse {
    let seen = Seen {
        path: req.path().to_string(),
        authorization: req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_string(),
        form: url::form_urlencoded::parse(&body).into_owned().collect(),
    };
    carrier.seen.lock().unwrap().push(seen);
    let delay = *carrier.delay_ms.lock().unwrap();
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    let status = *carrier.status.lock().unwrap();
    let sid = if req.path().ends_with("Calls.json") { "CA0000000001" } else { "SM0000000001" };
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .json(serde_json::json!({ "sid": sid, "message": "stand-in says no" }))
}

/// Starts the stand-in carrier on a free port; returns its base URL.
fn start_carrier() -> (Carrier, String) {
    let carrier = Carrier { seen: Default::default(), status: Arc::new(Mutex::new(201)), delay_ms: Default::default() };
    let data = web::Data::new(carrier.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(carrier_endpoint)))
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
    tokio::spawn(server);
    (carrier, format!("http://127.0.0.1:{port}"))
}

async fn twilio_app(base_url: &str) -> TestApp {
    let base = base_url.to_string();
    spawn_app_with(move |s| {
        s.telephony.mode = TelephonyMode::Twilio;
        s.telephony.account_sid = SID.into();
        s.telephony.auth_token = TOKEN.into();
        s.telephony.from_number = "+12045550100".into();
        s.telephony.base_url = base;
        s.telephony.timeout_seconds = 1;
    })
    .await
}

/// The `Phones` service the app runs, on the same database and keys.
fn phones(app: &TestApp) -> Phones {
    let keys = app.keys.clone();
    let public = url::Url::parse(&app.address).unwrap();
    Phones::new(&app.settings.telephony, "Example University", app.db.clone(), keys, public).unwrap()
}

fn number() -> PhoneNumber {
    PhoneNumber::from_e164("+12045550123").unwrap()
}

fn value<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

#[tokio::test]
async fn texts_go_to_the_messages_api_with_basic_auth_and_the_exact_fields() {
    let (carrier, base) = start_carrier();
    let app = twilio_app(&base).await;
    let user = app.add_user("ada").await;
    phones(&app).send_codes(ada(&user.id), &number(), "login", now()).await.unwrap();
    let seen = carrier.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "one request, no retry");
    assert_eq!(seen[0].path, format!("/2010-04-01/Accounts/{SID}/Messages.json"));
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"));
    assert_eq!(seen[0].authorization, format!("Basic {basic}"));
    assert_eq!(value(&seen[0].form, "To"), "+12045550123");
    assert_eq!(value(&seen[0].form, "From"), "+12045550100");
    let body = value(&seen[0].form, "Body");
    assert!(body.starts_with("Example University passcode: ") && body.contains("Expires in 10 minutes"), "{body}");
    let stored = app.table_text("phone_codes", &["code_hash"]).await;
    let code: String = body.chars().filter(char::is_ascii_digit).take(7).collect();
    assert!(!stored.contains(&code), "only a keyed hash is stored");
}

#[tokio::test]
async fn calls_carry_twiml_gather_and_webhooks_under_the_public_url() {
    let (carrier, base) = start_carrier();
    let app = twilio_app(&base).await;
    let user = app.add_user("ada").await;
    let id = phones(&app).start_call(ada(&user.id), &number(), Some("42"), "login", now()).await.unwrap();
    let seen = carrier.seen.lock().unwrap().clone();
    assert_eq!(seen[0].path, format!("/2010-04-01/Accounts/{SID}/Calls.json"));
    let twiml = value(&seen[0].form, "Twiml");
    let gather = format!(
        r#"<Gather numDigits="1" timeout="15" method="POST" action="{}/telephony/twilio/gather/{id}">"#,
        app.address
    );
    assert!(twiml.contains(&gather), "{twiml}");
    assert!(twiml.contains("Someone is signing in as ada") && twiml.contains("press 9"), "{twiml}");
    assert_eq!(value(&seen[0].form, "StatusCallback"), format!("{}/telephony/twilio/status/{id}", app.address));
    assert_eq!(value(&seen[0].form, "SendDigits"), "wwww42", "the extension is dialled after connecting");
    let call = twofold::store::phone_calls::by_id(&app.db, &app.keys, &id).await.unwrap().unwrap();
    assert_eq!(call.provider_sid.as_deref(), Some("CA0000000001"));
}

#[tokio::test]
async fn a_carrier_failure_or_timeout_is_reported_once_without_a_retry() {
    let (carrier, base) = start_carrier();
    let app = twilio_app(&base).await;
    let user = app.add_user("ada").await;
    *carrier.status.lock().unwrap() = 503;
    let err = phones(&app).send_codes(ada(&user.id), &number(), "login", now()).await.unwrap_err();
    assert!(matches!(err, PhoneError::Carrier(CarrierError::Unavailable(503))), "{err:?}");
    assert_eq!(carrier.seen.lock().unwrap().len(), 1, "a request that reached the carrier is never repeated");
    *carrier.status.lock().unwrap() = 201;
    *carrier.delay_ms.lock().unwrap() = 2500;
    let err = phones(&app).start_call(ada(&user.id), &number(), None, "login", now()).await.unwrap_err();
    assert!(matches!(err, PhoneError::Carrier(CarrierError::Timeout)), "{err:?}");
    assert_eq!(carrier.seen.lock().unwrap().len(), 2);
    let events = app.audit_events(&user.id).await;
    assert!(events.iter().filter(|(e, _)| e == "phone.carrier_error").count() == 2, "{events:?}");
    let log = app.table_text("audit_log", &["detail"]).await;
    assert!(!log.contains(TOKEN) && !log.contains(SID), "no credentials in the audit log");
}

#[tokio::test]
async fn an_unreachable_carrier_is_tried_a_bounded_number_of_times() {
    // Nothing listens on this port: every attempt fails to connect, so nothing was ever sent.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = twilio_app(&base).await;
    let user = app.add_user("ada").await;
    let err = phones(&app).send_codes(ada(&user.id), &number(), "login", now()).await.unwrap_err();
    assert!(matches!(err, PhoneError::Carrier(CarrierError::Unreachable(_))), "{err:?}");
}

/// Posts a webhook to the app as the carrier would, with `signature` (or none).
async fn webhook(app: &TestApp, path: &str, form: &[(&str, &str)], signature: Option<&str>) -> u16 {
    let mut request = app.client.post(app.url(path)).form(form);
    if let Some(s) = signature {
        request = request.header("X-Twilio-Signature", s);
    }
    request.send().await.unwrap().status().as_u16()
}

fn owned(form: &[(&str, &str)]) -> Vec<(String, String)> {
    form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The Twilio SDK's own RequestValidator (PyPI `twilio`) as an oracle.
fn python_signature(token: &str, url: &str, form: &[(&str, &str)]) -> String {
    let params: serde_json::Map<String, serde_json::Value> =
        form.iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string()))).collect();
    let script = "import sys, json\nfrom twilio.request_validator import RequestValidator\n\
                  print(RequestValidator(sys.argv[1]).compute_signature(sys.argv[2], json.loads(sys.argv[3])))";
    let out = std::process::Command::new("python3")
        .args(["-c", script, token, url, &serde_json::Value::Object(params).to_string()])
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "twilio's RequestValidator: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test]
async fn webhooks_are_accepted_only_with_the_carriers_signature_over_the_public_url() {
    let (_carrier, base) = start_carrier();
    let app = twilio_app(&base).await;
    let user = app.add_user("ada").await;
    let id = phones(&app).start_call(ada(&user.id), &number(), None, "login", now()).await.unwrap();
    let path = format!("/telephony/twilio/gather/{id}");
    let url = format!("{}{path}", app.address);
    let form = [("CallSid", "CA0000000001"), ("Digits", "1"), ("From", "+12045550100"), ("To", "+12045550123")];
    let good = signature::compute(TOKEN, &url, &owned(&form));
    assert_eq!(good, python_signature(TOKEN, &url, &form), "the same signature as Twilio's SDK");
    assert_eq!(
        python_signature(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            &[
                ("CallSid", "CA1234567890ABCDE"),
                ("Caller", "+12349013030"),
                ("Digits", "1234"),
                ("From", "+12349013030"),
                ("To", "+18005551212"),
            ]
        ),
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
        "the oracle reproduces the published vector"
    );

    // Tampered parameter, missing header, another scheme or port: refused, nothing changes.
    let mut tampered = form;
    tampered[1] = ("Digits", "9");
    assert_eq!(webhook(&app, &path, &tampered, Some(&good)).await, 403);
    assert_eq!(webhook(&app, &path, &form, None).await, 403);
    let https = url.replacen("http://", "https://", 1);
    assert_eq!(webhook(&app, &path, &form, Some(&signature::compute(TOKEN, &https, &owned(&form)))).await, 403);
    let other_port = format!("http://127.0.0.1:1{path}");
    assert_eq!(webhook(&app, &path, &form, Some(&signature::compute(TOKEN, &other_port, &owned(&form)))).await, 403);
    let call = twofold::store::phone_calls::by_id(&app.db, &app.keys, &id).await.unwrap().unwrap();
    assert_eq!(call.status, "ringing");

    // The genuine key press answers the call; a replay changes nothing.
    assert_eq!(webhook(&app, &path, &form, Some(&good)).await, 200);
    assert_eq!(twofold::store::phone_calls::by_id(&app.db, &app.keys, &id).await.unwrap().unwrap().status, "answered");
    let status_path = format!("/telephony/twilio/status/{id}");
    let status_form = [("CallSid", "CA0000000001"), ("CallStatus", "completed")];
    let status_sig = signature::compute(TOKEN, &format!("{}{status_path}", app.address), &owned(&status_form));
    assert_eq!(webhook(&app, &status_path, &status_form, Some(&status_sig)).await, 204);
    assert_eq!(twofold::store::phone_calls::by_id(&app.db, &app.keys, &id).await.unwrap().unwrap().status, "answered");
}

#[tokio::test]
async fn a_busy_line_reported_by_the_status_webhook_ends_the_call() {
    let (_carrier, base) = start_carrier();
    let app = twilio_app(&base).await;
    let user = app.add_user("ada").await;
    let id = phones(&app).start_call(ada(&user.id), &number(), None, "login", now()).await.unwrap();
    let path = format!("/telephony/twilio/status/{id}");
    let form = [("CallSid", "CA0000000001"), ("CallStatus", "busy")];
    let sig = signature::compute(TOKEN, &format!("{}{path}", app.address), &owned(&form));
    assert_eq!(webhook(&app, &path, &form, Some(&sig)).await, 204);
    assert_eq!(twofold::store::phone_calls::by_id(&app.db, &app.keys, &id).await.unwrap().unwrap().status, "busy");
}

/// Ada, as the recipient of a text or call (no device: as when a number is being verified).
fn ada(user_id: &str) -> twofold::channels::telephony::Recipient<'_> {
    twofold::channels::telephony::Recipient { user_id, username: "ada", device_id: None }
}
