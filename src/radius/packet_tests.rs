//! The codec checked against RFC 2865 §7.1, RFC 3579's rules, and random input.
use super::*;

// The client's half of the wire format: what a VPN sends and checks, to test the server's half.

/// RFC 2865 §5.2 hiding. Passwords longer than 128 octets are cut to
/// 128; padded with NULs to a multiple of 16 (an empty password becomes 16 NULs).
fn hide_password(password: &[u8], secret: &[u8], authenticator: &[u8; 16]) -> Vec<u8> {
    let mut hidden = password[..password.len().min(MAX_PASSWORD)].to_vec();
    hidden.resize(hidden.len().max(1).div_ceil(16) * 16, 0);
    let mut previous = *authenticator;
    for block in hidden.chunks_exact_mut(16) {
        block.iter_mut().zip(pad(secret, &previous)).for_each(|(p, b)| *p ^= b);
        previous.copy_from_slice(block);
    }
    hidden
}

/// An Access-Request as a client sends it: attributes in order (values over
/// 253 octets split), and when `message_authenticator` is true a Message-Authenticator first, computed per
/// RFC 3579 (over the packet with the zeroed value, keyed by the secret, with the Request Authenticator in
/// place). Callers keep it under 4096 octets.
fn encode_request(
    identifier: u8,
    authenticator: &[u8; 16],
    attributes: &[(u8, Vec<u8>)],
    secret: &[u8],
    message_authenticator: bool,
) -> Vec<u8> {
    assemble([ACCESS_REQUEST, identifier], authenticator, &split(attributes), message_authenticator, secret)
}

/// Checks a reply as a client would: the Response Authenticator, and the
/// Message-Authenticator if present. Returns the parsed reply, or None when either check fails or it does
/// not parse.
fn verify_reply(raw: &[u8], request_authenticator: &[u8; 16], secret: &[u8]) -> Option<Packet> {
    let packet = cut(raw).ok()?;
    let reply = parse(packet).ok()?;
    let expected = response_authenticator(packet, request_authenticator, secret);
    let response_ok: bool = expected.ct_eq(&reply.authenticator).into();
    let ma = check_message_authenticator(packet, request_authenticator, secret);
    (response_ok && ma != MessageAuthenticator::Invalid).then_some(reply)
}

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).expect("test hex")
}

const RFC_AUTH: &str = "0f403f9473978057bd83d5cb98f4227a";
const RFC_REQUEST: &str = "01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb 98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be \
    70 8d 93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8 01 10 05 06 00 00 00 03";
const RFC_ACCEPT: &str = "02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf 9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 \
    00 00 0e 06 c0 a8 01 03";
const SECRET: &[u8] = b"xyzzy5461";

fn rfc_auth() -> [u8; 16] {
    hex(RFC_AUTH).try_into().unwrap()
}

#[test]
fn rfc2865_access_request() {
    assert_eq!(hide_password(b"arctangent", SECRET, &rfc_auth()), hex("0dbe708d93d413ce3196e43f782a0aee"));
    let raw = hex(RFC_REQUEST);
    let request = parse(&raw).expect("RFC 2865 §7.1 request parses");
    assert_eq!((request.code, request.identifier, request.authenticator), (ACCESS_REQUEST, 0, rfc_auth()));
    assert_eq!(request.text(attr::USER_NAME).as_deref(), Some("nemo"));
    assert_eq!(request.attribute(attr::NAS_IP_ADDRESS), Some(&[192, 168, 1, 16][..]));
    assert_eq!(request.password(SECRET).as_deref(), Some(&b"arctangent"[..]));
    assert_ne!(request.password(b"wrong").as_deref(), Some(&b"arctangent"[..]));
    assert_eq!(request.message_authenticator(&raw, SECRET), MessageAuthenticator::Absent);
}

#[test]
fn rfc2865_access_accept() {
    let raw = hex(RFC_ACCEPT);
    let reply = verify_reply(&raw, &rfc_auth(), SECRET).expect("RFC 2865 §7.1 Response Authenticator");
    assert_eq!(reply.authenticator.to_vec(), hex("86fe220e7624ba2a1005f6bf9b55e0b2"));
    assert_eq!(reply.attributes.len(), 3);
    assert!(verify_reply(&raw, &rfc_auth(), b"xyzzy5462").is_none());
    assert!(verify_reply(&raw, &[0; 16], SECRET).is_none());
}

fn sample(ma: bool) -> Vec<u8> {
    let hidden = hide_password(b"hunter2", b"s3cret", &[7; 16]);
    let attrs = vec![(attr::USER_NAME, b"alice".to_vec()), (attr::USER_PASSWORD, hidden), (attr::STATE, vec![1, 2])];
    encode_request(42, &[7; 16], &attrs, b"s3cret", ma)
}

#[test]
fn request_message_authenticator() {
    let raw = sample(true);
    let request = parse(&raw).unwrap();
    assert_eq!(request.attributes[0].0, attr::MESSAGE_AUTHENTICATOR);
    assert_eq!(request.password(b"s3cret").as_deref(), Some(&b"hunter2"[..]));
    assert_eq!(request.message_authenticator(&raw, b"s3cret"), MessageAuthenticator::Valid);
    assert_eq!(request.message_authenticator(&raw, b"s3creT"), MessageAuthenticator::Invalid);
    for i in 0..raw.len() {
        if [2, 3, 20, 21, 39, 46, 64].contains(&i) {
            continue; // Length, and the framing octets: flipping them re-frames the packet instead
        }
        let mut flipped = raw.clone();
        flipped[i] ^= 1;
        let parsed = parse(&flipped).unwrap();
        assert_eq!(parsed.message_authenticator(&flipped, b"s3cret"), MessageAuthenticator::Invalid, "octet {i}");
    }
    let plain = sample(false);
    assert_eq!(parse(&plain).unwrap().message_authenticator(&plain, b"s3cret"), MessageAuthenticator::Absent);
    // Two Message-Authenticators, and one of the wrong length.
    let mut two = raw.clone();
    two.extend_from_slice(&raw[HEADER..HEADER + 18]);
    two[3] += 18;
    assert_eq!(parse(&two).unwrap().message_authenticator(&two, b"s3cret"), MessageAuthenticator::Invalid);
    let short = encode_request(1, &[7; 16], &[(attr::MESSAGE_AUTHENTICATOR, vec![0; 15])], b"s3cret", false);
    assert_eq!(parse(&short).unwrap().message_authenticator(&short, b"s3cret"), MessageAuthenticator::Invalid);
}

#[test]
fn reply_message_authenticator_first() {
    let raw = sample(true);
    let request = parse(&raw).unwrap();
    let reply = encode_reply(ACCESS_ACCEPT, &request, &[(attr::REPLY_MESSAGE, b"welcome".to_vec())], b"s3cret");
    let parsed = verify_reply(&reply, &request.authenticator, b"s3cret").expect("valid reply");
    assert_eq!((parsed.code, parsed.identifier), (ACCESS_ACCEPT, 42));
    assert_eq!(parsed.attributes[0].0, attr::MESSAGE_AUTHENTICATOR);
    assert_eq!(parsed.text(attr::REPLY_MESSAGE).as_deref(), Some("welcome"));
    assert!(verify_reply(&reply, &request.authenticator, b"other").is_none());
    for i in 0..reply.len() {
        let mut changed = reply.clone();
        changed[i] ^= 0x40;
        assert!(verify_reply(&changed, &request.authenticator, b"s3cret").is_none(), "octet {i}");
    }
    // A tampered Message-Authenticator with a recomputed Response Authenticator is still refused.
    let mut forged = reply.clone();
    forged[HEADER + 2] ^= 1;
    let response = response_authenticator(&forged, &request.authenticator, b"s3cret");
    forged[4..HEADER].copy_from_slice(&response);
    assert!(verify_reply(&forged, &request.authenticator, b"s3cret").is_none());
}

#[test]
fn hide_unhide_round_trip() {
    for len in [0_usize, 1, 15, 16, 17, 128, 129] {
        let password: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        let hidden = hide_password(&password, SECRET, &rfc_auth());
        assert_eq!(hidden.len(), len.clamp(1, 128).div_ceil(16) * 16, "length {len}");
        if len > 16 {
            // Block 2 is keyed by MD5(secret + cipher block 1), not the plaintext (RFC 2865 §5.2).
            let key = Md5::digest([SECRET, &hidden[..16]].concat());
            assert_eq!(hidden[16] ^ key[0], password[16], "length {len}");
        }
        let raw = encode_request(0, &rfc_auth(), &[(attr::USER_PASSWORD, hidden)], SECRET, false);
        assert_eq!(parse(&raw).unwrap().password(SECRET).unwrap(), password[..len.min(128)], "length {len}");
    }
    for bad in [vec![], vec![1; 15], vec![1; 17], vec![1; 144]] {
        let raw = encode_request(0, &rfc_auth(), &[(attr::USER_PASSWORD, bad)], SECRET, false);
        assert_eq!(parse(&raw).unwrap().password(SECRET), None);
    }
}

#[test]
fn parse_rejects() {
    use Malformed::*;
    let good = hex(RFC_REQUEST);
    // The RFC request with `octets` written at `at` and `extra` octets of 0xff appended.
    let edit = |at: usize, octets: &[u8], extra: usize| {
        let mut d = good.clone();
        d[at..at + octets.len()].copy_from_slice(octets);
        d.extend(std::iter::repeat_n(0xff, extra));
        d
    };
    let cases = [
        (good[..19].to_vec(), Err(TooShort), "19 octets"),
        (vec![], Err(TooShort), "empty"),
        (edit(2, &[0, 19], 0), Err(BadLength), "Length 19"),
        (edit(2, &[0, 57], 0), Err(BadLength), "Length past the datagram"),
        (edit(2, &[0x10, 0x01], 5000), Err(TooLong), "Length 4097"),
        (edit(21, &[0], 0), Err(BadAttribute), "attribute length 0"),
        (edit(21, &[1], 0), Err(BadAttribute), "attribute length 1"),
        (edit(51, &[7], 1), Err(BadAttribute), "last attribute runs one octet past Length"),
        (edit(2, &[0, 55], 0), Err(BadAttribute), "Length cuts the last attribute short"),
        (edit(2, &[0, 20], 0), Ok(0), "header only"),
        (edit(0, &[], 9), Ok(4), "padding past Length ignored"),
    ];
    for (datagram, expected, case) in &cases {
        assert_eq!(parse(datagram).map(|p| p.attributes.len()), *expected, "{case}");
    }
    assert_eq!(parse(&edit(0, &[], 9)), parse(&good));
}

#[test]
fn never_panics() {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut parsed = 0;
    for round in 0..20_000 {
        let mut d: Vec<u8> = if round % 2 == 0 {
            // Well framed (Length and attribute lengths right), then one octet changed.
            let attrs: Vec<(u8, Vec<u8>)> = (0..next() % 5)
                .map(|_| ([1, 2, 2, 80, 33][next() as usize % 5], (0..next() % 5 * 8).map(|_| next() as u8).collect()))
                .collect();
            let mut d = encode_request(next() as u8, &[round as u8; 16], &attrs, b"k", round % 4 == 0);
            let at = next() as usize % d.len();
            d[at] ^= (next() % 2) as u8 * next() as u8;
            d
        } else {
            let len = (next() % 200) as usize;
            let mut d: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if len >= 4 && round % 4 == 1 {
                d[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            }
            d
        };
        d.extend((0..next() % 3).map(|_| next() as u8));
        if let Ok(p) = parse(&d) {
            parsed += 1;
            let _ = (p.password(b"k"), p.message_authenticator(&d, b"k"), verify_reply(&d, &[0; 16], b"k"));
        }
    }
    assert!(parsed > 5_000, "only {parsed} parsed");
}

#[test]
fn reply_splitting_and_proxy_state() {
    let request = parse(&hex(RFC_REQUEST)).unwrap();
    let attrs = vec![
        (attr::REPLY_MESSAGE, vec![b'x'; 600]),
        (attr::PROXY_STATE, b"p1".to_vec()),
        (attr::PROXY_STATE, b"p2".to_vec()),
    ];
    let reply = verify_reply(&encode_reply(ACCESS_CHALLENGE, &request, &attrs, SECRET), &request.authenticator, SECRET)
        .expect("valid");
    let kinds: Vec<(u8, usize)> = reply.attributes.iter().map(|(k, v)| (*k, v.len())).collect();
    let (rm, ps) = (attr::REPLY_MESSAGE, attr::PROXY_STATE);
    assert_eq!(kinds, [(attr::MESSAGE_AUTHENTICATOR, 16), (rm, 253), (rm, 253), (rm, 94), (ps, 2), (ps, 2)]);
    assert_eq!(reply.all(ps).collect::<Vec<_>>(), [b"p1", b"p2"]);

    let attrs = vec![(attr::REPLY_MESSAGE, vec![b'y'; 5000]), (attr::PROXY_STATE, vec![9; 200])];
    let raw = encode_reply(ACCESS_REJECT, &request, &attrs, SECRET);
    assert!(raw.len() <= MAX_PACKET);
    let reply = verify_reply(&raw, &request.authenticator, SECRET).expect("valid");
    assert_eq!(reply.attributes.last(), Some(&(ps, vec![9; 200])));
    assert!(reply.all(rm).count() >= 14 && MAX_PACKET - raw.len() < 255);
}

#[test]
fn hmac_md5_matches_the_crate_for_every_secret_length() {
    for len in [0, 1, 16, 63, 64, 65, 128] {
        let secret = vec![0x5a_u8; len];
        let mut reference = <Hmac<Md5> as KeyInit>::new_from_slice(&secret).unwrap();
        reference.update(b"data");
        let expected: [u8; 16] = reference.finalize().into_bytes().into();
        assert_eq!(hmac_md5(&secret, b"data"), expected, "secret of {len} octets");
    }
}
