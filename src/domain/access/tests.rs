use super::*;
use crate::domain::policy::Method;

fn global() -> Global {
    Global {
        methods: MethodSet::all(),
        new_user: NewUser::Enroll,
        networks: None,
        locations: None,
        anonymous: None,
        trusted_browser_days: 30,
    }
}

fn rules(pairs: &[(&str, &str)]) -> Rules {
    let mut r = Rules::default();
    for (k, v) in pairs {
        r.set(k, v).unwrap();
    }
    r
}

fn at(address: &str, country: Option<&str>) -> Where {
    Where { address: address.parse().ok(), country: country.map(String::from), anonymous: false }
}

#[test]
fn networks_parse_match_the_most_specific_and_read_back() {
    let n = Networks::parse("10.0.0.0/8 allow\n10.9.0.0/16 deny; 2001:db8::/32 allow\n* deny").unwrap();
    assert_eq!(n.action("10.1.2.3".parse().ok()), (Action::Allow, "10.0.0.0/8".parse().ok()));
    assert_eq!(n.action("10.9.2.3".parse().ok()).0, Action::Deny, "the longer prefix wins");
    assert_eq!(n.action("::ffff:10.1.2.3".parse().ok()).0, Action::Allow, "IPv4-mapped addresses match");
    assert_eq!(n.action("2001:db8::1".parse().ok()).0, Action::Allow);
    assert_eq!(n.action("192.0.2.1".parse().ok()), (Action::Deny, None));
    assert_eq!(n.action(None), (Action::Deny, None), "an unknown address is 'everything else'");
    assert_eq!(Networks::parse(&n.to_stored()).unwrap(), n);
    assert_eq!(Networks::parse("192.0.2.7 allow").unwrap().to_stored(), "192.0.2.7/32 allow; * require");
    assert_eq!(Networks::parse("10.1.2.3/8 allow").unwrap().to_stored(), "10.0.0.0/8 allow; * require");
}

#[test]
fn bad_network_and_location_lines_are_named() {
    let e = |r: Result<Networks, InputError>| r.unwrap_err().0;
    assert!(e(Networks::parse("campus allow")).contains("\"campus\" is not a network"));
    assert!(e(Networks::parse("10.0.0.0/8 maybe")).contains("\"maybe\" is not one of require, allow or deny"));
    assert!(e(Networks::parse("10.0.0.0/8")).contains("should be a place and an action"));
    assert!(e(Networks::parse("* deny; * allow")).contains("listed twice"));
    assert!(e(Networks::parse("10.0.0.0/8 allow; 10.0.0.0/8 deny")).contains("10.0.0.0/8 is listed twice"));
    assert!(e(Networks::parse("  ")).contains("at least one network"));
    let e = |r: Result<Locations, InputError>| r.unwrap_err().0;
    assert!(e(Locations::parse("XX deny")).contains("\"XX\" is not a two-letter"));
    assert!(e(Locations::parse("ch deny; CH allow")).contains("CH is listed twice"));
}

#[test]
fn locations_name_countries_in_any_case_and_fall_back_to_everything_else() {
    let l = Locations::parse("ch allow\nKP deny\n* require").unwrap();
    assert_eq!(l.action("CH"), (Action::Allow, true));
    assert_eq!(l.action("kp"), (Action::Deny, true));
    assert_eq!(l.action("FR"), (Action::Require, false));
    assert_eq!(l.to_stored(), "CH allow; KP deny; * require");
    assert!(Locations::parse("MO allow; HK allow; TW allow").is_ok(), "Macau, Hong Kong and Taiwan are known");
}

#[test]
fn rules_set_read_back_and_an_empty_value_inherits_again() {
    let mut r = rules(&[("allowed_methods", "push,totp"), ("new_user_policy", "deny"), ("trusted_browser_days", "7")]);
    assert_eq!(r.get("allowed_methods").as_deref(), Some("push,totp"));
    assert_eq!(r.entries().len(), 3);
    r.set("new_user_policy", "").unwrap();
    assert_eq!(r.new_user, None);
    assert!(r.set("trusted_browser_days", "400").unwrap_err().0.contains("from 0 to 365"));
    assert!(r.set("anonymous_networks", "block").unwrap_err().0.starts_with("Anonymous networks:"));
    assert!(r.set("colour", "red").is_err());
}

#[test]
fn precedence_is_group_at_application_then_application_then_group_then_global() {
    let app = rules(&[("allowed_methods", "push,hardware_token"), ("trusted_browser_days", "1")]);
    let app_group = rules(&[("allowed_methods", "security_key")]);
    let group = rules(&[("allowed_methods", "totp"), ("new_user_policy", "deny")]);
    let layers = [
        (Level::ApplicationGroups("labs".into()), &app_group),
        (Level::Application, &app),
        (Level::Groups("labs".into()), &group),
    ];
    let e = resolve(&layers, &global());
    assert_eq!(e.methods, (MethodSet::of(&[Method::SecurityKey]), Level::ApplicationGroups("labs".into())));
    assert_eq!(e.trusted_browser_days, (1, Level::Application));
    assert_eq!(e.new_user, (NewUser::Deny, Level::Groups("labs".into())));
    assert_eq!(e.networks, (None, Level::Global));
    let e = resolve(&layers[1..], &global());
    assert_eq!(e.methods.0, MethodSet::of(&[Method::Push, Method::HardwareToken]));
    assert_eq!(resolve(&[], &global()).methods, (MethodSet::all(), Level::Global));
}

#[test]
fn several_groups_allow_their_methods_together_and_the_first_group_sets_the_rest() {
    let a = rules(&[("allowed_methods", "push"), ("trusted_browser_days", "3")]);
    let b = rules(&[("allowed_methods", "totp"), ("trusted_browser_days", "9"), ("new_user_policy", "allow")]);
    let both = Rules::of_groups([&a, &b]);
    assert_eq!(both.methods, Some(MethodSet::of(&[Method::Push, Method::Totp])));
    assert_eq!(both.trusted_browser_days, Some(3));
    assert_eq!(both.new_user, Some(NewUser::Allow));
    assert!(Rules::of_groups([]).is_empty());
}

fn effective(pairs: &[(&str, &str)]) -> Effective {
    resolve(&[(Level::Application, &rules(pairs))], &global())
}

#[test]
fn denials_come_first_and_allow_only_applies_at_applications() {
    let e = effective(&[("networks", "10.0.0.0/8 allow; * require"), ("locations", "KP deny; * require")]);
    let campus = at("10.1.1.1", None);
    assert!(matches!(decide(&e, &campus, true, Door::Application), Decision::AllowWithoutMfa(Reason::Network { .. })));
    assert_eq!(decide(&e, &campus, true, Door::Portal), Decision::Continue, "the portal always asks");
    let denied = decide(&e, &at("175.45.176.1", Some("KP")), true, Door::Portal);
    assert!(matches!(denied, Decision::Deny(Reason::Location { ref country, named: true, .. }) if country == "KP"));
    assert_eq!(decide(&e, &at("192.0.2.1", Some("CH")), true, Door::Application), Decision::Continue);
    // A country's denial beats an allowing network.
    let e = effective(&[("networks", "0.0.0.0/0 allow"), ("locations", "CH allow; * deny")]);
    assert!(matches!(decide(&e, &at("192.0.2.1", Some("FR")), true, Door::Application), Decision::Deny(_)));
    assert!(matches!(decide(&e, &at("192.0.2.1", None), true, Door::Application), Decision::AllowWithoutMfa(_)));
}

#[test]
fn new_users_are_enrolled_denied_or_let_through_at_applications() {
    let nowhere = Where::default();
    let deny = effective(&[("new_user_policy", "deny")]);
    assert!(matches!(decide(&deny, &nowhere, false, Door::Application), Decision::Deny(Reason::NewUser { .. })));
    assert_eq!(decide(&deny, &nowhere, true, Door::Application), Decision::Continue, "enrolled users are not new");
    assert_eq!(decide(&deny, &nowhere, false, Door::Portal), Decision::Continue, "the portal is where they enrol");
    let allow = effective(&[("new_user_policy", "allow")]);
    assert!(matches!(decide(&allow, &nowhere, false, Door::Application), Decision::AllowWithoutMfa(_)));
    assert_eq!(decide(&effective(&[]), &nowhere, false, Door::Application), Decision::Continue);
}

#[test]
fn anonymous_networks_are_judged_only_when_the_database_says_so() {
    let e = effective(&[("anonymous_networks", "deny")]);
    let mut tor = at("198.51.100.7", Some("DE"));
    assert_eq!(decide(&e, &tor, true, Door::Application), Decision::Continue);
    tor.anonymous = true;
    assert!(matches!(decide(&e, &tor, true, Door::Application), Decision::Deny(Reason::Anonymous { .. })));
}
