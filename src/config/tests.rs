//! The settings' own checks.
use super::*;

#[test]
fn defaults_are_valid() {
    let s = Settings::default();
    s.validate().unwrap();
    assert_eq!(s.bind_addr().unwrap().port(), 8080);
    assert!(s.database_url().starts_with("sqlite://"));
}

#[test]
fn a_bad_public_url_names_the_key() {
    let s = Settings { public_url: Some("ftp://x".into()), ..Settings::default() };
    let err = s.validate().unwrap_err().to_string();
    assert!(err.contains("public_url"), "{err}");
}

#[test]
fn a_public_url_with_a_path_is_refused() {
    let s = Settings { public_url: Some("https://mfa.example.edu/twofold".into()), ..Settings::default() };
    assert!(s.validate().is_err());
}

#[test]
fn a_bad_bind_names_the_key() {
    let s = Settings { bind: "localhost".into(), ..Settings::default() };
    assert!(s.validate().unwrap_err().to_string().contains("`bind`"));
}

#[test]
fn a_logo_must_be_a_readable_small_image() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Settings::default();
    s.institution.logo_file = Some(dir.path().join("missing.png"));
    assert!(s.validate().unwrap_err().to_string().contains("institution.logo_file"));
    let text = dir.path().join("logo.txt");
    std::fs::write(&text, "hello").unwrap();
    s.institution.logo_file = Some(text);
    assert!(s.validate().is_err(), "not an image type");
    let svg = dir.path().join("logo.svg");
    std::fs::write(&svg, "<svg xmlns='http://www.w3.org/2000/svg'/>").unwrap();
    s.institution.logo_file = Some(svg.clone());
    s.validate().unwrap();
    assert_eq!(Logo::load(&svg).unwrap().content_type, "image/svg+xml");
}
