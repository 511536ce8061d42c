//! Access rules by application, group, network and location (issue 23): a small MMDB built here
//! with PyPI's mmdb-writer (tests/geoip/make_mmdb.py) places the documentation ranges in
//! countries; the Auth API is asked with `ipaddr`, the portal from behind a trusted proxy, RADIUS
//! with a Calling-Station-Id, the Universal Prompt from the browser's address.

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::duo::{Client, Sig, add_application};
use crate::helpers::{PASSWORD, TestApp, location, spawn_app_with};
use crate::policies::{admin, save_policy};
use crate::push::user_with_app;

/// Addresses the test databases place: CH, KP (North Korea), FR, and an anonymous network.
const SWITZERLAND: &str = "198.51.100.7";
const NORTH_KOREA: &str = "203.0.113.5";
const FRANCE: &str = "192.0.2.44";
const ANONYMOUS: &str = "198.18.0.9";

/// The country and anonymous-network databases, written by mmdb-writer into a temporary folder.
pub(crate) fn databases() -> (TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (country, anonymous) = (dir.path().join("country.mmdb"), dir.path().join("anonymous.mmdb"));
    let out = std::process::Command::new("python3")
        .arg("tests/geoip/make_mmdb.py")
        .args([&country, &anonymous])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "make_mmdb.py failed (python3 -m pip install mmdb-writer): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, country, anonymous)
}

/// Twofold with both databases, behind a trusted proxy on 127.0.0.1.
pub(crate) async fn located_app() -> (TestApp, TempDir) {
    let (dir, country, anonymous) = databases();
    let app = spawn_app_with(move |s| {
        s.geoip.country_database = Some(country);
        s.geoip.anonymous_database = Some(anonymous);
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    (app, dir)
}

async fn scope_of(app: &TestApp, ikey: &str) -> String {
    let row = twofold::store::applications::by_integration_key(&app.db, ikey).await.unwrap().unwrap();
    format!("app:{}", row.id)
}

/// Saves an application's (or a group's at it) rules through the console; returns the status.
async fn save_level(admin: &TestApp, scope: &str, group: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let path = format!(
        "/admin/policies/application?app={}&group={}",
        url::form_urlencoded::byte_serialize(scope.as_bytes()).collect::<String>(),
        group
    );
    admin.post_form(&path, fields).await
}

async fn preauth(app: &TestApp, vpn: &Client, user: &str, ip: &str) -> Value {
    let (status, r) =
        vpn.call(app, "POST", "/auth/v2/preauth", &[("username", user), ("ipaddr", ip)], Sig::V5, 0).await;
    assert_eq!(status, 200, "{r}");
    r["response"].clone()
}

#[tokio::test]
async fn the_auth_api_judges_the_users_address_by_country_network_and_anonymity() {
    let (app, _dbs) = located_app().await;
    let root = admin(&app).await;
    let (ada, _) = user_with_app(&app, "ada").await;
    let vpn = add_application(&app, "Campus VPN").await;
    let saved = save_policy(
        &root,
        &[
            ("locations", "KP deny\n* require"),
            ("networks", "10.0.0.0/8 allow\n* require"),
            ("anonymous_networks", "deny"),
        ],
        &[],
    )
    .await;
    assert_eq!(location(&saved), "/admin/policies?saved=1");

    let r = preauth(&app, &vpn, "ada", NORTH_KOREA).await;
    assert_eq!(r["result"], "deny", "{r}");
    assert_eq!(
        r["status_msg"],
        "Access denied. Sign-ins from your current location are not allowed by Example University."
    );
    assert_eq!(preauth(&app, &vpn, "ada", SWITZERLAND).await["result"], "auth", "another country: as usual");
    let campus = preauth(&app, &vpn, "ada", "10.20.30.40").await;
    assert_eq!(
        (campus["result"].as_str(), campus["status_msg"].as_str()),
        (Some("allow"), Some(twofold::words::ALLOWED_WITHOUT_MFA))
    );
    let tor = preauth(&app, &vpn, "ada", ANONYMOUS).await;
    assert!(tor["status_msg"].as_str().unwrap().contains("anonymous networks"), "{tor}");

    // /auth refuses the factor from a denied place, and lets the campus through without one.
    let denied = [("username", "ada"), ("factor", "passcode"), ("passcode", "123456"), ("ipaddr", NORTH_KOREA)];
    let (_, r) = vpn.call(&app, "POST", "/auth/v2/auth", &denied, Sig::V5, 0).await;
    assert_eq!((r["response"]["result"].as_str(), r["response"]["status"].as_str()), (Some("deny"), Some("deny")));
    let campus = [("username", "ada"), ("factor", "push"), ("device", "auto"), ("ipaddr", "10.1.1.1")];
    let (_, r) = vpn.call(&app, "POST", "/auth/v2/auth", &campus, Sig::V5, 0).await;
    assert_eq!(r["response"]["result"], "allow", "{r}");
    assert_eq!(crate::radius::pushes_of(&app, &ada).await, "0", "no push was needed");

    // Audited with the address, the country and the rule; the failed guess was never counted.
    let audit = app.table_text("audit_log", &["event", "ip", "detail"]).await;
    assert!(
        audit.contains("access.denied 203.0.113.5 application Campus VPN")
            && audit.contains("(country KP); rule: location KP (global policy)"),
        "{audit}"
    );
    assert!(audit.contains("access.allowed_without_mfa 10.1.1.1"), "{audit}");
    assert!(audit.contains("rule: an anonymous network (global policy)"), "{audit}");
    assert!(!audit.contains("mfa.passcode 203.0.113.5"), "a denied request checks no passcode: {audit}");
}

#[tokio::test]
async fn an_application_and_a_group_at_it_override_the_global_rules_in_that_order() {
    let (app, _dbs) = located_app().await;
    let root = admin(&app).await;
    let (ada, _) = user_with_app(&app, "ada").await;
    app.sql(&format!("INSERT INTO user_groups (user_id, group_name) VALUES ('{ada}', 'staff')")).await;
    let vpn = add_application(&app, "Campus VPN").await;
    let wiki = add_application(&app, "Wiki").await;
    let scope = scope_of(&app, &vpn.ikey).await;
    save_policy(&root, &[("locations", "FR deny\n* require")], &[]).await;

    // The VPN accepts only push and allows France; staff at the VPN are denied everywhere but
    // Switzerland. The wiki keeps the global rules.
    let r =
        save_level(&root, &scope, "", &[("own_methods", "on"), ("method:push", "on"), ("locations", "FR allow")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(preauth(&app, &vpn, "ada", FRANCE).await["result"], "allow", "the application's rule wins");
    assert_eq!(preauth(&app, &wiki, "ada", FRANCE).await["result"], "deny", "the global rule elsewhere");
    let passcode = [("username", "ada"), ("factor", "passcode"), ("passcode", "123456"), ("ipaddr", SWITZERLAND)];
    let (_, r) = vpn.call(&app, "POST", "/auth/v2/auth", &passcode, Sig::V5, 0).await;
    assert!(r["response"]["status_msg"].as_str().unwrap().contains("cannot be used"), "push only: {r}");

    save_level(&root, &scope, "staff", &[("locations", "CH require\n* deny")]).await;
    assert_eq!(preauth(&app, &vpn, "ada", FRANCE).await["result"], "deny", "the group's rule at the VPN wins");
    assert_eq!(preauth(&app, &vpn, "ada", SWITZERLAND).await["result"], "auth");

    // The explainer says the same, naming each rule's level.
    let page = root
        .get_html(&format!(
            "/admin/policies/explain?user=ada&app={}&address={FRANCE}",
            url::form_urlencoded::byte_serialize(scope.as_bytes()).collect::<String>()
        ))
        .await;
    assert!(page.contains("From address 192.0.2.44 (country FR)."), "{page}");
    assert!(page.contains("Denied, by location FR, not listed (policy of group staff at Campus VPN)."), "{page}");
    assert!(page.contains("<td>Push (Twofold authenticator)</td><td>policy of Campus VPN</td>"), "{page}");
    // Clearing the group's rules hands the decision back to the application.
    save_level(&root, &scope, "staff", &[]).await;
    assert_eq!(preauth(&app, &vpn, "ada", FRANCE).await["result"], "allow");
    let audit = app.table_text("audit_log", &["event", "detail"]).await;
    assert!(
        audit.contains(
            "policy.changed group staff at Campus VPN: locations: CH require; * deny → (follows the level below)"
        ),
        "{audit}"
    );
}

#[tokio::test]
async fn new_users_are_enrolled_denied_or_let_through_as_the_application_says() {
    let (app, _dbs) = located_app().await;
    let root = admin(&app).await;
    app.add_user("newbie").await;
    let vpn = add_application(&app, "Campus VPN").await;
    let scope = scope_of(&app, &vpn.ikey).await;
    assert_eq!(preauth(&app, &vpn, "newbie", SWITZERLAND).await["result"], "enroll", "the default");
    save_level(&root, &scope, "", &[("new_user_policy", "deny")]).await;
    let r = preauth(&app, &vpn, "newbie", SWITZERLAND).await;
    assert_eq!(r["result"], "deny");
    assert!(r["status_msg"].as_str().unwrap().contains("not set up for two-step sign-in"), "{r}");
    save_level(&root, &scope, "", &[("new_user_policy", "allow")]).await;
    assert_eq!(preauth(&app, &vpn, "newbie", SWITZERLAND).await["result"], "allow");
    // The portal is where new users enrol: the rule does not keep them out of it.
    let newbie = app.other_browser();
    assert_eq!(location(&newbie.login("newbie", PASSWORD).await), "/prompt");
}

async fn login_from(app: &TestApp, address: &str) -> reqwest::Response {
    let token = crate::helpers::csrf_in(&app.get_html("/login").await);
    let fields = [("csrf_token", token.as_str()), ("username", "ada"), ("password", PASSWORD)];
    app.client.post(app.url("/login")).header("x-forwarded-for", address).form(&fields).send().await.unwrap()
}

#[tokio::test]
async fn the_portal_behind_a_trusted_proxy_denies_by_the_browsers_address_but_never_skips_the_second_factor() {
    let (app, _dbs) = located_app().await;
    let root = admin(&app).await;
    app.add_user("ada").await;
    save_policy(&root, &[("locations", "KP deny"), ("networks", "127.0.0.0/8 allow")], &[]).await;
    let ada = app.other_browser();
    let r = login_from(&ada, NORTH_KOREA).await;
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("Access denied. Sign-ins from your current location are not allowed by Example University."));
    assert_eq!(ada.get("/prompt").await.status(), 303, "no session was begun");
    assert_eq!(location(&login_from(&ada, SWITZERLAND).await), "/prompt");
    // An allowing network does not let anyone into the portal without the second factor.
    let local = app.other_browser();
    assert_eq!(location(&local.login("ada", PASSWORD).await), "/prompt");
}

#[tokio::test]
async fn without_a_trusted_proxy_a_forwarded_address_is_not_believed() {
    let (dir, country, _) = databases();
    let app = spawn_app_with(move |s| s.geoip.country_database = Some(country)).await;
    let root = admin(&app).await;
    app.add_user("ada").await;
    save_policy(&root, &[("locations", "KP deny")], &[]).await;
    assert_eq!(location(&login_from(&app.other_browser(), NORTH_KOREA).await), "/prompt");
    drop(dir);
}

#[tokio::test]
async fn radius_judges_the_calling_station_and_a_clients_own_rules() {
    let (dir, country, _) = databases();
    let app = crate::radius::radius_app_with(|_| {}, move |s| s.geoip.country_database = Some(country)).await;
    let root = admin(&app).await;
    let (_, phone) = crate::radius::vpn_user(&app, "ada").await;
    let r =
        save_level(&root, "radius:Campus VPN", "", &[("locations", "KP deny"), ("networks", "10.0.0.0/8 allow")]).await;
    assert_eq!(r.status(), 303);
    let reply = crate::radius::ask(&app, "ada", PASSWORD, &["--calling-station", NORTH_KOREA]).await;
    assert_eq!(crate::radius::code(&reply), "Access-Reject");
    assert!(reply["reply_message"].as_str().unwrap_or_default().contains("current location"), "{reply}");
    let reply = crate::radius::ask(&app, "ada", PASSWORD, &["--calling-station", "10.9.8.7"]).await;
    assert_eq!(crate::radius::code(&reply), "Access-Accept", "{reply}");
    // A wrong password is still wrong on the allowed network: the rules come after the first factor.
    let reply = crate::radius::ask(&app, "ada", "not the password", &["--calling-station", "10.9.8.7"]).await;
    assert_eq!(crate::radius::code(&reply), "Access-Reject");
    // Elsewhere, as usual: the password and a passcode.
    crate::radius::fresh_step().await;
    let with_code = format!("{PASSWORD},{}", crate::radius::passcode(&phone, 0));
    let reply = crate::radius::ask(&app, "ada", &with_code, &["--calling-station", SWITZERLAND]).await;
    assert_eq!(crate::radius::code(&reply), "Access-Accept", "{reply}");
    drop(dir);
}

#[tokio::test]
async fn the_universal_prompt_denies_with_a_page_or_goes_straight_back_to_the_application() {
    let (app, _dbs) = located_app().await;
    let root = admin(&app).await;
    user_with_app(&app, "ada").await;
    let wiki = crate::universal::add_web_app(&app, "Wiki", &[crate::universal::REDIRECT]).await;
    let scope = scope_of(&app, &wiki.ikey).await;
    let path = wiki.authorize_path(&wiki.request_jwt(&app, json!({})));
    let from = |address: &'static str| {
        let b = app.other_browser();
        let url = app.url(&path);
        async move { b.client.get(url).header("x-forwarded-for", address).send().await.unwrap() }
    };
    save_level(&root, &scope, "", &[("locations", "KP deny"), ("networks", "198.51.100.0/24 allow")]).await;
    let r = from(NORTH_KOREA).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Sign-ins from your current location are not allowed"));
    let r = from(SWITZERLAND).await;
    assert!(location(&r).starts_with("/oauth/v1/continue?code="), "no prompt on the allowed network: {}", location(&r));
    assert_eq!(location(&from(FRANCE).await), "/prompt", "elsewhere the prompt, as usual");
}

#[tokio::test]
async fn the_console_explains_mistakes_in_rules() {
    let (app, _dbs) = located_app().await;
    let root = admin(&app).await;
    let vpn = add_application(&app, "Campus VPN").await;
    let scope = scope_of(&app, &vpn.ikey).await;
    let r = save_level(&root, &scope, "", &[("networks", "campus allow"), ("locations", "XX deny")]).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("campus&#34; is not a network such as 192.0.2.0/24"), "{page}");
    assert!(page.contains("is not a two-letter ISO 3166 country code"), "{page}");
    assert!(page.contains("campus allow"), "what was typed stays on the page");
    let r = save_policy(&root, &[("networks", "10.0.0.0/33 allow")], &[]).await;
    assert_eq!(r.status(), 422);
    let r = root.get("/admin/policies/application?app=app:nothing-here").await;
    assert_eq!(r.status(), 404);
    let page = root.get_html("/admin/policies/explain?user=nobody&address=1.2.3.4").await;
    assert!(page.contains("No user is called"), "{page}");
}

#[tokio::test]
async fn a_trusted_browser_skips_the_universal_prompt_only_for_as_long_as_the_application_allows() {
    let (app, _dbs) = located_app().await;
    let root = admin(&app).await;
    app.signed_in_user("ada").await;
    assert_eq!(location(&app.post_form("/prompt/trust", &[("choice", "trust")]).await), "/settings");
    let wiki = crate::universal::add_web_app(&app, "Wiki", &[crate::universal::REDIRECT]).await;
    let scope = scope_of(&app, &wiki.ikey).await;
    let authorize = || wiki.authorize_path(&wiki.request_jwt(&app, json!({})));
    // The same browser (its trust cookie): straight back to the application.
    let back = location(&app.get(&authorize()).await);
    assert!(back.starts_with("/oauth/v1/continue?code="), "{back}");
    // The application trusts no browser: the prompt.
    save_level(&root, &scope, "", &[("trusted_browser_days", "0")]).await;
    assert_eq!(location(&app.get(&authorize()).await), "/prompt");
    let audit = app.table_text("audit_log", &["event", "detail"]).await;
    assert!(audit.contains("mfa.trusted_browser application Wiki"), "{audit}");
}
