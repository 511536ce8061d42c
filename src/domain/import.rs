//! Reading a user import (CSV): every line checked, every problem reported with its line number,
//! nothing half-read. Columns: username, display_name, email, and optionally groups (separated by
//! `;`), date_of_birth (YYYY-MM-DD) and id_last4 (the facts for self-service recovery).

use std::collections::HashMap;

use super::{DisplayName, Email, InputError, Username};

pub const MAX_ROWS: usize = 50_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityFacts {
    /// Canonical `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// Four upper-case letters or digits.
    pub id_last4: String,
}

impl IdentityFacts {
    pub fn parse(date_of_birth: &str, id_last4: &str) -> Result<Self, InputError> {
        Ok(Self { date_of_birth: parse_date_of_birth(date_of_birth)?, id_last4: parse_id_last4(id_last4)? })
    }
}

/// A date of birth as `YYYY-MM-DD`, from 1900 to this century.
pub fn parse_date_of_birth(input: &str) -> Result<String, InputError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(input.trim(), &format)
        .map_err(|_| InputError::new("Enter the date of birth as year-month-day, for example 2001-09-30."))?;
    if !(1900..=2100).contains(&date.year()) {
        return Err(InputError::new("That date of birth is out of range."));
    }
    date.format(&format).map_err(|_| InputError::new("That date of birth cannot be read."))
}

/// The last four characters of an ID document: letters or digits, case-insensitive.
pub fn parse_id_last4(input: &str) -> Result<String, InputError> {
    let value: String = input.trim().to_uppercase();
    if value.chars().count() != 4 || !value.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(InputError::new("Enter exactly the last 4 letters or digits of the ID document."));
    }
    Ok(value)
}

#[derive(Debug, Clone)]
pub struct ImportRow {
    pub line: u64,
    pub username: Username,
    pub display_name: DisplayName,
    pub email: Email,
    pub groups: Vec<String>,
    pub facts: Option<IdentityFacts>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

fn group_name(input: &str) -> Result<String, InputError> {
    let g = input.trim().to_lowercase();
    if g.is_empty() || g.len() > 64 || !g.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        return Err(InputError::new(format!("\"{}\" is not a group name (letters, digits, - _ .).", input.trim())));
    }
    Ok(g)
}

/// Parses the whole file: all rows, or every error found.
pub fn parse_csv(text: &str) -> Result<Vec<ImportRow>, Vec<LineError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // CRLF files (spreadsheets on Windows) would shift csv's line numbers by one; count lines on LF.
    let text = text.replace("\r\n", "\n");
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    // csv reports where it started looking for a record, which can be a blank line before it:
    // count the line of the record's first character from the byte offset instead.
    let line_of = |position: Option<&csv::Position>| -> u64 {
        let Some(p) = position else { return 0 };
        let mut at = (p.byte() as usize).min(text.len());
        let mut line = text[..at].matches('\n').count() as u64 + 1;
        while text[at..].starts_with('\n') {
            line += 1;
            at += 1;
        }
        line
    };
    let header_error = |message: &str| vec![LineError { line: 1, message: message.to_string() }];
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_lowercase()).collect(),
        Err(_) => return Err(header_error("The first line must name the columns.")),
    };
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (Some(c_user), Some(c_name), Some(c_email)) = (column("username"), column("display_name"), column("email"))
    else {
        return Err(header_error("The first line must name the columns username, display_name and email."));
    };
    let (c_groups, c_dob, c_id) = (column("groups"), column("date_of_birth"), column("id_last4"));
    if c_dob.is_some() != c_id.is_some() {
        return Err(header_error("Give both date_of_birth and id_last4 columns, or neither."));
    }
    if let Some(unknown) = headers
        .iter()
        .find(|h| !["username", "display_name", "email", "groups", "date_of_birth", "id_last4"].contains(&h.as_str()))
    {
        return Err(header_error(&format!("Unknown column \"{unknown}\".")));
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = line_of(e.position());
                errors.push(LineError { line, message: "This line is not valid CSV (check its quotes).".into() });
                continue;
            }
        };
        let line = line_of(record.position());
        if record.iter().all(|f| f.is_empty()) {
            continue;
        }
        if rows.len() + errors.len() >= MAX_ROWS {
            errors.push(LineError { line, message: format!("A file can hold at most {MAX_ROWS} users.") });
            break;
        }
        let field = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("");
        let parsed = (|| -> Result<ImportRow, InputError> {
            let username = Username::parse(field(Some(c_user)))?;
            let display_name = DisplayName::parse(field(Some(c_name)))?;
            let email = Email::parse(field(Some(c_email)))?;
            let mut groups: Vec<String> = field(c_groups)
                .split(';')
                .filter(|g| !g.trim().is_empty())
                .map(group_name)
                .collect::<Result<_, _>>()?;
            groups.sort();
            groups.dedup();
            let (dob, id) = (field(c_dob), field(c_id));
            let facts = match (dob.is_empty(), id.is_empty()) {
                (true, true) => None,
                (false, false) => Some(IdentityFacts::parse(dob, id)?),
                _ => {
                    return Err(InputError::new(
                        "Give both the date of birth and the last 4 characters of the ID, or neither.",
                    ));
                }
            };
            Ok(ImportRow { line, username, display_name, email, groups, facts })
        })();
        match parsed {
            Ok(row) => {
                if let Some(first) = seen.insert(row.username.as_str().to_string(), line) {
                    errors.push(LineError {
                        line,
                        message: format!("{} is already on line {first}.", row.username.as_str()),
                    });
                } else {
                    rows.push(row);
                }
            }
            Err(e) => errors.push(LineError { line, message: e.0 }),
        }
    }
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_with_a_bom_quotes_and_groups_reads_fully() {
        let text = "\u{feff}username,display_name,email,groups,date_of_birth,id_last4\r\n\
                    ada,\"Lovelace, Ada\",ada@example.edu,staff;Math,1995-12-10,ab12\r\n\
                    \r\n\
                    bob,Bob,bob@example.edu,,,\r\n";
        let rows = parse_csv(text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].display_name.as_str(), "Lovelace, Ada");
        assert_eq!(rows[0].groups, vec!["math".to_string(), "staff".to_string()]);
        assert_eq!(rows[0].facts.as_ref().unwrap().id_last4, "AB12");
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[1].line, 4);
        assert!(rows[1].facts.is_none());
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number() {
        let text = "username,display_name,email,date_of_birth,id_last4\n\
                    ada,Ada,ada@example.edu,2001-02-30,AB12\n\
                    bob,Bob,not-an-email,,\n\
                    ada,Ada again,ada2@example.edu,,\n\
                    carol,Carol,carol@example.edu,2001-02-03,\n\
                    dave,Dave,dave@example.edu,2001-02-03,A-1!\n";
        let errors = parse_csv(text).unwrap_err();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 5, 6], "{errors:?}");
        assert!(errors[0].message.contains("year-month-day"));
        let text = "username,display_name,email\nada,Ada,ada@example.edu\nada,Ada,ada@example.edu\n";
        let errors = parse_csv(text).unwrap_err();
        assert_eq!(errors, vec![LineError { line: 3, message: "ada is already on line 2.".into() }]);
    }

    #[test]
    fn headers_are_checked() {
        assert!(parse_csv("user,name\nada,Ada\n").unwrap_err()[0].message.contains("username, display_name and email"));
        assert!(parse_csv("username,display_name,email,date_of_birth\n").unwrap_err()[0].message.contains("both"));
        assert!(parse_csv("username,display_name,email,shoe_size\n").unwrap_err()[0].message.contains("shoe_size"));
    }

    #[test]
    fn facts_are_normalised() {
        let f = IdentityFacts::parse(" 2001-09-30 ", " x9z1 ").unwrap();
        assert_eq!(f, IdentityFacts { date_of_birth: "2001-09-30".into(), id_last4: "X9Z1".into() });
        assert!(parse_date_of_birth("30/09/2001").is_err());
        assert!(parse_date_of_birth("1800-01-01").is_err());
        assert!(parse_id_last4("12345").is_err());
    }
}
