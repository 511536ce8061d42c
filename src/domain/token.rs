//! Hardware tokens as typed and imported: the kind (HOTP, TOTP, Yubico OTP), the serial number,
//! and a token CSV file read whole, every problem reported with its true line number.

use std::collections::HashMap;

use zeroize::Zeroizing;

use super::InputError;
use super::import::LineError;
use super::modhex::{self, KEY_BYTES, PRIVATE_ID_BYTES};

pub const MAX_ROWS: usize = 50_000;
/// RFC 4226 §4: shared secrets of at least 128 bits.
const MIN_SEED_BYTES: usize = 16;
const MAX_SEED_BYTES: usize = 64;
const COLUMNS: [&str; 9] =
    ["serial", "type", "secret", "digits", "period", "counter", "public_id", "private_id", "aes_key"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Hotp,
    Totp,
    Yubico,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Hotp => "hotp",
            TokenKind::Totp => "totp",
            TokenKind::Yubico => "yubico",
        }
    }

    pub fn parse(value: &str) -> Result<Self, InputError> {
        match value.trim().to_lowercase().as_str() {
            "hotp" => Ok(TokenKind::Hotp),
            "totp" => Ok(TokenKind::Totp),
            "yubico" | "yubikey" => Ok(TokenKind::Yubico),
            other => Err(InputError::new(format!("\"{other}\" is not a token type (hotp, totp or yubico)."))),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TokenKind::Hotp => "HOTP token",
            TokenKind::Totp => "TOTP token",
            TokenKind::Yubico => "YubiKey (Yubico OTP)",
        }
    }
}

/// A serial number as printed on the token: spaces dropped, letters in upper case.
pub fn parse_serial(input: &str) -> Result<String, InputError> {
    let value: String = input.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    if value.is_empty() {
        return Err(InputError::new("Enter the serial number printed on the token."));
    }
    if value.len() > 64 || !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        return Err(InputError::new("A serial number has only letters, digits, - _ and . (at most 64)."));
    }
    Ok(value)
}

/// Secret bytes that never show in `Debug` and are wiped on drop.
#[derive(Clone)]
pub struct SecretBytes(pub Zeroizing<Vec<u8>>);

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBytes(..)")
    }
}

/// One checked line of a token file.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub line: u64,
    pub serial: String,
    pub kind: TokenKind,
    /// OATH: the seed. Yubico: the AES key followed by the private id (22 bytes).
    pub secret: SecretBytes,
    pub digits: u8,
    pub period: u64,
    pub counter: u64,
    pub public_id: Option<String>,
}

/// A base32 key as people and apps write it (spaces and lower case allowed).
fn base32(text: &str) -> Option<Vec<u8>> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    totp_rs::Secret::try_from_base32(clean).ok().map(|s| s.as_ref().to_vec())
}

/// Hex first (an even number of 0-9/a-f), otherwise base32; `base32:` or `hex:` forces one.
fn parse_seed(input: &str) -> Result<Zeroizing<Vec<u8>>, InputError> {
    let clean: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    let bad = || InputError::new("The secret is neither hex nor base32.");
    let bytes = if let Some(b32) = clean.strip_prefix("base32:") {
        base32(b32).ok_or_else(bad)?
    } else if let Some(h) = clean.strip_prefix("hex:") {
        hex::decode(h).map_err(|_| bad())?
    } else if clean.len().is_multiple_of(2) && clean.chars().all(|c| c.is_ascii_hexdigit()) {
        hex::decode(&clean).map_err(|_| bad())?
    } else {
        base32(&clean).ok_or_else(bad)?
    };
    if bytes.len() < MIN_SEED_BYTES || bytes.len() > MAX_SEED_BYTES {
        return Err(InputError::new(format!(
            "The secret is {} bytes; a token seed has {MIN_SEED_BYTES} to {MAX_SEED_BYTES}.",
            bytes.len()
        )));
    }
    Ok(Zeroizing::new(bytes))
}

fn parse_number(input: &str, name: &str, default: u64, allowed: &[u64]) -> Result<u64, InputError> {
    if input.is_empty() {
        return Ok(default);
    }
    let n: u64 = input.parse().map_err(|_| InputError::new(format!("{name} must be a number.")))?;
    if !allowed.is_empty() && !allowed.contains(&n) {
        let list: Vec<String> = allowed.iter().map(u64::to_string).collect();
        return Err(InputError::new(format!("{name} must be {}.", list.join(" or "))));
    }
    Ok(n)
}

fn exact_hex(input: &str, bytes: usize, what: &str) -> Result<Vec<u8>, InputError> {
    match hex::decode(input.trim()) {
        Ok(v) if v.len() == bytes => Ok(v),
        _ => Err(InputError::new(format!("{what} must be {} hex characters.", bytes * 2))),
    }
}

fn parse_row(field: &dyn Fn(&str) -> String, line: u64) -> Result<TokenRow, InputError> {
    let serial = parse_serial(&field("serial"))?;
    let kind = TokenKind::parse(&field("type"))?;
    let oath_only = |name: &str| -> Result<(), InputError> {
        if field(name).is_empty() {
            Ok(())
        } else {
            Err(InputError::new(format!("{name} is only for Yubico OTP tokens.")))
        }
    };
    match kind {
        TokenKind::Hotp | TokenKind::Totp => {
            for name in ["public_id", "private_id", "aes_key"] {
                oath_only(name)?;
            }
            let secret = parse_seed(&field("secret"))?;
            let digits = parse_number(&field("digits"), "digits", 6, &[6, 8])? as u8;
            let (period, counter) = if kind == TokenKind::Hotp {
                if !field("period").is_empty() {
                    return Err(InputError::new("period is only for TOTP tokens; HOTP tokens have a counter."));
                }
                (30, parse_number(&field("counter"), "counter", 0, &[])?)
            } else {
                if !field("counter").is_empty() {
                    return Err(InputError::new("counter is only for HOTP tokens; TOTP tokens have a period."));
                }
                (parse_number(&field("period"), "period", 30, &[30, 60])?, 0)
            };
            Ok(TokenRow { line, serial, kind, secret: SecretBytes(secret), digits, period, counter, public_id: None })
        }
        TokenKind::Yubico => {
            if !field("secret").is_empty() || !field("digits").is_empty() || !field("period").is_empty() {
                return Err(InputError::new(
                    "A Yubico OTP token has public_id, private_id and aes_key, not secret, digits or period.",
                ));
            }
            let given = field("public_id").to_lowercase();
            let public_id = if given.is_empty() { serial.to_lowercase() } else { given };
            if public_id.len() > 32 || modhex::modhex_decode(&public_id).is_none_or(|b| b.is_empty()) {
                return Err(InputError::new("public_id must be the token's modhex public id (e.g. cccjgjgkhcbb)."));
            }
            let private_id = exact_hex(&field("private_id"), PRIVATE_ID_BYTES, "private_id")?;
            let mut secret = Zeroizing::new(exact_hex(&field("aes_key"), KEY_BYTES, "aes_key")?);
            secret.extend_from_slice(&private_id);
            Ok(TokenRow {
                line,
                serial,
                kind,
                secret: SecretBytes(secret),
                digits: 0,
                period: 0,
                counter: 0,
                public_id: Some(public_id),
            })
        }
    }
}

/// One token given field by field (the Admin API's `POST tokens`), checked like a file's line.
pub fn parse_fields(field: &dyn Fn(&str) -> String) -> Result<TokenRow, InputError> {
    parse_row(field, 0)
}

/// The line of the record starting at byte `at` (skipping the blank lines csv counts before it).
fn line_at(text: &str, position: Option<&csv::Position>) -> u64 {
    let Some(p) = position else { return 0 };
    let mut at = (p.byte() as usize).min(text.len());
    let mut line = text[..at].matches('\n').count() as u64 + 1;
    while text[at..].starts_with('\n') {
        line += 1;
        at += 1;
    }
    line
}

/// Parses the whole file: all rows, or every problem found (duplicates within the file included).
pub fn parse_csv(text: &str) -> Result<Vec<TokenRow>, Vec<LineError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text).replace("\r\n", "\n");
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let header_error = |message: String| vec![LineError { line: 1, message }];
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_lowercase()).collect(),
        Err(_) => return Err(header_error("The first line must name the columns.".into())),
    };
    if let Some(unknown) = headers.iter().find(|h| !COLUMNS.contains(&h.as_str())) {
        return Err(header_error(format!("Unknown column \"{unknown}\".")));
    }
    if !headers.iter().any(|h| h == "serial") || !headers.iter().any(|h| h == "type") {
        return Err(header_error("The first line must name at least the columns serial and type.".into()));
    }
    let (mut rows, mut errors) = (Vec::new(), Vec::new());
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let message = "This line is not valid CSV (check its quotes).".into();
                errors.push(LineError { line: line_at(&text, e.position()), message });
                continue;
            }
        };
        let line = line_at(&text, record.position());
        if record.iter().all(|f| f.is_empty()) {
            continue;
        }
        if rows.len() + errors.len() >= MAX_ROWS {
            errors.push(LineError { line, message: format!("A file can hold at most {MAX_ROWS} tokens.") });
            break;
        }
        let field = |name: &str| -> String {
            headers.iter().position(|h| h == name).and_then(|i| record.get(i)).unwrap_or("").to_string()
        };
        match parse_row(&field, line) {
            Ok(row) => {
                let keys =
                    [Some(format!("serial {}", row.serial)), row.public_id.as_ref().map(|p| format!("public id {p}"))];
                if let Some((key, first)) = keys.iter().flatten().find_map(|k| seen.get(k).map(|f| (k.clone(), *f))) {
                    errors.push(LineError { line, message: format!("The {key} is already on line {first}.") });
                    continue;
                }
                for key in keys.into_iter().flatten() {
                    seen.insert(key, line);
                }
                rows.push(row);
            }
            Err(e) => errors.push(LineError { line, message: e.0 }),
        }
    }
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_HEX: &str = "3132333435363738393031323334353637383930";

    #[test]
    fn a_file_with_a_bom_crlf_and_every_type_reads_fully() {
        let text = format!(
            "\u{feff}serial,type,secret,digits,period,counter,public_id,private_id,aes_key\r\n\
             h-1,hotp,{RFC_HEX},6,,5,,,\r\n\
             t 2,TOTP,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,8,60,,,,\r\n\
             \r\n\
             5123456,yubico,,,,,cccjgjgkhcbb,010203040506,000102030405060708090a0b0c0d0e0f\r\n"
        );
        let rows = parse_csv(&text).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!((rows[0].serial.as_str(), rows[0].kind, rows[0].counter), ("H-1", TokenKind::Hotp, 5));
        assert_eq!(rows[0].secret.0.as_slice(), b"12345678901234567890");
        assert_eq!((rows[1].serial.as_str(), rows[1].digits, rows[1].period), ("T2", 8, 60));
        assert_eq!(rows[1].secret.0.as_slice(), b"12345678901234567890", "base32 read");
        assert_eq!(rows[2].line, 5, "the blank line is counted");
        assert_eq!(rows[2].public_id.as_deref(), Some("cccjgjgkhcbb"));
        assert_eq!(rows[2].secret.0.len(), 22);
        assert!(!format!("{:?}", rows[0]).contains("3132"), "Debug hides secrets");
    }

    #[test]
    fn malformed_lines_and_duplicates_are_reported_with_their_line_numbers() {
        let text = format!(
            "serial,type,secret,digits,period,counter\n\
             A1,hotp,{RFC_HEX},7,,\n\
             A2,totp,zz!,,,\n\
             A3,hotp,{RFC_HEX},,,\n\
             a3,totp,{RFC_HEX},,,\n\
             A4,smartcard,{RFC_HEX},,,\n\
             A5,hotp,3132,,,\n\
             A6,totp,{RFC_HEX},,45,\n"
        );
        let errors = parse_csv(&text).unwrap_err();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 5, 6, 7, 8], "{errors:?}");
        assert!(errors[2].message.contains("already on line 4"), "{errors:?}");
    }

    #[test]
    fn headers_must_name_known_columns() {
        assert_eq!(parse_csv("serial,kind\nA,hotp\n").unwrap_err()[0].line, 1);
        assert!(parse_csv("secret,digits\n").is_err());
    }

    #[test]
    fn yubico_rows_need_exact_key_and_id_lengths() {
        let head = "serial,type,public_id,private_id,aes_key\n";
        assert!(parse_csv(&format!("{head}1,yubico,cccjgjgkhcbb,0102,000102030405060708090a0b0c0d0e0f\n")).is_err());
        assert!(
            parse_csv(&format!("{head}1,yubico,notmodhex,010203040506,000102030405060708090a0b0c0d0e0f\n")).is_err()
        );
        assert!(parse_csv(&format!("{head}1,yubico,cccjgjgkhcbb,010203040506,0001\n")).is_err());
    }

    #[test]
    fn serials_are_normalised() {
        assert_eq!(parse_serial(" ab 12-3 ").unwrap(), "AB12-3");
        assert!(parse_serial("").is_err());
        assert!(parse_serial("<script>").is_err());
    }
}
