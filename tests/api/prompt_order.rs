//! The prompt as people know it from Duo's Universal Prompt (issue 20): the method last used first,
//! "Other options" for the rest, a device chooser when there are several devices, and "Manage
//! devices". All of it plain HTML (these requests run no JavaScript).

use twofold::factors::totp::TotpSeed;

use crate::helpers::{PASSWORD, TestApp, element_text, location, now, spawn_app};
use crate::push::{answer, send_push, user_with_app};

/// The heading of the first method on the prompt (the one shown before "Other options").
pub(crate) fn first_method(page: &str) -> String {
    let before = &page[..page.find("<details class=\"other-options\"").unwrap_or(page.len())];
    let start = before.find("<section class=\"method\"").unwrap_or_else(|| panic!("a method first: {page}"));
    let h2 = &before[start..];
    let open = h2.find("<h2").expect("the method has a heading");
    let text_start = open + h2[open..].find('>').unwrap() + 1;
    h2[text_start..text_start + h2[text_start..].find("</h2>").unwrap()].to_string()
}

/// The headings of the methods under "Other options".
pub(crate) fn other_options(page: &str) -> Vec<String> {
    let Some(start) = page.find("<details class=\"other-options\"") else { return Vec::new() };
    let details = &page[start..start + page[start..].find("</details>").expect("closed")];
    assert!(details.contains("<summary>Other options</summary>"), "{details}");
    details
        .split("<h2 id=\"")
        .skip(1)
        .map(|s| {
            let s = &s[s.find('>').unwrap() + 1..];
            s[..s.find("</h2>").unwrap()].to_string()
        })
        .collect()
}

async fn sign_out_and_in(app: &TestApp, username: &str) {
    app.post_form("/logout", &[]).await;
    assert_eq!(location(&app.login(username, PASSWORD).await), "/prompt");
}

fn seed(secret: &str) -> TotpSeed {
    TotpSeed::from_base32(secret).expect("the app's seed")
}

#[tokio::test]
async fn a_user_who_last_used_a_passcode_gets_the_passcode_form_first_and_push_after_a_push() {
    let app = spawn_app().await;
    let (_, phone) = user_with_app(&app, "ada").await;

    // Nothing used yet: the push first (Duo's default), every other method under "Other options".
    let page = app.get_html("/prompt").await;
    assert_eq!(first_method(&page), "Send Me a Push");
    assert_eq!(other_options(&page), ["Enter a Passcode", "Call Me", "Text Me"]);

    // A sign-in with the app's passcode: next time "Enter a Passcode" comes first.
    let code = seed(&phone.totp_secret).code_at(now() as u64 + 30);
    assert_eq!(location(&app.post_form("/prompt/passcode", &[("passcode", &code)]).await), "/prompt/trust");
    sign_out_and_in(&app, "ada").await;
    let page = app.get_html("/prompt").await;
    assert_eq!(first_method(&page), "Enter a Passcode");
    assert!(page.contains(" autofocus"), "the field shown first has the focus");
    assert_eq!(other_options(&page), ["Send Me a Push", "Call Me", "Text Me"]);

    // A sign-in with a push: next time the push comes first again.
    let (id, number) = send_push(&app).await;
    assert_eq!(answer(&app, &phone, &id, "approve", &number).await.0, 200);
    assert_eq!(location(&app.post_form(&format!("/prompt/push/{id}/finish"), &[]).await), "/prompt/trust");
    sign_out_and_in(&app, "ada").await;
    let page = app.get_html("/prompt").await;
    assert_eq!(first_method(&page), "Send Me a Push");
    assert_eq!(other_options(&page), ["Enter a Passcode", "Call Me", "Text Me"]);
}

#[tokio::test]
async fn other_options_opens_by_address_and_after_a_mistake_and_links_to_manage_devices() {
    let app = spawn_app().await;
    user_with_app(&app, "ada").await;
    let page = app.get_html("/prompt").await;
    assert!(page.contains("<details class=\"other-options\" id=\"other-options\">"), "closed at first");
    assert!(page.contains("<a href=\"/settings\">Manage devices</a>"), "Manage devices");
    let page = app.get_html("/prompt?other=1").await;
    assert!(page.contains("<details class=\"other-options\" id=\"other-options\" open>"), "?other=1 opens it");

    // A wrong passcode: the page says so with every method at hand.
    let r = app.post_form("/prompt/passcode", &[("passcode", "000000")]).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("Incorrect passcode"), "{page}");
    assert!(page.contains("id=\"other-options\" open>"), "open after a mistake");

    // "Manage devices" leads to My Settings & Devices once the second factor is given.
    assert_eq!(location(&app.get("/settings").await), "/prompt");
}

/// Adds an iPad with an authenticator app (passcodes only) for a user who just verified.
pub(crate) async fn add_tablet(app: &TestApp) -> TotpSeed {
    assert_eq!(location(&app.post_form("/enroll/start", &[]).await), "/enroll/device-type");
    assert_eq!(location(&app.post_form("/enroll/device-type", &[("kind", "tablet")]).await), "/enroll/platform");
    assert_eq!(location(&app.post_form("/enroll/platform", &[("platform", "ipad")]).await), "/enroll/install");
    assert_eq!(location(&app.post_form("/enroll/install", &[]).await), "/enroll/activate");
    let page = app.get_html("/enroll/activate").await;
    let seed = TotpSeed::from_base32(&element_text(&page, "setup-key")).expect("the setup key");
    let r = app.post_form("/enroll/activate", &[("passcode", &seed.code_at(now() as u64))]).await;
    assert_eq!(location(&r), "/enroll/options");
    let r = app.post_form("/enroll/options", &[("name", "My iPad"), ("login_action", "ask")]).await;
    assert_eq!(location(&r), "/enroll/done");
    seed
}

#[tokio::test]
async fn the_device_chooser_shows_the_methods_of_the_chosen_device_and_remembers_the_last_one() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in_user("ada").await;
    let tablet_seed = add_tablet(&app).await;
    let devices = twofold::store::devices::list_for_user(&app.db, &user.id).await.unwrap();
    let id = |name: &str| devices.iter().find(|d| d.name == name).unwrap().id.clone();
    let (iphone, ipad) = (id("My iPhone"), id("My iPad"));
    sign_out_and_in(&app, "ada").await;

    // Two devices: a chooser (a plain GET form), the iPhone chosen (the last one used).
    let page = app.get_html("/prompt").await;
    assert!(page.contains("<form method=\"get\" action=\"/prompt\" class=\"device-chooser\">"), "{page}");
    assert!(page.contains(&format!("<option value=\"{iphone}\" selected>My iPhone</option>")), "{page}");
    assert!(page.contains(&format!("<option value=\"{ipad}\">My iPad</option>")));
    assert_eq!(first_method(&page), "Enter a Passcode");
    assert_eq!(other_options(&page), ["Call Me", "Text Me"]);

    // Choosing the iPad: its methods only (no calls to a tablet).
    let page = app.get_html(&format!("/prompt?device={ipad}")).await;
    assert!(page.contains(&format!("<option value=\"{ipad}\" selected>My iPad</option>")), "{page}");
    assert_eq!(first_method(&page), "Enter a Passcode");
    assert!(!page.contains("Call Me") && !page.contains("Text Me"), "{page}");

    // A sign-in with the iPad's passcode: the iPad is chosen next time; a device that is not
    // the user's is ignored.
    let code = tablet_seed.code_at(now() as u64 + 30);
    assert_eq!(location(&app.post_form("/prompt/passcode", &[("passcode", &code)]).await), "/prompt/trust");
    sign_out_and_in(&app, "ada").await;
    for path in ["/prompt".to_string(), "/prompt?device=someone-elses".to_string()] {
        let page = app.get_html(&path).await;
        assert!(page.contains(&format!("<option value=\"{ipad}\" selected>My iPad</option>")), "{path}: {page}");
    }
    let page = app.get_html(&format!("/prompt?device={iphone}")).await;
    assert_eq!(other_options(&page), ["Call Me", "Text Me"]);
}

#[tokio::test]
async fn a_phone_without_an_app_offers_the_call_first_then_what_was_used_last() {
    let app = spawn_app().await;
    let root = crate::phones::admin(&app).await;
    let (id, number) = crate::phones::mobile_only_user(&app, "ada", "ask").await;
    let page = app.get_html("/prompt").await;
    assert_eq!(first_method(&page), "Call Me");
    assert_eq!(other_options(&page), ["Text Me", "Enter a Passcode"]);
    let device = twofold::store::phone_devices::for_user(&app.db, &app.keys, &id).await.unwrap().remove(0).id;

    // "Text Me": the code is to be entered, so "Enter a Passcode" comes first.
    let earlier = app.texted_codes(&number).await;
    assert_eq!(location(&app.post_form("/prompt/text", &[("device", &device)]).await), "/prompt");
    let page = app.get_html("/prompt").await;
    assert_eq!(first_method(&page), "Enter a Passcode");
    assert!(page.contains("We texted you a passcode"));
    let code = crate::phones::fresh_codes(&app, &number, &earlier).await.remove(0);
    assert_eq!(location(&app.post_form("/prompt/passcode", &[("passcode", &code)]).await), "/prompt/trust");
    sign_out_and_in(&app, "ada").await;
    let page = app.get_html("/prompt").await;
    assert_eq!(first_method(&page), "Text Me");
    assert_eq!(other_options(&page), ["Call Me", "Enter a Passcode"]);

    // A call answered: "Call Me" first again.
    assert_eq!(location(&app.post_form("/prompt/call", &[("device", &device)]).await), "/prompt/call");
    let call = crate::phones::ringing_call(&app, &id).await;
    root.post_form(&format!("/simulator/phone/calls/{call}/answer"), &[("key", "5")]).await;
    assert_eq!(location(&app.post_form("/prompt/call/continue", &[]).await), "/prompt/trust");
    sign_out_and_in(&app, "ada").await;
    assert_eq!(first_method(&app.get_html("/prompt").await), "Call Me");
}

#[tokio::test]
async fn each_application_remembers_its_own_last_method() {
    use crate::universal::{REDIRECT, add_web_app};
    let app = spawn_app().await;
    let (_, phone) = user_with_app(&app, "ada").await;
    let code = seed(&phone.totp_secret).code_at(now() as u64 + 30);
    assert_eq!(location(&app.post_form("/prompt/passcode", &[("passcode", &code)]).await), "/prompt/trust");
    let wiki = add_web_app(&app, "Wiki", &[REDIRECT]).await;

    // The Universal Prompt for the wiki: nothing used there yet, so the push comes first.
    let at_wiki = app.other_browser();
    let r = at_wiki.get(&wiki.authorize_path(&wiki.request_jwt(&app, serde_json::json!({})))).await;
    assert_eq!(location(&r), "/prompt");
    let page = at_wiki.get_html("/prompt").await;
    assert!(page.contains("Verify it's you to continue to <strong>Wiki</strong>"), "{page}");
    assert_eq!(first_method(&page), "Send Me a Push");
    assert!(!page.contains("Manage devices"), "an application's sign-in goes back to it, not to the settings");
    let (id, number) = send_push(&at_wiki).await;
    assert_eq!(answer(&app, &phone, &id, "approve", &number).await.0, 200);
    let r = at_wiki.post_form(&format!("/prompt/push/{id}/finish"), &[]).await;
    assert!(location(&r).starts_with("/oauth/v1/continue?code="), "{}", location(&r));

    // The wiki's next sign-in offers the push; the portal still offers the passcode first.
    let again = app.other_browser();
    again.get(&wiki.authorize_path(&wiki.request_jwt(&app, serde_json::json!({})))).await;
    assert_eq!(first_method(&again.get_html("/prompt").await), "Send Me a Push");
    sign_out_and_in(&app, "ada").await;
    assert_eq!(first_method(&app.get_html("/prompt").await), "Enter a Passcode");
}
