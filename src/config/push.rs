//! Settings for "Send Me a Push" and the Twofold authenticator app: timeouts, the number to
//! match, activation links and the per-user push cap.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushSettings {
    /// How long a push waits for an answer before it times out.
    pub timeout_seconds: u32,
    /// Digits of the number the user types in the app (number matching).
    pub number_digits: u32,
    /// How long an activation link (QR code or email) works.
    pub activation_hours: u32,
    /// At most this many pushes per user per window; more fall back to other methods.
    pub cap_per_window: u32,
    pub cap_window_minutes: u32,
    /// Push services the server will send Web Push messages to: a host name, or `.suffix` for
    /// every host under it. Anything else is refused when the app subscribes, so a device key
    /// cannot make the server post to an address of its choosing (server-side request forgery).
    pub web_push_hosts: Vec<String>,
}

impl Default for PushSettings {
    fn default() -> Self {
        Self {
            timeout_seconds: 60,
            number_digits: 3,
            activation_hours: 24,
            cap_per_window: 5,
            cap_window_minutes: 10,
            // Chrome/Android, Firefox, Safari and Edge.
            web_push_hosts: vec![
                "fcm.googleapis.com".into(),
                ".push.services.mozilla.com".into(),
                ".push.apple.com".into(),
                ".notify.windows.com".into(),
            ],
        }
    }
}

impl PushSettings {
    /// True when Web Push may be sent to `endpoint`: HTTPS to a listed push service, or plain
    /// HTTP only to a listed loopback host (a local push service, as in tests).
    pub fn allows_endpoint(&self, endpoint: &url::Url) -> bool {
        let Some(host) = endpoint.host_str() else { return false };
        let listed = self.web_push_hosts.iter().any(|h| match h.strip_prefix('.') {
            Some(suffix) => host.len() > suffix.len() && host.ends_with(&format!(".{suffix}")),
            None => host.eq_ignore_ascii_case(h),
        });
        let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
        listed && (endpoint.scheme() == "https" || (endpoint.scheme() == "http" && loopback))
    }
}

#[cfg(test)]
mod tests {
    use super::PushSettings;

    fn allowed(endpoint: &str) -> bool {
        PushSettings::default().allows_endpoint(&url::Url::parse(endpoint).unwrap())
    }

    #[test]
    fn only_listed_push_services_receive_web_push() {
        assert!(allowed("https://fcm.googleapis.com/fcm/send/abc"));
        assert!(allowed("https://updates.push.services.mozilla.com/wpush/v2/abc"));
        assert!(allowed("https://web.push.apple.com/QGx"));
        assert!(allowed("https://wns2-by3p.notify.windows.com/w/?token=x"));
        assert!(!allowed("http://fcm.googleapis.com/fcm/send/abc"), "never plain HTTP to the internet");
        assert!(!allowed("https://10.0.0.5/admin"), "no internal addresses");
        assert!(!allowed("https://evil-notify.windows.com.example/x"));
        assert!(!allowed("https://notify.windows.com.evil/x"));
        assert!(!allowed("http://127.0.0.1:9000/push"), "loopback only when listed");
        let mut local = PushSettings::default();
        local.web_push_hosts.push("127.0.0.1".into());
        assert!(local.allows_endpoint(&url::Url::parse("http://127.0.0.1:9000/push").unwrap()));
    }
}
