//! `tern run COMPONENT`: runs a `wasi:cli/command` component's
//! `wasi:cli/run` export with WASI 0.2 linked, or, with
//! `--invoke 'name(args)'`, any exported function, its arguments written in
//! the WebAssembly Value Encoding (WAVE) and its result printed the same way.
//!
//! WAVE, as accepted here: `true`, `42`, `-1`, `1.5`, `nan`, `inf`, `'c'`,
//! `"text"` (escapes `\n \t \r \\ \" \' \u{…}`), `[1, 2]` (lists), `(1, "a")`
//! (tuples), `{x: 1, y: 2}` (records), `{read, write}` (flags), `name` or
//! `name(v)` (variants, enums), `some(v)`/`none`, `ok`/`ok(v)`/`err`/`err(v)`.
//! Parsing is directed by the parameter types, so `1` is a `u8` or an `f64`
//! as the function says. A function in an exported instance is named
//! `instance#function`. WASI 0.2 is linked either way; other imports are
//! defined to trap with their name when called.

use crate::input::Kind;
use crate::run::wasi::Host;
use anyhow::{bail, Context as _, Result};
use std::path::Path;
use std::process::ExitCode;
use tern::component::types::Type;
use tern::component::{Component, Linker, ResourceTable, Val};
use tern::{Engine, Store};
use tern_wasi::{I32Exit, WasiCtx};

/// Whether `e` is a guest trap (as opposed to a host or link error).
fn is_trap(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<tern::Trap>().is_some()
            || c.downcast_ref::<tern::component::ComponentTrap>().is_some()
    })
}

/// Runs the component at `path` on `engine` (the component model on): its
/// `wasi:cli/run` export, or `call` (`name(args)`, or `name` with `args` as
/// separate values). `wasi` is the guest's WASI context (arguments,
/// environment, directories, stdio).
///
/// # Errors
/// Fails when the component cannot be loaded or instantiated, when the
/// function or its arguments are wrong; a trap prints and exits with 134,
/// an exit through `wasi:cli/exit` exits with its code.
pub fn run(
    engine: &Engine,
    path: &Path,
    kind: Kind,
    call: Option<&str>,
    args: &[String],
    allow_precompiled: bool,
    wasi: WasiCtx,
) -> Result<ExitCode> {
    let component = if kind.is_artifact() {
        if !allow_precompiled {
            bail!(
                "`{}` is a precompiled artifact; pass `--allow-precompiled` if you trust it",
                path.display()
            );
        }
        // SAFETY: the user vouched for the file with `--allow-precompiled`.
        #[allow(unsafe_code, reason = "loading an artifact the user vouched for")]
        unsafe {
            Component::deserialize_file(engine, path)?
        }
    } else {
        Component::from_file(engine, path)?
    };
    let mut store = Store::new(
        engine,
        Host {
            wasi,
            table: ResourceTable::new(),
        },
    );
    let mut linker = Linker::new(engine);
    tern_wasi::p2::add_to_linker_sync(&mut linker)?;
    let Some(call) = call else {
        return match tern_wasi::p2::run(&mut store, &linker, &component) {
            Ok(code) => Ok(exit_code(code)),
            Err(e) if is_trap(&e) => {
                eprintln!(
                    "Error: failed to run `{}`: {:?}",
                    path.display(),
                    crate::backtrace::Readable(&e)
                );
                Ok(ExitCode::from(134))
            }
            Err(e) => Err(e.context(format!("failed to run `{}`", path.display()))),
        };
    };
    linker.define_unknown_imports_as_traps(&component)?;
    let (name, mut texts) = split_call(call)?;
    texts.extend(args.iter().cloned());
    let instance = linker.instantiate(&mut store, &component)?;
    let path_parts: Vec<&str> = name.split('#').collect();
    let func = instance
        .get_func_at(&mut store, &path_parts)
        .with_context(|| {
            format!(
                "component `{}` does not export a function `{name}`",
                path.display()
            )
        })?;
    let types = func.params(&store);
    if types.len() != texts.len() {
        bail!(
            "`{name}` takes {} arguments, {} given",
            types.len(),
            texts.len()
        );
    }
    let params = types
        .iter()
        .zip(&texts)
        .map(|(ty, text)| {
            parse_value(ty, text).with_context(|| format!("cannot parse `{text}` as {ty}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut results: Vec<Val> = func
        .results(&store)
        .iter()
        .map(|_| Val::Bool(false))
        .collect();
    if let Err(e) = func.call(&mut store, &params, &mut results) {
        if let Some(exit) = e.downcast_ref::<I32Exit>() {
            return Ok(exit_code(exit.0));
        }
        if is_trap(&e) {
            eprintln!(
                "Error: failed to run `{name}`: {:?}",
                crate::backtrace::Readable(&e)
            );
            return Ok(ExitCode::from(134));
        }
        return Err(e.context(format!("failed to run `{name}`")));
    }
    for r in &results {
        println!("{r}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The process exit code for a guest's exit status (out of range: 1).
fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Splits `name(a, b)` into the name and the argument texts.
fn split_call(call: &str) -> Result<(String, Vec<String>)> {
    let call = call.trim();
    let Some(open) = call.find('(') else {
        return Ok((call.to_string(), Vec::new()));
    };
    let Some(inner) = call[open + 1..].strip_suffix(')') else {
        bail!("`{call}`: missing `)`")
    };
    let mut p = Parser { s: inner, pos: 0 };
    let mut args = Vec::new();
    p.ws();
    while !p.done() {
        let start = p.pos;
        p.skip_value()?;
        args.push(inner[start..p.pos].trim().to_string());
        p.ws();
        if !p.eat(',') {
            break;
        }
        p.ws();
    }
    if !p.done() {
        bail!("`{call}`: unexpected `{}`", &inner[p.pos..]);
    }
    Ok((call[..open].trim().to_string(), args))
}

/// Parses `text` as a value of type `ty`.
///
/// # Errors
/// Fails, saying where, when the text is not a value of that type.
pub fn parse_value(ty: &Type, text: &str) -> Result<Val> {
    let mut p = Parser { s: text, pos: 0 };
    p.ws();
    let v = p.value(ty)?;
    p.ws();
    if !p.done() {
        bail!("unexpected `{}` after the value", &text[p.pos..]);
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn done(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<()> {
        self.ws();
        if !self.eat(c) {
            bail!("expected `{c}` at `{}`", &self.s[self.pos..]);
        }
        Ok(())
    }

    /// A bare word: letters, digits, `-`, `.`, `+`, `_`.
    fn word(&mut self) -> &str {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || "-.+_".contains(c))
        {
            self.pos += self.peek().map_or(1, char::len_utf8);
        }
        &self.s[start..self.pos]
    }

    /// Skips one value of any type (to split a call's arguments).
    fn skip_value(&mut self) -> Result<()> {
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                '"' | '\'' => {
                    self.quoted(c)?;
                    continue;
                }
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => {
                    if depth == 0 {
                        bail!("unbalanced `{c}`");
                    }
                    depth -= 1;
                }
                ',' if depth == 0 => return Ok(()),
                _ => {}
            }
            self.pos += c.len_utf8();
        }
        if depth != 0 {
            bail!("unbalanced brackets");
        }
        Ok(())
    }

    /// A quoted string or char, with escapes resolved.
    fn quoted(&mut self, quote: char) -> Result<String> {
        self.expect(quote)?;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                bail!("unterminated {quote}")
            };
            self.pos += c.len_utf8();
            match c {
                c if c == quote => return Ok(out),
                '\\' => {
                    let Some(e) = self.peek() else {
                        bail!("unterminated escape")
                    };
                    self.pos += e.len_utf8();
                    out.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '\\' | '"' | '\'' => e,
                        'u' => {
                            self.expect('{')?;
                            let hex = self.word().to_string();
                            self.expect('}')?;
                            let code = u32::from_str_radix(&hex, 16)
                                .with_context(|| format!("bad escape `\\u{{{hex}}}`"))?;
                            char::from_u32(code)
                                .with_context(|| format!("`\\u{{{hex}}}` is not a character"))?
                        }
                        other => bail!("unknown escape `\\{other}`"),
                    });
                }
                c => out.push(c),
            }
        }
    }

    fn list<T>(
        &mut self,
        open: char,
        close: char,
        mut item: impl FnMut(&mut Self, usize) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.expect(open)?;
        let mut out = Vec::new();
        self.ws();
        if self.eat(close) {
            return Ok(out);
        }
        loop {
            self.ws();
            out.push(item(self, out.len())?);
            self.ws();
            if self.eat(close) {
                return Ok(out);
            }
            self.expect(',')?;
            self.ws();
            if self.eat(close) {
                return Ok(out);
            }
        }
    }

    fn number<N: std::str::FromStr>(&mut self) -> Result<N> {
        let w = self.word().to_string();
        w.parse()
            .map_err(|_| anyhow::anyhow!("`{w}` is not a number of this type"))
    }

    fn float(&mut self) -> Result<f64> {
        let w = self.word().to_string();
        Ok(match w.as_str() {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            _ => w
                .parse()
                .map_err(|_| anyhow::anyhow!("`{w}` is not a number"))?,
        })
    }

    /// `name` or `name(payload)`.
    fn case(&mut self) -> Result<(String, bool)> {
        self.ws();
        let name = self.word().to_string();
        if name.is_empty() {
            bail!("expected a case name at `{}`", &self.s[self.pos..]);
        }
        self.ws();
        Ok((name, self.peek() == Some('(')))
    }

    fn payload(&mut self, ty: Option<Type>, has: bool) -> Result<Option<Box<Val>>> {
        match (ty, has) {
            (Some(t), true) => {
                self.expect('(')?;
                self.ws();
                let v = self.value(&t)?;
                self.expect(')')?;
                Ok(Some(Box::new(v)))
            }
            (None, false) => Ok(None),
            (Some(_), false) => bail!("this case needs a payload"),
            (None, true) => bail!("this case has no payload"),
        }
    }

    fn value(&mut self, ty: &Type) -> Result<Val> {
        self.ws();
        Ok(match ty {
            Type::Bool => match self.word() {
                "true" => Val::Bool(true),
                "false" => Val::Bool(false),
                w => bail!("`{w}` is not a bool"),
            },
            Type::S8 => Val::S8(self.number()?),
            Type::U8 => Val::U8(self.number()?),
            Type::S16 => Val::S16(self.number()?),
            Type::U16 => Val::U16(self.number()?),
            Type::S32 => Val::S32(self.number()?),
            Type::U32 => Val::U32(self.number()?),
            Type::S64 => Val::S64(self.number()?),
            Type::U64 => Val::U64(self.number()?),
            Type::Float32 => Val::Float32(self.float()? as f32),
            Type::Float64 => Val::Float64(self.float()?),
            Type::Char => {
                let s = self.quoted('\'')?;
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Val::Char(c),
                    _ => bail!("a char is one character, found `{s}`"),
                }
            }
            Type::String => Val::String(self.quoted('"')?),
            Type::List(l) => {
                let elem = l.ty();
                Val::List(self.list('[', ']', |p, _| p.value(&elem))?)
            }
            Type::Map(m) => {
                let (k, v) = (m.key(), m.value());
                Val::Map(self.list('[', ']', |p, _| {
                    p.expect('(')?;
                    let key = p.value(&k)?;
                    p.expect(',')?;
                    let val = p.value(&v)?;
                    p.expect(')')?;
                    Ok((key, val))
                })?)
            }
            Type::Tuple(t) => {
                let tys: Vec<Type> = t.types().collect();
                let vals = self.list('(', ')', |p, i| match tys.get(i) {
                    Some(t) => p.value(t),
                    None => bail!("too many tuple elements"),
                })?;
                if vals.len() != tys.len() {
                    bail!(
                        "expected {} tuple elements, found {}",
                        tys.len(),
                        vals.len()
                    );
                }
                Val::Tuple(vals)
            }
            Type::Record(r) => {
                let fields: Vec<_> = r.fields().collect();
                let mut given: Vec<(String, Val)> = self.list('{', '}', |p, _| {
                    let name = p.word().to_string();
                    p.expect(':')?;
                    let Some(f) = fields.iter().find(|f| f.name == name) else {
                        bail!("no field `{name}`")
                    };
                    Ok((name, p.value(&f.ty)?))
                })?;
                let mut out = Vec::new();
                for f in &fields {
                    let Some(i) = given.iter().position(|(n, _)| *n == f.name) else {
                        bail!("missing field `{}`", f.name)
                    };
                    out.push(given.remove(i));
                }
                Val::Record(out)
            }
            Type::Flags(_) => Val::Flags(self.list('{', '}', |p, _| Ok(p.word().to_string()))?),
            Type::Enum(_) => Val::Enum(self.case()?.0),
            Type::Variant(v) => {
                let (name, has) = self.case()?;
                let Some(case) = v.cases().find(|c| c.name == name) else {
                    bail!("no case `{name}`")
                };
                Val::Variant(name, self.payload(case.ty, has)?)
            }
            Type::Option(o) => match self.case()? {
                (n, true) if n == "some" => Val::Option(self.payload(Some(o.ty()), true)?),
                (n, false) if n == "none" => Val::Option(None),
                (n, _) => bail!("expected `some(…)` or `none`, found `{n}`"),
            },
            Type::Result(r) => match self.case()? {
                (n, has) if n == "ok" => Val::Result(Ok(self.payload(r.ok(), has)?)),
                (n, has) if n == "err" => Val::Result(Err(self.payload(r.err(), has)?)),
                (n, _) => bail!("expected `ok` or `err`, found `{n}`"),
            },
            other => bail!("values of type `{other}` cannot be written on the command line"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::split_call;

    #[test]
    fn calls_split_at_top_level_commas() {
        let (name, args) = split_call(r#"greet("a, b", [1, 2], {x: 1}, 'c')"#).unwrap();
        assert_eq!(name, "greet");
        assert_eq!(args, [r#""a, b""#, "[1, 2]", "{x: 1}", "'c'"]);
        assert_eq!(split_call("f").unwrap(), ("f".to_string(), vec![]));
        assert_eq!(split_call("f()").unwrap(), ("f".to_string(), vec![]));
        assert!(split_call("f(1").is_err());
    }
}
