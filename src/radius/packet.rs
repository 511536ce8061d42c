//! RADIUS packets: parsing and encoding per RFC 2865 (§3 packet format, §5.2 User-Password hiding, the
//! Response Authenticator) with the RFC 3579 §3.2 Message-Authenticator (HMAC-MD5). Hand-written because
//! the Rust RADIUS crates are unmaintained or parse-only; this is a pure codec with no I/O. Replies put
//! their Message-Authenticator first (the BlastRADIUS mitigation). Authenticators are compared in
//! constant time, and `parse` never panics on any input.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

pub const ACCESS_REQUEST: u8 = 1;
pub const ACCESS_ACCEPT: u8 = 2;
pub const ACCESS_REJECT: u8 = 3;
pub const ACCESS_CHALLENGE: u8 = 11;
pub const STATUS_SERVER: u8 = 12;

/// Attribute types used by Twofold.
#[rustfmt::skip]
pub mod attr {
    pub const USER_NAME: u8 = 1; pub const USER_PASSWORD: u8 = 2; pub const CHAP_PASSWORD: u8 = 3;
    pub const NAS_IP_ADDRESS: u8 = 4; pub const FILTER_ID: u8 = 11; pub const VENDOR_SPECIFIC: u8 = 26; pub const REPLY_MESSAGE: u8 = 18;
    pub const STATE: u8 = 24; pub const CLASS: u8 = 25; pub const SESSION_TIMEOUT: u8 = 27;
    pub const CALLING_STATION_ID: u8 = 31; pub const NAS_IDENTIFIER: u8 = 32; pub const PROXY_STATE: u8 = 33;
    pub const EAP_MESSAGE: u8 = 79; pub const MESSAGE_AUTHENTICATOR: u8 = 80; pub const NAS_IPV6_ADDRESS: u8 = 95;
}

/// The largest packet RFC 2865 §3 allows.
pub const MAX_PACKET: usize = 4096;
const HEADER: usize = 20;
/// The largest value one attribute can carry (its length octet counts the 2-octet header).
const MAX_VALUE: usize = 253;
const MAX_PASSWORD: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub code: u8,
    pub identifier: u8,
    pub authenticator: [u8; 16],
    /// (type, value) in wire order.
    pub attributes: Vec<(u8, Vec<u8>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("datagram shorter than the 20-octet RADIUS header")]
    TooShort,
    #[error("Length field below 20 or beyond the datagram")]
    BadLength,
    #[error("Length field above 4096")]
    TooLong,
    #[error("attribute length below 2 or running past the packet")]
    BadAttribute,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageAuthenticator {
    Absent,
    Valid,
    Invalid,
}

/// Each attribute of `packet` (already cut to its Length) as (type, value offset, value length).
fn walk(packet: &[u8]) -> Result<Vec<(u8, usize, usize)>, Malformed> {
    let mut found = Vec::new();
    let mut at = HEADER;
    while at < packet.len() {
        let len = *packet.get(at + 1).ok_or(Malformed::BadAttribute)? as usize;
        if len < 2 || at + len > packet.len() {
            return Err(Malformed::BadAttribute);
        }
        found.push((packet[at], at + 2, len - 2));
        at += len;
    }
    Ok(found)
}

/// `datagram` cut to its Length field, checked as `parse` describes.
fn cut(datagram: &[u8]) -> Result<&[u8], Malformed> {
    if datagram.len() < HEADER {
        return Err(Malformed::TooShort);
    }
    let len = u16::from_be_bytes([datagram[2], datagram[3]]) as usize;
    if len > MAX_PACKET {
        return Err(Malformed::TooLong);
    }
    if len < HEADER || len > datagram.len() {
        return Err(Malformed::BadLength);
    }
    Ok(&datagram[..len])
}

/// Parses a datagram (RFC 2865 §3): Length field between 20 and 4096 and not more than the datagram;
/// octets past Length are ignored (padding); every attribute's length ≥ 2 and inside the packet; never
/// panics on any input.
pub fn parse(datagram: &[u8]) -> Result<Packet, Malformed> {
    let packet = cut(datagram)?;
    let attributes = walk(packet)?.into_iter().map(|(kind, at, len)| (kind, packet[at..at + len].to_vec())).collect();
    let mut authenticator = [0; 16];
    authenticator.copy_from_slice(&packet[4..HEADER]);
    Ok(Packet { code: packet[0], identifier: packet[1], authenticator, attributes })
}

/// RFC 3579 §3.2: HMAC-MD5 keyed by the secret over `packet` with `authenticator` in the authenticator
/// field and the Message-Authenticator value zeroed. Exactly one, of 16 octets, or it is Invalid.
fn check_message_authenticator(packet: &[u8], authenticator: &[u8; 16], secret: &[u8]) -> MessageAuthenticator {
    let Ok(attributes) = walk(packet) else { return MessageAuthenticator::Invalid };
    let mut found = attributes.iter().filter(|(kind, _, _)| *kind == attr::MESSAGE_AUTHENTICATOR);
    let at = match (found.next(), found.next()) {
        (None, _) => return MessageAuthenticator::Absent,
        (Some(&(_, at, 16)), None) => at,
        _ => return MessageAuthenticator::Invalid,
    };
    let mut copy = packet.to_vec();
    copy[4..HEADER].copy_from_slice(authenticator);
    copy[at..at + 16].fill(0);
    if hmac_md5(secret, &copy).ct_eq(&packet[at..at + 16]).into() {
        MessageAuthenticator::Valid
    } else {
        MessageAuthenticator::Invalid
    }
}

fn hmac_md5(secret: &[u8], data: &[u8]) -> [u8; 16] {
    // HMAC pads a key to the hash's block (64 octets) and hashes a longer one first (RFC 2104):
    // done here, so the fixed-size constructor, which cannot fail, is used.
    let mut key = [0u8; 64];
    if secret.len() > key.len() {
        key[..16].copy_from_slice(&Md5::digest(secret));
    } else {
        key[..secret.len()].copy_from_slice(secret);
    }
    let mut mac = <Hmac<Md5> as KeyInit>::new(&key.into());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// RFC 2865 §3: MD5 over `packet` with the Request Authenticator in place, then the secret.
fn response_authenticator(packet: &[u8], request_authenticator: &[u8; 16], secret: &[u8]) -> [u8; 16] {
    Md5::digest([&packet[..4], request_authenticator, &packet[HEADER..], secret].concat()).into()
}

/// MD5(secret + previous): the §5.2 key stream for one 16-octet block.
fn pad(secret: &[u8], previous: &[u8]) -> [u8; 16] {
    Md5::digest([secret, previous].concat()).into()
}

impl Packet {
    /// The first attribute of this type.
    pub fn attribute(&self, kind: u8) -> Option<&[u8]> {
        self.all(kind).next()
    }

    /// Every attribute of this type, in order.
    pub fn all(&self, kind: u8) -> impl Iterator<Item = &[u8]> {
        self.attributes.iter().filter(move |(k, _)| *k == kind).map(|(_, v)| v.as_slice())
    }

    /// The first attribute of this type as UTF-8 (invalid sequences replaced).
    pub fn text(&self, kind: u8) -> Option<String> {
        self.attribute(kind).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// RFC 3579 §3.2 check of a REQUEST: Absent, or HMAC-MD5(secret, the raw packet bytes up to Length
    /// with the Message-Authenticator value replaced by 16 zero octets) compared in constant time. More
    /// than one Message-Authenticator, or one whose length is not 16, is Invalid. `raw` is the datagram
    /// the packet was parsed from.
    pub fn message_authenticator(&self, raw: &[u8], secret: &[u8]) -> MessageAuthenticator {
        match cut(raw) {
            Ok(packet) => check_message_authenticator(packet, &self.authenticator, secret),
            Err(_) => MessageAuthenticator::Invalid,
        }
    }

    /// The User-Password un-hidden (RFC 2865 §5.2) with this packet's Request Authenticator; None when
    /// absent, empty, longer than 128 octets or not a multiple of 16. Trailing NUL padding removed, so an
    /// empty typed password (hidden as 16 NULs) comes back as `Some(vec![])`.
    pub fn password(&self, secret: &[u8]) -> Option<Vec<u8>> {
        let hidden = self.attribute(attr::USER_PASSWORD)?;
        if hidden.is_empty() || hidden.len() > MAX_PASSWORD || hidden.len() % 16 != 0 {
            return None;
        }
        let mut plain = Vec::with_capacity(hidden.len());
        let mut previous: &[u8] = &self.authenticator;
        for block in hidden.chunks_exact(16) {
            plain.extend(block.iter().zip(pad(secret, previous)).map(|(c, b)| c ^ b));
            previous = block;
        }
        plain.truncate(plain.iter().rposition(|&b| b != 0).map_or(0, |last| last + 1));
        Some(plain)
    }
}

/// `attributes` with values longer than 253 octets split into several attributes of the same type.
fn split(attributes: &[(u8, Vec<u8>)]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    for (kind, value) in attributes {
        if value.is_empty() {
            out.push((*kind, &value[..]));
        }
        out.extend(value.chunks(MAX_VALUE).map(|chunk| (*kind, chunk)));
    }
    out
}

/// Code and identifier, `authenticator`, then a Message-Authenticator when `ma` (computed over the result
/// with `authenticator` in place, keyed by the secret), then `attributes`.
fn assemble(head: [u8; 2], authenticator: &[u8; 16], attributes: &[(u8, &[u8])], ma: bool, secret: &[u8]) -> Vec<u8> {
    let mut out = vec![head[0], head[1], 0, 0];
    out.extend_from_slice(authenticator);
    if ma {
        out.extend([attr::MESSAGE_AUTHENTICATOR, 18].into_iter().chain([0; 16]));
    }
    for (kind, value) in attributes {
        out.extend_from_slice(&[*kind, value.len() as u8 + 2]);
        out.extend_from_slice(value);
    }
    let len = out.len() as u16;
    out[2..4].copy_from_slice(&len.to_be_bytes());
    if ma {
        let mac = hmac_md5(secret, &out);
        out[HEADER + 2..HEADER + 18].copy_from_slice(&mac);
    }
    out
}

/// A reply (Access-Accept / Reject / Challenge) to `request`: Message-Authenticator is the FIRST attribute
/// (BlastRADIUS), computed per RFC 3579 over the reply with the Request Authenticator in the authenticator
/// field; then the Response Authenticator MD5(Code+ID+Length+RequestAuth+Attributes+Secret) (RFC 2865 §3).
/// `attributes` are written in order after it; a value longer than 253 octets is split into several
/// attributes of the same type. If the packet would exceed 4096 octets, attributes that are not
/// Proxy-State are dropped from the end until it fits (and, should Proxy-State alone not fit, the trailing
/// ones too: a packet over 4096 octets would be dropped by the client anyway).
pub fn encode_reply(code: u8, request: &Packet, attributes: &[(u8, Vec<u8>)], secret: &[u8]) -> Vec<u8> {
    let mut parts = split(attributes);
    let size = |parts: &[(u8, &[u8])]| HEADER + 18 + parts.iter().map(|(_, v)| v.len() + 2).sum::<usize>();
    while size(&parts) > MAX_PACKET {
        match parts.iter().rposition(|(kind, _)| *kind != attr::PROXY_STATE) {
            Some(last) => drop(parts.remove(last)),
            None => drop(parts.pop()),
        }
    }
    let mut out = assemble([code, request.identifier], &request.authenticator, &parts, true, secret);
    let response = response_authenticator(&out, &request.authenticator, secret);
    out[4..HEADER].copy_from_slice(&response);
    out
}

#[cfg(test)]
#[path = "packet_tests.rs"]
mod tests;
