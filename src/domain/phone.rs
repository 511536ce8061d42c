//! Phone numbers as people type them, parsed with the `phonenumber` crate (a libphonenumber port)
//! into E.164, refused with a specific message when they cannot safely be called or texted.

use phonenumber::{Mode, Type, country};

use super::InputError;

/// A number Twofold may call or text: valid for its country, of a type people answer (mobile,
/// fixed line, VoIP or personal), in an allowed country. Stored and compared in E.164.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    e164: String,
    international: String,
    region: String,
}

/// Logs and `Debug` show only the masked form (no full numbers in logs).
impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

/// Most digits any E.164 number has (15) plus an international prefix ("00" or "011").
const MAX_DIGITS: usize = 18;
const MIN_DIGITS: usize = 5;

impl PhoneNumber {
    /// Parses `input` typed for the country `region` (ISO 3166 code such as "CA"; ignored when the
    /// number starts with `+` or `00`). `allowed` lists the countries that may be called.
    pub fn parse(input: &str, region: &str, allowed: &[String]) -> Result<Self, InputError> {
        let typed = input.trim();
        if typed.is_empty() {
            return Err(InputError::new("Enter your phone number."));
        }
        // Only ASCII digits and the usual separators: no letters (vanity numbers), no other
        // scripts' digits, so what is stored is exactly what was meant.
        if typed.chars().any(|c| c.is_alphabetic()) {
            return Err(InputError::new("A phone number can only contain digits. Remove the letters."));
        }
        if !typed.chars().all(|c| c.is_ascii_digit() || " -.()/+".contains(c)) {
            return Err(InputError::new(
                "A phone number can only contain digits, spaces, dashes, brackets and a leading +.",
            ));
        }
        if typed.char_indices().any(|(i, c)| c == '+' && i != 0) {
            return Err(InputError::new("Put the + only at the start, before the country code."));
        }
        let digits = typed.chars().filter(char::is_ascii_digit).count();
        if digits < MIN_DIGITS {
            return Err(InputError::new("That number is too short. Enter the full number with its area code."));
        }
        if digits > MAX_DIGITS {
            return Err(InputError::new("That number is too long. A phone number has at most 15 digits."));
        }
        // "00 44 …" is how much of the world dials abroad; read it as "+44 …" whatever the country.
        let normalised = match typed.strip_prefix("00") {
            Some(rest) => format!("+{rest}"),
            None => typed.to_string(),
        };
        let country: Option<country::Id> = region.trim().to_ascii_uppercase().parse().ok();
        if country.is_none() && !normalised.starts_with('+') {
            return Err(InputError::new("Choose your country, or start the number with + and the country code."));
        }
        let parsed = phonenumber::parse(country, &normalised).map_err(parse_error)?;
        if !parsed.is_valid() {
            return Err(InputError::new(invalid_message(&parsed)));
        }
        match parsed.number_type(&phonenumber::metadata::DATABASE) {
            Type::Mobile | Type::FixedLine | Type::FixedLineOrMobile | Type::Voip | Type::PersonalNumber => {}
            Type::PremiumRate | Type::SharedCost => {
                return Err(InputError::new(
                    "Premium-rate and shared-cost numbers cannot be used. Enter your own phone number.",
                ));
            }
            Type::TollFree | Type::Uan => {
                return Err(InputError::new(
                    "Free-phone and company numbers cannot be used. Enter your own phone number.",
                ));
            }
            _ => {
                return Err(InputError::new(
                    "That number cannot receive calls or texts from Twofold. Enter your own phone number.",
                ));
            }
        }
        let region = parsed.country().id().map(|id| id.as_ref().to_string()).unwrap_or_default();
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(&region)) {
            return Err(InputError::new(format!(
                "Numbers in {} cannot be used here. Enter a number in another country or contact your help desk.",
                country_name(&region)
            )));
        }
        Ok(Self {
            e164: parsed.format().mode(Mode::E164).to_string(),
            international: parsed.format().mode(Mode::International).to_string(),
            region,
        })
    }

    /// Re-reads a number stored in E.164 (no country rule: it was checked when stored).
    pub fn from_e164(stored: &str) -> Result<Self, InputError> {
        let parsed = phonenumber::parse(None, stored).map_err(parse_error)?;
        let region = parsed.country().id().map(|id| id.as_ref().to_string()).unwrap_or_default();
        Ok(Self {
            e164: parsed.format().mode(Mode::E164).to_string(),
            international: parsed.format().mode(Mode::International).to_string(),
            region,
        })
    }

    /// `+41332234567`.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// `+41 33 223 45 67`, as shown on "Is this the correct number?".
    pub fn international(&self) -> &str {
        &self.international
    }

    /// ISO 3166 code of the number's country ("CH").
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The country code and the last two digits, the rest hidden: `+41 ••• ••• 67`. For logs,
    /// the audit log and other people's eyes.
    pub fn masked(&self) -> String {
        mask(&self.e164)
    }

    /// The first `digits` digits after `+` (country code and area), for per-prefix budgets.
    pub fn prefix(&self, digits: usize) -> String {
        self.e164.chars().skip(1).take(digits).collect()
    }
}

/// Masks any stored E.164 string (see `PhoneNumber::masked`): the real country code (`+1`,
/// `+41`, `+853`) when the number parses, else the first two digits.
pub fn mask(e164: &str) -> String {
    let digits: Vec<char> = e164.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 6 {
        return "•••".into();
    }
    let head = match phonenumber::parse(None, e164) {
        Ok(parsed) => parsed.code().value().to_string(),
        Err(_) => digits[..2].iter().collect(),
    };
    let tail: String = digits[digits.len() - 2..].iter().collect();
    format!("+{head} ••• ••• {tail}")
}

/// A landline's extension: digits only, at most 10, optional.
pub fn parse_extension(input: &str) -> Result<Option<String>, InputError> {
    let value = input.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.len() > 10 || !value.chars().all(|c| c.is_ascii_digit()) {
        return Err(InputError::new("An extension is up to 10 digits, nothing else."));
    }
    Ok(Some(value.to_string()))
}

fn parse_error(e: phonenumber::ParseError) -> InputError {
    use phonenumber::ParseError as P;
    InputError::new(match e {
        P::InvalidCountryCode => "That country code does not exist. Check the digits after the +.",
        P::TooShortAfterIdd | P::TooShortNsn => "That number is too short. Enter the full number with its area code.",
        P::TooLong => "That number is too long for its country. Check the number.",
        _ => "That is not a phone number. Enter the number with its area code.",
    })
}

fn invalid_message(parsed: &phonenumber::PhoneNumber) -> String {
    let region = parsed.country().id().map(|id| id.as_ref().to_string());
    let name = region.as_deref().map(country_name).unwrap_or("that country");
    let national = parsed.national().to_string().len();
    // libphonenumber's metadata knows the lengths; the commonest mistake is one digit too many or few.
    let lengths: Vec<usize> = parsed
        .metadata(&phonenumber::metadata::DATABASE)
        .map(|m| {
            let d = m.descriptors();
            // The lengths of numbers people answer (not the longest special-service numbers).
            [d.fixed_line(), d.mobile(), d.voip(), d.personal_number()]
                .into_iter()
                .flatten()
                .flat_map(|desc| desc.possible_length().iter().map(|&l| l as usize))
                .collect()
        })
        .unwrap_or_default();
    match lengths.iter().max() {
        Some(&max) if national > max => format!("That number is too long for {name}. Check the number."),
        _ => match lengths.iter().min() {
            Some(&min) if national < min => format!("That number is too short for {name}. Check the number."),
            _ => format!("That is not a valid number in {name}. Check the number and the country."),
        },
    }
}

/// Countries offered by default: where most of our users' phones are. Administrators widen or
/// narrow the list with `telephony.allowed_countries`.
pub const DEFAULT_ALLOWED: &[&str] = &[
    "US", "CA", "GB", "IE", "FR", "DE", "CH", "AT", "LI", "NL", "BE", "LU", "IT", "ES", "PT", "DK", "SE", "NO", "FI",
    "IS", "PL", "CZ", "AU", "NZ",
];

/// English names for the countries a form may offer; other codes are shown as they are.
pub fn country_name(code: &str) -> &str {
    const NAMES: &[(&str, &str)] = &[
        ("US", "the United States"),
        ("CA", "Canada"),
        ("GB", "the United Kingdom"),
        ("IE", "Ireland"),
        ("FR", "France"),
        ("DE", "Germany"),
        ("CH", "Switzerland"),
        ("AT", "Austria"),
        ("LI", "Liechtenstein"),
        ("NL", "the Netherlands"),
        ("BE", "Belgium"),
        ("LU", "Luxembourg"),
        ("IT", "Italy"),
        ("ES", "Spain"),
        ("PT", "Portugal"),
        ("DK", "Denmark"),
        ("SE", "Sweden"),
        ("NO", "Norway"),
        ("FI", "Finland"),
        ("IS", "Iceland"),
        ("PL", "Poland"),
        ("CZ", "Czechia"),
        ("AU", "Australia"),
        ("NZ", "New Zealand"),
        ("JP", "Japan"),
        ("IN", "India"),
        ("CN", "China"),
        ("BR", "Brazil"),
        ("MX", "Mexico"),
        ("ZA", "South Africa"),
    ];
    NAMES.iter().find(|(c, _)| c.eq_ignore_ascii_case(code)).map(|(_, n)| *n).unwrap_or(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        DEFAULT_ALLOWED.iter().map(|s| s.to_string()).collect()
    }

    fn ok(input: &str, region: &str) -> PhoneNumber {
        PhoneNumber::parse(input, region, &allowed()).unwrap_or_else(|e| panic!("{input} ({region}): {e}"))
    }

    fn err(input: &str, region: &str) -> String {
        PhoneNumber::parse(input, region, &allowed()).expect_err(input).0
    }

    #[test]
    fn the_forms_people_type_become_e164() {
        assert_eq!(ok("+41 33 223 45 67", "").e164(), "+41332234567");
        assert_eq!(ok("+41 33 223 45 67", "US").e164(), "+41332234567", "+ overrides the country");
        assert_eq!(ok("(204) 555-0123", "CA").e164(), "+12045550123");
        assert_eq!(ok("204-555-0123", "ca").e164(), "+12045550123");
        assert_eq!(ok("00 44 1509 222333", "").e164(), "+441509222333");
        assert_eq!(ok("0491 570 156", "AU").e164(), "+61491570156");
        assert_eq!(ok("+61-491-570-159", "").e164(), "+61491570159");
        assert_eq!(ok("033 223 45 67", "CH").e164(), "+41332234567");
    }

    #[test]
    fn the_confirmation_shows_the_international_form() {
        assert_eq!(ok("+41332234567", "").international(), "+41 33 223 45 67");
        assert_eq!(ok("(204) 555-0123", "CA").region(), "CA");
    }

    #[test]
    fn letters_and_other_scripts_are_refused() {
        assert!(err("1-800-FLOWERS", "US").contains("letters"));
        assert!(err("+41 33 ٢٢٣ 45 67", "").contains("only contain digits"));
        assert!(err("41+332234567", "").contains("+ only at the start"));
    }

    #[test]
    fn too_short_and_too_long_are_said_so() {
        assert!(err("1234", "CH").contains("too short"));
        assert!(err("+41 33 123456789", "").contains("too long"), "{}", err("+41 33 123456789", ""));
        assert!(err("+1 204 555 0123 4567 8901", "").contains("too long"));
        assert!(err("", "CH").contains("Enter your phone number"));
    }

    #[test]
    fn numbers_invalid_for_their_country_are_refused() {
        assert!(err("+44 7700 900123", "").contains("not a valid number"), "{}", err("+44 7700 900123", ""));
        assert!(err("(204) 555-0123", "").contains("Choose your country"));
        assert!(err("+999 1234 5678", "").contains("country code"));
    }

    #[test]
    fn premium_rate_free_phone_and_short_codes_are_refused() {
        assert!(err("+44 909 879 0000", "").contains("Premium-rate"), "{}", err("+44 909 879 0000", ""));
        assert!(err("+1 900 555 0199", "").contains("Premium-rate") || err("+1 900 555 0199", "").contains("valid"));
        assert!(err("+1 800 555 0199", "").contains("Free-phone"), "{}", err("+1 800 555 0199", ""));
        assert!(err("12345", "US").contains("short") || err("12345", "US").contains("valid"));
    }

    #[test]
    fn countries_outside_the_allowed_list_are_refused_by_name() {
        let only_ca = vec!["CA".to_string()];
        let e = PhoneNumber::parse("+41 33 223 45 67", "", &only_ca).unwrap_err().0;
        assert!(e.contains("Switzerland"), "{e}");
        assert!(PhoneNumber::parse("(204) 555-0123", "CA", &only_ca).is_ok());
    }

    #[test]
    fn logs_see_only_the_masked_number() {
        let n = ok("+41 33 223 45 67", "");
        assert_eq!(n.masked(), "+41 ••• ••• 67");
        assert_eq!(super::mask("+12045550123"), "+1 ••• ••• 23", "the real country code, not two digits");
        assert_eq!(super::mask("+85328123456"), "+853 ••• ••• 56");
        assert!(!format!("{n:?}").contains("2234567"));
        assert_eq!(n.prefix(4), "4133");
    }

    #[test]
    fn stored_numbers_read_back() {
        let n = PhoneNumber::from_e164("+12045550123").unwrap();
        assert_eq!(n.international(), "+1 204-555-0123");
        assert_eq!(n.region(), "CA");
    }

    #[test]
    fn extensions_are_short_digit_strings() {
        assert_eq!(parse_extension(" 123 ").unwrap().as_deref(), Some("123"));
        assert_eq!(parse_extension("").unwrap(), None);
        assert!(parse_extension("12a").is_err());
        assert!(parse_extension("12345678901").is_err());
    }
}
