//! SCIM filters (RFC 7644 §3.4.2.2), parsed into a small tree and evaluated against a resource's
//! JSON (PATCH paths, which embed filters, are `path.rs`). Written here because no maintained
//! crate parses both the filter grammar and the value-path form PATCH needs (decision in
//! docs/architecture.md).
//! Attribute names and string comparisons are case-insensitive (every attribute Twofold publishes
//! has `caseExact: false`).

use serde_json::Value;

use super::ScimError;

/// `urn:…:attr.sub`: `urn` is empty for the resource's core schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub urn: String,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    pub(super) fn parse(text: &str) -> Result<Self, ScimError> {
        let bad = || ScimError::invalid_filter(format!("“{text}” is not an attribute name"));
        let (urn, rest) = if text.len() > 4 && text[..4].eq_ignore_ascii_case("urn:") {
            let cut = text.rfind(':').ok_or_else(bad)?;
            (text[..cut].to_string(), &text[cut + 1..])
        } else {
            (String::new(), text)
        };
        let (name, sub) = match rest.split_once('.') {
            Some((name, sub)) => (name, Some(sub.to_string())),
            None => (rest, None),
        };
        let ok =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$');
        if !ok(name) || !sub.as_deref().is_none_or(ok) {
            return Err(bad());
        }
        Ok(Self { urn, name: name.to_string(), sub })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare(AttrPath, Op, Value),
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work"]`: some value of the multi-valued attribute matches.
    Values(AttrPath, Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Literal(Value),
    Open,
    Close,
    OpenBracket,
    CloseBracket,
}

fn tokens(text: &str) -> Result<Vec<Token>, ScimError> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '[' => {
                out.push(Token::OpenBracket);
                i += 1;
            }
            ']' => {
                out.push(Token::CloseBracket);
                i += 1;
            }
            '"' => {
                let start = i;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                if i >= chars.len() {
                    return Err(ScimError::invalid_filter("a string is not closed (missing \")"));
                }
                let quoted: String = chars[start..=i].iter().collect();
                let value: Value = serde_json::from_str(&quoted)
                    .map_err(|_| ScimError::invalid_filter(format!("{quoted} is not a valid string")))?;
                out.push(Token::Literal(value));
                i += 1;
            }
            _ => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], ' ' | '\t' | '(' | ')' | '[' | ']' | '"') {
                    i += 1;
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

fn op(word: &str) -> Option<Op> {
    Some(match word.to_ascii_lowercase().as_str() {
        "eq" => Op::Eq,
        "ne" => Op::Ne,
        "co" => Op::Co,
        "sw" => Op::Sw,
        "ew" => Op::Ew,
        "gt" => Op::Gt,
        "ge" => Op::Ge,
        "lt" => Op::Lt,
        "le" => Op::Le,
        _ => return None,
    })
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.at += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.at += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, ScimError> {
        if self.keyword("not") {
            self.at += 1;
            if self.next() != Some(Token::Open) {
                return Err(ScimError::invalid_filter("“not” must be followed by “(”"));
            }
            let inner = self.or()?;
            return self.close(Token::Close, ")").map(|_| Filter::Not(Box::new(inner)));
        }
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or()?;
                self.close(Token::Close, ")")?;
                Ok(inner)
            }
            Some(Token::Word(word)) => {
                let attr = AttrPath::parse(&word)?;
                if self.peek() == Some(&Token::OpenBracket) {
                    self.at += 1;
                    let inner = self.or()?;
                    self.close(Token::CloseBracket, "]")?;
                    return Ok(Filter::Values(attr, Box::new(inner)));
                }
                self.comparison(attr)
            }
            other => Err(ScimError::invalid_filter(format!("expected an attribute name, found {}", describe(other)))),
        }
    }

    fn comparison(&mut self, attr: AttrPath) -> Result<Filter, ScimError> {
        let word = match self.next() {
            Some(Token::Word(w)) => w,
            other => return Err(ScimError::invalid_filter(format!("expected an operator, found {}", describe(other)))),
        };
        if word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(attr));
        }
        let op = op(&word).ok_or_else(|| ScimError::invalid_filter(format!("“{word}” is not an operator")))?;
        let value = match self.next() {
            Some(Token::Literal(v)) => v,
            Some(Token::Word(w)) => match w.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                _ => serde_json::from_str::<serde_json::Number>(&w)
                    .map(Value::Number)
                    .map_err(|_| ScimError::invalid_filter(format!("“{w}” is not a value (quote strings)")))?,
            },
            other => return Err(ScimError::invalid_filter(format!("expected a value, found {}", describe(other)))),
        };
        Ok(Filter::Compare(attr, op, value))
    }

    fn close(&mut self, want: Token, shown: &str) -> Result<(), ScimError> {
        if self.next() == Some(want) {
            Ok(())
        } else {
            Err(ScimError::invalid_filter(format!("missing “{shown}”")))
        }
    }
}

fn describe(token: Option<Token>) -> String {
    match token {
        None => "the end".into(),
        Some(Token::Word(w)) => format!("“{w}”"),
        Some(Token::Literal(v)) => v.to_string(),
        Some(Token::Open) => "“(”".into(),
        Some(Token::Close) => "“)”".into(),
        Some(Token::OpenBracket) => "“[”".into(),
        Some(Token::CloseBracket) => "“]”".into(),
    }
}

impl Filter {
    pub fn parse(text: &str) -> Result<Self, ScimError> {
        let mut parser = Parser { tokens: tokens(text)?, at: 0 };
        let filter = parser.or()?;
        match parser.next() {
            None => Ok(filter),
            other => Err(ScimError::invalid_filter(format!("unexpected {} after the filter", describe(other)))),
        }
    }

    /// Whether `resource` (a JSON object) matches.
    pub fn matches(&self, resource: &Value) -> bool {
        match self {
            Filter::And(a, b) => a.matches(resource) && b.matches(resource),
            Filter::Or(a, b) => a.matches(resource) || b.matches(resource),
            Filter::Not(a) => !a.matches(resource),
            Filter::Present(path) => values(resource, path).iter().any(|v| present(v)),
            Filter::Compare(path, op, want) => values(resource, path).iter().any(|v| compare(v, *op, want)),
            Filter::Values(path, inner) => {
                let top = AttrPath { urn: path.urn.clone(), name: path.name.clone(), sub: None };
                values(resource, &top).iter().any(|v| inner.matches(v))
            }
        }
    }

    /// `Some(value)` when the filter is exactly `attr eq "value"` (used to answer it with an index).
    pub fn equality(&self, name: &str) -> Option<&str> {
        match self {
            Filter::Compare(path, Op::Eq, Value::String(v))
                if path.urn.is_empty() && path.sub.is_none() && path.name.eq_ignore_ascii_case(name) =>
            {
                Some(v)
            }
            _ => None,
        }
    }

    /// The `attr eq value` pairs of a conjunction (to build the value a PATCH adds when its
    /// value filter matched nothing, as Entra ID expects).
    pub fn equalities(&self) -> Vec<(String, Value)> {
        match self {
            Filter::Compare(path, Op::Eq, v) if path.sub.is_none() => vec![(path.name.clone(), v.clone())],
            Filter::And(a, b) => [a.equalities(), b.equalities()].concat(),
            _ => Vec::new(),
        }
    }
}

/// The member of an object named `name`, case-insensitively.
pub fn member<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// Every value at `path` (a multi-valued attribute gives each of its values).
fn values<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let scope = if path.urn.is_empty() {
        Some(resource)
    } else {
        // A core-schema URN names the resource itself; an extension URN its object.
        member(resource, &path.urn).or_else(|| {
            let core =
                resource.get("schemas").and_then(Value::as_array).and_then(|s| s.first()).and_then(Value::as_str);
            core.filter(|c| c.eq_ignore_ascii_case(&path.urn)).map(|_| resource)
        })
    };
    let Some(top) = scope.and_then(|s| member(s, &path.name)) else { return Vec::new() };
    let spread: Vec<&Value> = match top {
        Value::Array(items) => items.iter().collect(),
        v => vec![v],
    };
    match &path.sub {
        None => spread,
        Some(sub) => spread.into_iter().filter_map(|v| member(v, sub)).collect(),
    }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn compare(have: &Value, op: Op, want: &Value) -> bool {
    match (have, want) {
        (Value::String(h), Value::String(w)) => {
            let (h, w) = (h.to_lowercase(), w.to_lowercase());
            match op {
                Op::Eq => h == w,
                Op::Ne => h != w,
                Op::Co => h.contains(&w),
                Op::Sw => h.starts_with(&w),
                Op::Ew => h.ends_with(&w),
                Op::Gt => h > w,
                Op::Ge => h >= w,
                Op::Lt => h < w,
                Op::Le => h <= w,
            }
        }
        (Value::Bool(h), Value::Bool(w)) => match op {
            Op::Eq => h == w,
            Op::Ne => h != w,
            _ => false,
        },
        (Value::Number(h), Value::Number(w)) => {
            let (Some(h), Some(w)) = (h.as_f64(), w.as_f64()) else { return false };
            match op {
                Op::Eq => h == w,
                Op::Ne => h != w,
                Op::Gt => h > w,
                Op::Ge => h >= w,
                Op::Lt => h < w,
                Op::Le => h <= w,
                _ => false,
            }
        }
        (_, Value::Null) => match op {
            Op::Eq => !present(have),
            Op::Ne => present(have),
            _ => false,
        },
        _ => op == Op::Ne,
    }
}
