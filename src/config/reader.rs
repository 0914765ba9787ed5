//! A walker over the spanned TOML document that records every problem (unknown key, wrong type,
//! bad value) with its line and key path, and keeps going with a fallback value, so that one run
//! reports the whole file. serde's `deny_unknown_fields` would stop at the first problem.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{Choice, Problem};

/// The environment lookup used for `${VAR}` expansion; injected so tests need not mutate the
/// process environment.
pub(super) type EnvLookup<'e> = &'e dyn Fn(&str) -> Option<String>;

/// Everything a check needs to report a problem, plus the facts that depend on the file.
pub(super) struct Ctx<'t> {
    text: &'t str,
    pub file: &'t Path,
    pub file_private: bool,
    pub env: EnvLookup<'t>,
    pub problems: Vec<Problem>,
}

impl<'t> Ctx<'t> {
    pub fn new(text: &'t str, file: &'t Path, file_private: bool, env: EnvLookup<'t>) -> Self {
        Ctx {
            text,
            file,
            file_private,
            env,
            problems: Vec::new(),
        }
    }

    /// 1-based line of a byte offset in the file.
    pub fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        // A span may in theory end inside a multi-byte character; count on bytes to stay safe.
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    pub fn report(&mut self, span: &Range<usize>, key: &str, message: impl Into<String>) {
        let problem = Problem {
            file: self.file.to_path_buf(),
            line: self.line(span.start),
            key: key.to_owned(),
            message: message.into(),
        };
        self.problems.push(problem);
    }

    pub fn report_at<T>(&mut self, val: &Val<T>, message: impl Into<String>) {
        self.report(&val.span.clone(), &val.key.clone(), message);
    }
}

/// A value with where it came from.
#[derive(Debug, Clone)]
pub(super) struct Val<T> {
    pub value: T,
    pub span: Range<usize>,
    pub key: String,
}

/// How a TOML value's type is named in messages.
fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date/time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn wrong_type(ctx: &mut Ctx<'_>, value: &Spanned<DeValue<'_>>, key: &str, expected: &str) {
    let found = type_name(value.get_ref());
    ctx.report(
        &value.span(),
        key,
        format!("expected {expected}, found {found}"),
    );
}

fn as_string(ctx: &mut Ctx<'_>, value: &Spanned<DeValue<'_>>, key: String) -> Option<Val<String>> {
    match value.get_ref() {
        DeValue::String(s) => Some(Val {
            value: s.to_string(),
            span: value.span(),
            key,
        }),
        _ => {
            wrong_type(ctx, value, &key, "a string");
            None
        }
    }
}

/// One table of the document, with its dotted path (`account[0].imap`).
pub(super) struct Section<'a, 'i> {
    table: &'a DeTable<'i>,
    pub path: String,
    pub span: Range<usize>,
}

impl<'a, 'i> Section<'a, 'i> {
    /// Opens a table and reports every key not in `known`.
    pub fn open(
        ctx: &mut Ctx<'_>,
        table: &'a DeTable<'i>,
        path: String,
        span: Range<usize>,
        known: &[&str],
    ) -> Self {
        let section = Section { table, path, span };
        for (key, _) in table.iter() {
            let name: &str = key.get_ref();
            if !known.contains(&name) {
                let where_ = if section.path.is_empty() {
                    "at the top level".to_owned()
                } else {
                    format!("in [{}]", strip_indices(&section.path))
                };
                ctx.report(
                    &key.span(),
                    &section.key_path(name),
                    format!(
                        "unknown key {name:?} {where_}; known keys: {}",
                        known.join(", ")
                    ),
                );
            }
        }
        section
    }

    pub fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn get(&self, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
        self.table.get(key)
    }

    /// Reports a required key that is absent, at the table's header line.
    pub fn missing(&self, ctx: &mut Ctx<'_>, key: &str, hint: &str) {
        let message = if hint.is_empty() {
            format!("missing required key {key:?}")
        } else {
            format!("missing required key {key:?}: {hint}")
        };
        ctx.report(&self.span.clone(), &self.key_path(key), message);
    }

    /// The raw value and where it is, for keys that accept several TOML types.
    pub fn raw(&self, key: &str) -> Option<Val<&'a DeValue<'i>>> {
        self.get(key).map(|value| Val {
            value: value.get_ref(),
            span: value.span(),
            key: self.key_path(key),
        })
    }

    pub fn string(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Val<String>> {
        let value = self.get(key)?;
        as_string(ctx, value, self.key_path(key))
    }

    pub fn required_string(&self, ctx: &mut Ctx<'_>, key: &str, hint: &str) -> Option<Val<String>> {
        if self.get(key).is_none() {
            self.missing(ctx, key, hint);
            return None;
        }
        self.string(ctx, key)
    }

    pub fn boolean(&self, ctx: &mut Ctx<'_>, key: &str, default: bool) -> bool {
        let Some(value) = self.get(key) else {
            return default;
        };
        match value.get_ref() {
            DeValue::Boolean(b) => *b,
            _ => {
                wrong_type(ctx, value, &self.key_path(key), "a boolean (true or false)");
                default
            }
        }
    }

    /// A whole number in `min..=max`, or `default` when absent or invalid (the problem is kept).
    pub fn number(&self, ctx: &mut Ctx<'_>, key: &str, min: u32, max: u32, default: u32) -> u32 {
        let Some(value) = self.get(key) else {
            return default;
        };
        let path = self.key_path(key);
        let DeValue::Integer(int) = value.get_ref() else {
            wrong_type(ctx, value, &path, "a whole number");
            return default;
        };
        let parsed = i128::from_str_radix(int.as_str(), int.radix());
        let message = match parsed {
            Ok(n) if n < 0 && min == 0 => "must not be negative".to_owned(),
            Ok(n) if n < i128::from(min) => format!("must be at least {min}, found {n}"),
            Ok(n) if n > i128::from(max) => format!("must be at most {max}, found {n}"),
            // In range, so it fits in u32.
            Ok(n) => return u32::try_from(n).unwrap_or(default),
            Err(_) => "number out of range".to_owned(),
        };
        ctx.report(&value.span(), &path, message);
        default
    }

    /// An array of strings; wrong elements are reported one by one and left out.
    pub fn string_list(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Val<Vec<Val<String>>>> {
        let value = self.get(key)?;
        let path = self.key_path(key);
        let DeValue::Array(items) = value.get_ref() else {
            wrong_type(ctx, value, &path, "an array of strings");
            return None;
        };
        let strings = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| as_string(ctx, item, format!("{path}[{i}]")))
            .collect();
        Some(Val {
            value: strings,
            span: value.span(),
            key: path,
        })
    }

    /// An array of arrays of strings (`scope.aliases`).
    pub fn string_list_list(&self, ctx: &mut Ctx<'_>, key: &str) -> Vec<Vec<Val<String>>> {
        let Some(value) = self.get(key) else {
            return Vec::new();
        };
        let path = self.key_path(key);
        let DeValue::Array(groups) = value.get_ref() else {
            wrong_type(ctx, value, &path, "an array of arrays of addresses");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, group) in groups.iter().enumerate() {
            let group_path = format!("{path}[{i}]");
            let DeValue::Array(items) = group.get_ref() else {
                wrong_type(ctx, group, &group_path, "an array of addresses");
                continue;
            };
            let strings = items
                .iter()
                .enumerate()
                .filter_map(|(j, item)| as_string(ctx, item, format!("{group_path}[{j}]")))
                .collect();
            out.push(strings);
        }
        out
    }

    /// One of the fixed strings of an enumeration; `None` when absent or invalid (reported).
    pub fn choice<E: Choice>(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Val<E>> {
        let text = self.string(ctx, key)?;
        match E::ALL.iter().find(|e| e.as_str() == text.value) {
            Some(&value) => Some(Val {
                value,
                span: text.span,
                key: text.key,
            }),
            None => {
                let expected: Vec<&str> = E::ALL.iter().map(|e| e.as_str()).collect();
                let message = format!(
                    "invalid value {:?}; expected one of: {}",
                    text.value,
                    expected.join(", ")
                );
                ctx.report_at(&text, message);
                None
            }
        }
    }

    /// A sub-table; `None` when absent or not a table (then reported).
    pub fn table(&self, ctx: &mut Ctx<'_>, key: &str, known: &[&str]) -> Option<Section<'a, 'i>> {
        let value = self.get(key)?;
        let path = self.key_path(key);
        match value.get_ref() {
            DeValue::Table(table) => Some(Section::open(ctx, table, path, value.span(), known)),
            _ => {
                wrong_type(
                    ctx,
                    value,
                    &path,
                    &format!("a table [{}]", strip_indices(&path)),
                );
                None
            }
        }
    }

    /// An array of tables (`[[account]]`), each with its index in the key path.
    pub fn tables(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        known: &[&str],
    ) -> Option<Vec<Section<'a, 'i>>> {
        let value = self.get(key)?;
        let path = self.key_path(key);
        let DeValue::Array(items) = value.get_ref() else {
            wrong_type(ctx, value, &path, &format!("an array of tables [[{key}]]"));
            return Some(Vec::new());
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            match item.get_ref() {
                DeValue::Table(table) => {
                    out.push(Section::open(ctx, table, item_path, item.span(), known));
                }
                _ => wrong_type(ctx, item, &item_path, "a table"),
            }
        }
        Some(out)
    }
}

/// `account[0].imap` → `account.imap`, for naming a table as it is written in the file.
fn strip_indices(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}
