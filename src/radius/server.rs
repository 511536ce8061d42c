//! The UDP listener: each datagram is parsed, matched to a client by its source address, checked
//! (Message-Authenticator, BlastRADIUS rules, duplicates) and decided in its own task, so a
//! request waiting for a push never holds up the others. Anything malformed, from an unknown
//! address or with a bad authenticator is dropped unanswered and counted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;

use super::clients::{Client, Clients};
use super::door::{self, Asked};
use super::packet::{self, MessageAuthenticator, Packet, attr};
use super::seen::{Requests, Seen};
use super::{Decision, Reply};
use crate::domain::AuditEvent;
use crate::metrics::Metrics;
use crate::signin::SignIn;
use crate::store::{self, audit::Event, audit::Outcome};

pub struct Server {
    socket: Arc<UdpSocket>,
    core: SignIn,
    clients: Arc<Clients>,
    metrics: Arc<Metrics>,
    requests: Arc<Requests>,
}

/// One request, checked and ready to decide.
struct Incoming {
    from: SocketAddr,
    request: Packet,
    client: Arc<Client>,
}

impl Server {
    pub fn new(socket: UdpSocket, core: SignIn, clients: Arc<Clients>, metrics: Arc<Metrics>) -> Self {
        let radius = &core.settings.radius;
        let keep = Duration::from_secs(radius.duplicate_seconds.into());
        // In progress at most as long as a push, a call or the challenge's answer takes, and then some.
        let longest = core.settings.push.timeout_seconds.max(radius.challenge_seconds.min(600)) + 60;
        let requests = Arc::new(Requests::new(keep, Duration::from_secs(longest.into())));
        Self { socket: Arc::new(socket), core, clients, metrics, requests }
    }

    /// Serves until the stop begins; requests in progress finish as tracked tasks.
    pub async fn run(self) {
        let mut buf = vec![0u8; packet::MAX_PACKET];
        loop {
            let received = tokio::select! {
                r = self.socket.recv_from(&mut buf) => r,
                _ = self.core.shutdown.raised() => return,
            };
            let (len, from) = match received {
                Ok(r) => r,
                Err(e) => {
                    // ICMP errors for earlier replies surface here on some systems: keep serving.
                    tracing::debug!(error = %e, "RADIUS: receive failed");
                    continue;
                }
            };
            let raw = buf[..len].to_vec();
            match self.admit(from, raw).await {
                Ok(incoming) => self.start(incoming),
                Err(reason) => {
                    tracing::debug!(%from, reason, "RADIUS: packet dropped");
                    self.metrics.radius_dropped(reason);
                }
            }
        }
    }

    /// The checks before a request is decided; `Err` names why it is dropped.
    async fn admit(&self, from: SocketAddr, raw: Vec<u8>) -> Result<Incoming, &'static str> {
        let request = packet::parse(&raw).map_err(|_| "malformed")?;
        if !matches!(request.code, packet::ACCESS_REQUEST | packet::STATUS_SERVER) {
            return Err("unsupported_code");
        }
        let client = match self.clients.find(from.ip()).await {
            Ok(Some(client)) => client,
            Ok(None) => return Err("unknown_client"),
            Err(e) => {
                tracing::error!(error = %e, "RADIUS: could not read the clients");
                return Err("internal_error");
            }
        };
        match request.message_authenticator(&raw, &client.secret) {
            MessageAuthenticator::Valid => {}
            MessageAuthenticator::Invalid => return Err("bad_message_authenticator"),
            // Status-Server must carry one (RFC 5997); BlastRADIUS: so must every request from a
            // client marked so, and any request with Proxy-State (FreeRADIUS's limit_proxy_state).
            MessageAuthenticator::Absent if request.code == packet::STATUS_SERVER => {
                return Err("missing_message_authenticator");
            }
            MessageAuthenticator::Absent if client.require_message_authenticator => {
                return Err("missing_message_authenticator");
            }
            MessageAuthenticator::Absent if request.attribute(attr::PROXY_STATE).is_some() => {
                return Err("proxy_state_without_message_authenticator");
            }
            MessageAuthenticator::Absent => {}
        }
        Ok(Incoming { from, request, client })
    }

    fn start(&self, incoming: Incoming) {
        let Incoming { from, request, client, .. } = &incoming;
        match self.requests.check(*from, request.identifier, request.authenticator) {
            Seen::New => {}
            Seen::InProgress => return self.metrics.observe_radius(&client.name, "duplicate"),
            Seen::Full => return self.metrics.radius_dropped("too_many_requests"),
            Seen::Answered(bytes) => {
                self.metrics.observe_radius(&client.name, "duplicate");
                let socket = self.socket.clone();
                let to = *from;
                tokio::spawn(async move {
                    let _ = socket.send_to(&bytes, to).await;
                });
                return;
            }
        }
        let (core, socket, metrics, requests) =
            (self.core.clone(), self.socket.clone(), self.metrics.clone(), self.requests.clone());
        self.core.shutdown.spawn(async move {
            let Incoming { from, request, client } = incoming;
            let reply = answer(&core, &metrics, &client, &request).await;
            if let Some(bytes) = &reply
                && let Err(e) = socket.send_to(bytes, from).await
            {
                tracing::warn!(%from, error = %e, "RADIUS: could not send a reply");
            }
            requests.answered(from, request.identifier, request.authenticator, reply.as_deref());
        });
    }
}

/// The reply's bytes, or `None` when the request is dropped (the core failed: the client retries).
async fn answer(core: &SignIn, metrics: &Metrics, client: &Client, request: &Packet) -> Option<Vec<u8>> {
    if request.code == packet::STATUS_SERVER {
        metrics.observe_radius(&client.name, "status");
        return Some(packet::encode_reply(packet::ACCESS_ACCEPT, request, &proxy_states(request), &client.secret));
    }
    let Some(user_name) = request.text(attr::USER_NAME).filter(|n| !n.is_empty()) else {
        return Some(reject(metrics, client, request, "A username is required."));
    };
    let Some(password) = request.password(&client.secret) else {
        let words = if other_authentication(request) {
            "Only PAP is supported: set the VPN to send the password with PAP."
        } else {
            "A password is required."
        };
        return Some(reject(metrics, client, request, words));
    };
    let nas = request
        .attribute(attr::NAS_IP_ADDRESS)
        .and_then(|v| <[u8; 4]>::try_from(v).ok())
        .map(|b| std::net::Ipv4Addr::from(b).to_string())
        .or_else(|| request.text(attr::NAS_IDENTIFIER))
        .unwrap_or_else(|| "-".into());
    let asked = Asked {
        client,
        nas,
        user_name,
        password: String::from_utf8(password).unwrap_or_default(),
        state: request.attribute(attr::STATE).map(<[u8]>::to_vec),
        calling_station: request.text(attr::CALLING_STATION_ID).filter(|s| !s.trim().is_empty()),
    };
    let decision = match door::decide(core, &asked).await {
        Ok(decision) => decision,
        Err(e) => {
            tracing::error!(client = %client.name, error = %e, "RADIUS: request failed");
            metrics.radius_dropped("internal_error");
            return None;
        }
    };
    if let Err(e) = audit(core, &asked, &decision).await {
        tracing::error!(error = %e, "RADIUS: could not write the audit entry");
        metrics.radius_dropped("internal_error");
        return None;
    }
    let (code, mut attributes, result) = match &decision.said.reply {
        Reply::Accept(message) => {
            let mut attributes = vec![(attr::REPLY_MESSAGE, message.clone().into_bytes())];
            attributes.extend(group_attributes(core, decision.user.as_ref()).await.ok()?);
            (packet::ACCESS_ACCEPT, attributes, "accept")
        }
        Reply::Reject(message) => {
            (packet::ACCESS_REJECT, vec![(attr::REPLY_MESSAGE, message.clone().into_bytes())], "reject")
        }
        Reply::Challenge { message, state } => (
            packet::ACCESS_CHALLENGE,
            vec![(attr::REPLY_MESSAGE, message.clone().into_bytes()), (attr::STATE, state.clone())],
            "challenge",
        ),
    };
    metrics.observe_radius(&client.name, result);
    attributes.extend(proxy_states(request));
    Some(packet::encode_reply(code, request, &attributes, &client.secret))
}

fn reject(metrics: &Metrics, client: &Client, request: &Packet, words: &str) -> Vec<u8> {
    metrics.observe_radius(&client.name, "reject");
    let mut attributes = vec![(attr::REPLY_MESSAGE, words.as_bytes().to_vec())];
    attributes.extend(proxy_states(request));
    packet::encode_reply(packet::ACCESS_REJECT, request, &attributes, &client.secret)
}

/// CHAP, MS-CHAP (Microsoft's vendor-specific attributes) or EAP instead of PAP.
fn other_authentication(request: &Packet) -> bool {
    const MICROSOFT: [u8; 4] = [0, 0, 1, 55];
    request.attribute(attr::CHAP_PASSWORD).is_some()
        || request.attribute(attr::EAP_MESSAGE).is_some()
        || request.all(attr::VENDOR_SPECIFIC).any(|v| v.starts_with(&MICROSOFT))
}

/// Proxy-State attributes are copied into the reply unchanged and in order (RFC 2865 §5.33).
fn proxy_states(request: &Packet) -> Vec<(u8, Vec<u8>)> {
    request.all(attr::PROXY_STATE).map(|v| (attr::PROXY_STATE, v.to_vec())).collect()
}

/// Class and Filter-Id for the first of `radius.group_replies` the user is in.
async fn group_attributes(
    core: &SignIn,
    user: Option<&crate::store::users::UserRow>,
) -> Result<Vec<(u8, Vec<u8>)>, ()> {
    let replies = &core.settings.radius.group_replies;
    let Some(user) = user.filter(|_| !replies.is_empty()) else { return Ok(Vec::new()) };
    let groups = store::import::groups_of(&core.db, &user.id).await.map_err(|e| {
        tracing::error!(error = %e, "RADIUS: could not read the user's groups");
    })?;
    let Some(reply) = replies.iter().find(|r| groups.contains(&r.group)) else { return Ok(Vec::new()) };
    let mut attributes = Vec::new();
    if let Some(class) = &reply.class {
        attributes.push((attr::CLASS, class.clone().into_bytes()));
    }
    if let Some(filter) = &reply.filter_id {
        attributes.push((attr::FILTER_ID, filter.clone().into_bytes()));
    }
    Ok(attributes)
}

/// The entry of an outcome the door decided (the core audits its own, naming the client and the
/// NAS): the client, the NAS, the user's address, the method and the result.
async fn audit(core: &SignIn, asked: &Asked<'_>, decision: &Decision) -> Result<(), store::StoreError> {
    if decision.said.by_core {
        return Ok(());
    }
    let (outcome, result) = match &decision.said.reply {
        Reply::Accept(_) => (Outcome::Success, "accept".to_string()),
        // The enrolment link is a secret: the log says it was sent, not what it was.
        Reply::Reject(_) if decision.method == "enroll" => {
            (Outcome::Failure, "reject: not enrolled, sent the enrolment link".into())
        }
        Reply::Reject(words) => (Outcome::Failure, format!("reject: {words}")),
        Reply::Challenge { .. } => (Outcome::Info, "challenge".to_string()),
    };
    let from = asked.calling_station.as_deref().unwrap_or("-");
    let detail =
        format!("client {}; NAS {}; from {from}; method {}; {result}", asked.client.name, asked.nas, decision.method);
    let address = asked.address();
    let e = Event::new(AuditEvent::RadiusAccess, outcome)
        .ip(Some(&address))
        .detail(&detail)
        .application(&asked.client.name);
    let e = match &decision.user {
        Some(user) => e.user(&user.id, &user.username),
        None => e,
    };
    store::audit::record(&core.db, e, core.now()).await
}
