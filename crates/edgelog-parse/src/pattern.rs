//! Line patterns compiled from an nginx `log_format`, an Apache
//! `LogFormat`, a varnishncsa `-F` or an Envoy access-log format string:
//! literal text between named fields. Apache and varnishncsa directives are
//! named after the nginx variable that logs the same thing (`%h` ->
//! `remote_addr`, `%>s` -> `status`), so that they share one vocabulary;
//! Envoy's command operators are named after themselves (`%RESPONSE_CODE%`
//! -> `response_code`, `%REQ(USER-AGENT)%` -> `req_user_agent`).

use crate::ParseError;

/// Envoy's default access-log format, as its documentation writes it
/// (ending in the two characters `\n`, which [`Pattern::envoy`] drops).
pub const ENVOY_DEFAULT: &str = r#"[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n"#;

/// varnishncsa's default format (also what `%{Varnish:default_format}x` stands for).
pub const VARNISH_DEFAULT: &str = r#"%h %l %u %t "%r" %s %b "%{Referer}i" "%{User-agent}i""#;

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pieces: Vec<Piece>,
    names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(String),
    /// A field: its index in `names`, and whether it sits in double quotes.
    Var(usize, bool),
}

/// A piece of a compiled pattern, as [`Pattern::pieces`] lists them.
#[cfg(any(test, feature = "fuzzing"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternPiece<'a> {
    /// Literal text.
    Lit(&'a str),
    /// The next field (fields come in the order of [`Pattern::names`]).
    Field {
        /// It sits after a double quote, so it is matched as a quoted value.
        quoted: bool,
    },
}

/// One matched field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matched<'a> {
    /// Its text as written (escapes not undone).
    pub text: &'a str,
    /// It was inside double quotes.
    pub quoted: bool,
}

impl Pattern {
    /// Compiles an nginx `log_format` string: `$name` or `${name}` fields.
    pub fn nginx(format: &str) -> Result<Pattern, String> {
        let mut b = PatternBuilder::default();
        let mut rest = format;
        while let Some(i) = rest.find('$') {
            b.lit(&rest[..i]);
            let after = &rest[i + 1..];
            let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
                let end = braced
                    .find('}')
                    .ok_or_else(|| format!("unclosed ${{ in log format at {:?}", cut(after)))?;
                (&braced[..end], &braced[end + 1..])
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], &after[end..])
            };
            if name.is_empty() {
                return Err(format!("a $ without a variable name in log format at {:?}", cut(rest)));
            }
            b.var(name)?;
            rest = tail;
        }
        b.lit(rest);
        b.build()
    }

    /// Compiles an Apache `LogFormat` string (`%h %l %u %t "%r" %>s %b`).
    pub fn apache(format: &str) -> Result<Pattern, String> {
        let mut b = PatternBuilder::default();
        let mut rest = format;
        while let Some(i) = rest.find('%') {
            b.lit(&rest[..i]);
            let mut d = &rest[i + 1..];
            if let Some(tail) = d.strip_prefix('%') {
                b.lit("%");
                rest = tail;
                continue;
            }
            // Conditions (`%400,501{User-agent}i`, `%!200r`) and `<`/`>` pick
            // which request or status is logged; the field is the same.
            d = d.trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, ',' | '!' | '<' | '>'));
            let (arg, tail) = match d.strip_prefix('{') {
                Some(braced) => {
                    let end = braced
                        .find('}')
                        .ok_or_else(|| format!("unclosed %{{ in LogFormat at {:?}", cut(d)))?;
                    (Some(&braced[..end]), &braced[end + 1..])
                }
                None => (None, d),
            };
            let mut chars = tail.chars();
            let Some(letter) = chars.next() else {
                return Err("LogFormat ends with a bare %".into());
            };
            let name = apache_name(letter, arg).ok_or_else(|| {
                format!(
                    "unsupported LogFormat directive %{}{letter}",
                    arg.map(|a| format!("{{{a}}}")).unwrap_or_default()
                )
            })?;
            if letter == 't' && arg.is_none() {
                b.lit("[");
                b.var(&name)?;
                b.lit("]");
            } else {
                b.var(&name)?;
            }
            rest = chars.as_str();
        }
        b.lit(rest);
        b.build()
    }

    /// Compiles an Envoy access-log format string of `%COMMAND%`,
    /// `%COMMAND(ARG)%` and `%COMMAND(ARG):N%` operators (see
    /// [`ENVOY_DEFAULT`]). Operators are named after themselves in lower
    /// case (`%START_TIME%`, with or without a time format, is `start_time`);
    /// header operators after the header (`%REQ(USER-AGENT)%` is
    /// `req_user_agent`, `%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%` is `req_path`:
    /// of alternatives the last is named; `%RESP(..)%` is `resp_..`,
    /// `%TRAILER(..)%` `trailer_..`); operators that look a key up after
    /// it too (`%DYNAMIC_METADATA(envoy.lb:canary)%` is
    /// `dynamic_metadata_envoy_lb_canary`). A `:N` length limit changes
    /// nothing, `%%` is a literal `%`, and the line end a format finishes
    /// with (a newline, or the two characters `\n` as YAML and the
    /// documentation write it) is dropped.
    pub fn envoy(format: &str) -> Result<Pattern, String> {
        let mut rest = format;
        loop {
            let trimmed = rest.trim_end_matches([' ', '\t', '\r']);
            match trimmed.strip_suffix('\n').or_else(|| trimmed.strip_suffix("\\n")) {
                Some(t) => rest = t,
                None => break,
            }
        }
        let mut b = PatternBuilder::default();
        while let Some(i) = rest.find('%') {
            b.lit(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(tail) = after.strip_prefix('%') {
                b.lit("%");
                rest = tail;
                continue;
            }
            // Envoy's own grammar: `%[A-Z0-9_]+(\([^)]*\))?(:[0-9]+)?%`.
            let n = after
                .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(after.len());
            let command = &after[..n];
            if command.is_empty() {
                return Err(format!(
                    "a % without a command operator in Envoy format at {:?}",
                    cut(&rest[i..])
                ));
            }
            let mut tail = &after[n..];
            let mut arg = None;
            if let Some(t) = tail.strip_prefix('(') {
                let end = t
                    .find(')')
                    .ok_or_else(|| format!("unclosed ( after %{command} in Envoy format"))?;
                arg = Some(&t[..end]);
                tail = &t[end + 1..];
            }
            if let Some(t) = tail.strip_prefix(':') {
                let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
                if digits == 0 {
                    return Err(format!("expected a length after : in %{command} in Envoy format"));
                }
                tail = &t[digits..];
            }
            let Some(tail) = tail.strip_prefix('%') else {
                return Err(format!(
                    "%{command} is not closed by a % in Envoy format at {:?}",
                    cut(&rest[i..])
                ));
            };
            b.var(&envoy_name(command, arg)?)?;
            rest = tail;
        }
        b.lit(rest);
        b.build()
    }

    /// Compiles a varnishncsa `-F` format (see [`VARNISH_DEFAULT`]): the
    /// Apache-like directives varnishncsa knows (`%b %D %H %h %I %l %m %O %q
    /// %r %s %t %T %U %u`, `%{X}i`, `%{X}o` with an optional `:first` or
    /// `:last`, `%{X}t`, `%{s|ms|us}T`), named as [`Pattern::apache`] names
    /// them, and the extended variables `%{X}x`: `Varnish:hitmiss`,
    /// `Varnish:handling`, `Varnish:side` and `Varnish:vxid` as
    /// `varnish_hitmiss` and so on, `Varnish:time_firstbyte` as
    /// `time_firstbyte`, `VCL_Log:KEY` as `vcl_log_key`, `VSL:tag...` as
    /// `vsl_tag...`, and `Varnish:default_format` as the fields of
    /// [`VARNISH_DEFAULT`]. The escapes `\t` and `\n` are a tab and a
    /// newline, `\` before any other character is that character, and a
    /// newline at the end is dropped (varnishncsa ends every line itself).
    pub fn varnish(format: &str) -> Result<Pattern, String> {
        let mut b = PatternBuilder::default();
        varnish_into(&mut b, format)?;
        b.trim_line_end();
        b.build()
    }

    /// The field names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The pattern's pieces in order, for tests and fuzzing (which write
    /// lines of the pattern and check that they match back).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn pieces(&self) -> impl Iterator<Item = PatternPiece<'_>> {
        self.pieces.iter().map(|p| match p {
            Piece::Lit(l) => PatternPiece::Lit(l),
            Piece::Var(_, quoted) => PatternPiece::Field { quoted: *quoted },
        })
    }

    /// Matches `line`; `out` receives one value per name. Trailing blanks are
    /// allowed; anything else that does not fit is an error saying where.
    pub fn matches<'a>(&self, line: &'a str, out: &mut Vec<Matched<'a>>) -> Result<(), ParseError> {
        out.clear();
        // Trailing blanks are ignored, but not cut off before matching: the
        // literal before an empty last field may end in one (`%u %h` writes
        // `- ` when %h is empty). Fuzzing found that such lines failed
        // (`empty_last_field_after_a_blank_matches`).
        let text_end = line.trim_end_matches([' ', '\t']).len();
        let b = line.as_bytes();
        let mut p = 0;
        let mut k = 0;
        while k < self.pieces.len() {
            match &self.pieces[k] {
                Piece::Lit(l) => {
                    if !line[p..].starts_with(l.as_str()) {
                        return Err(ParseError::Shape(format!(
                            "expected {:?} at byte {p}, found {:?}",
                            l,
                            cut(&line[p..])
                        )));
                    }
                    p += l.len();
                }
                Piece::Var(_, quoted) => {
                    let next = match self.pieces.get(k + 1) {
                        Some(Piece::Lit(l)) => Some(l.as_str()),
                        _ => None,
                    };
                    let end = match next {
                        None => text_end.max(p),
                        Some(l) if *quoted => {
                            // The value ends where the next literal starts
                            // outside an escape: mostly at the closing quote
                            // (`"$request"`), but the literal after a field
                            // that opens a quote need not be one
                            // (`"$request_method $uri"`). Fuzzing found that
                            // such fields never matched, as only quotes were
                            // tried (`quoted_field_before_a_plain_literal_matches`).
                            // Literals are never empty (see `PatternBuilder::lit`).
                            let first = l.as_bytes()[0];
                            let mut j = p;
                            loop {
                                // Jump to the literal's first byte or a backslash.
                                match b.get(j..).and_then(|rest| memchr::memchr2(first, b'\\', rest)) {
                                    None if first == b'"' => {
                                        return Err(ParseError::Shape(format!(
                                            "unclosed quote for {} at byte {p} (cut line?)",
                                            self.name_of(k)
                                        )));
                                    }
                                    None => {
                                        return Err(ParseError::Shape(format!(
                                            "line ends inside {} (expected {:?} after byte {p})",
                                            self.name_of(k),
                                            l
                                        )));
                                    }
                                    Some(i) if line[j + i..].starts_with(l) => break j + i,
                                    Some(i) if b[j + i] == b'\\' => j += i + 2,
                                    Some(i) => j += i + 1,
                                }
                            }
                        }
                        Some(l) => match find_literal(&line[p..], l) {
                            Some(i) => p + i,
                            None => {
                                return Err(ParseError::Shape(format!(
                                    "line ends inside {} (expected {:?} after byte {p})",
                                    self.name_of(k),
                                    l
                                )));
                            }
                        },
                    };
                    let text = &line[p..end];
                    out.push(Matched { text, quoted: *quoted });
                    p = end;
                }
            }
            k += 1;
        }
        if p < text_end {
            return Err(ParseError::Shape(format!(
                "unexpected text after the last field at byte {p}: {:?}",
                cut(&line[p..text_end])
            )));
        }
        Ok(())
    }

    fn name_of(&self, piece: usize) -> &str {
        match &self.pieces[piece] {
            Piece::Var(i, _) => &self.names[*i],
            Piece::Lit(_) => "literal",
        }
    }
}

/// Where `lit` first occurs in `text`: memchr for its first byte, then a
/// comparison (literals are short; a substring searcher costs more to set up).
fn find_literal(text: &str, lit: &str) -> Option<usize> {
    let (&first, _) = lit.as_bytes().split_first()?;
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(i) = memchr::memchr(first, &b[from..]) {
        if b[from + i..].starts_with(lit.as_bytes()) {
            return Some(from + i);
        }
        from += i + 1;
    }
    None
}

/// The nginx variable an Apache directive logs the same value as.
fn apache_name(letter: char, arg: Option<&str>) -> Option<String> {
    let header = |prefix: &str, h: &str| format!("{prefix}{}", h.to_ascii_lowercase().replace('-', "_"));
    Some(match (letter, arg) {
        ('h' | 'a', _) => "remote_addr".into(),
        ('A', _) => "server_addr".into(),
        ('l', _) => "remote_ident".into(),
        ('u', _) => "remote_user".into(),
        ('t', None) => "time_local".into(),
        ('t', Some("msec")) => "msec_epoch".into(),
        ('t', Some(_)) => "time_formatted".into(),
        ('r', _) => "request".into(),
        ('s', _) => "status".into(),
        ('b' | 'B', _) => "body_bytes_sent".into(),
        ('O', _) => "bytes_sent".into(),
        ('I', _) => "request_length".into(),
        ('S', _) => "bytes_transferred".into(),
        ('D', _) | ('T', Some("us")) => "request_time_us".into(),
        ('T', Some("ms")) => "request_time_ms".into(),
        ('T', _) => "request_time".into(),
        ('v' | 'V', _) => "server_name".into(),
        ('p', _) => "server_port".into(),
        ('P', _) => "pid".into(),
        ('U', _) => "uri".into(),
        ('q', _) => "query_string".into(),
        ('m', _) => "request_method".into(),
        ('H', _) => "server_protocol".into(),
        ('k', _) => "keepalive_requests".into(),
        ('X', _) => "connection_status".into(),
        ('L', _) => "log_id".into(),
        ('i', Some(h)) => header("http_", h),
        ('o', Some(h)) => header("sent_http_", h),
        ('C', Some(c)) => header("cookie_", c),
        ('e', Some(e)) => header("env_", e),
        ('n', Some(n)) => header("note_", n),
        _ => return None,
    })
}

/// Envoy operators whose argument is a time format or an option, not a
/// key: they are named without it.
const ENVOY_OPTION_ARGS: &[&str] = &[
    "START_TIME",
    "START_TIME_LOCAL",
    "EMIT_TIME",
    "EMIT_TIME_LOCAL",
    "DOWNSTREAM_PEER_CERT_V_START",
    "DOWNSTREAM_PEER_CERT_V_END",
    "UPSTREAM_PEER_CERT_V_START",
    "UPSTREAM_PEER_CERT_V_END",
    "GRPC_STATUS",
    "RESPONSE_CODE_DETAILS",
    "REQUESTED_SERVER_NAME",
    "PATH",
    "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT",
    "DOWNSTREAM_DIRECT_LOCAL_ADDRESS_WITHOUT_PORT",
    "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT",
    "DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT",
    "COALESCE",
];

/// The field name of an Envoy operator.
fn envoy_name(command: &str, arg: Option<&str>) -> Result<String, String> {
    let header_prefix = match command {
        "REQ" | "REQUEST_HEADER" | "REQ_WITHOUT_QUERY" => Some("req"),
        "RESP" | "RESPONSE_HEADER" => Some("resp"),
        "TRAILER" | "RESPONSE_TRAILER" => Some("trailer"),
        _ => None,
    };
    if let Some(prefix) = header_prefix {
        // `X?Y`: Y is logged when X is absent; Y names the field.
        let header = arg
            .and_then(|a| a.rsplit('?').next())
            .map(normalise)
            .unwrap_or_default();
        if header.is_empty() {
            return Err(format!(
                "%{command}% needs a header name in Envoy format: %{command}(NAME)%"
            ));
        }
        return Ok(format!("{prefix}_{header}"));
    }
    let lower = command.to_ascii_lowercase();
    Ok(match arg {
        Some(a) if !ENVOY_OPTION_ARGS.contains(&command) && !a.contains('%') && !normalise(a).is_empty() => {
            format!("{lower}_{}", normalise(a))
        }
        _ => lower,
    })
}

/// Lower-case ASCII letters and digits, with every run of anything else as
/// one `_`, none at either end: `:METHOD` -> `method`, `X-Request-Id` ->
/// `x_request_id`.
fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    if out.ends_with('_') {
        out.pop();
    }
    out
}

/// Adds the pieces of a varnishncsa format to `b`.
fn varnish_into(b: &mut PatternBuilder, format: &str) -> Result<(), String> {
    let mut lit = String::new();
    let mut rest = format;
    while let Some(i) = rest.find(['%', '\\']) {
        lit.push_str(&rest[..i]);
        let mut after = rest[i + 1..].chars();
        if rest.as_bytes()[i] == b'\\' {
            match after.next() {
                // varnishncsa keeps a backslash at the very end.
                None => lit.push('\\'),
                Some('t') => lit.push('\t'),
                Some('n') => lit.push('\n'),
                Some(c) => lit.push(c),
            }
            rest = after.as_str();
            continue;
        }
        let d = after.as_str();
        if let Some(tail) = d.strip_prefix('%') {
            lit.push('%');
            rest = tail;
            continue;
        }
        b.lit(&lit);
        lit.clear();
        let (arg, tail) = match d.strip_prefix('{') {
            Some(braced) => {
                // Braces nest, as in `%{%{msec}}t`.
                let mut depth = 1;
                let end = braced
                    .bytes()
                    .position(|c| {
                        match c {
                            b'{' => depth += 1,
                            b'}' => depth -= 1,
                            _ => {}
                        }
                        depth == 0
                    })
                    .ok_or_else(|| format!("unclosed %{{ in varnishncsa format at {:?}", cut(d)))?;
                (Some(&braced[..end]), &braced[end + 1..])
            }
            None => (None, d),
        };
        let mut chars = tail.chars();
        let Some(letter) = chars.next() else {
            return Err("varnishncsa format ends with a bare %".into());
        };
        rest = chars.as_str();
        if (letter, arg) == ('x', Some("Varnish:default_format")) {
            varnish_into(b, VARNISH_DEFAULT)?;
            continue;
        }
        let name = varnish_name(letter, arg)?;
        if letter == 't' && arg.is_none() {
            b.lit("[");
            b.var(&name)?;
            b.lit("]");
        } else {
            b.var(&name)?;
        }
    }
    lit.push_str(rest);
    b.lit(&lit);
    Ok(())
}

/// The field name of a varnishncsa directive.
fn varnish_name(letter: char, arg: Option<&str>) -> Result<String, String> {
    let unsupported = || {
        format!(
            "unsupported varnishncsa format directive %{}{letter}",
            arg.map(|a| format!("{{{a}}}")).unwrap_or_default()
        )
    };
    let name = match (letter, arg) {
        ('b' | 'D' | 'H' | 'h' | 'I' | 'l' | 'm' | 'O' | 'q' | 'r' | 's' | 't' | 'T' | 'u' | 'U', None) => {
            apache_name(letter, None)
        }
        ('i' | 'o', Some(h)) => {
            let header = match h.split_once(':') {
                Some((header, "first" | "last")) => header,
                Some(_) => return Err(unsupported()),
                None => h,
            };
            if header.is_empty() {
                return Err(unsupported());
            }
            apache_name(letter, Some(header))
        }
        // varnishncsa's own epoch forms are written `%{%{msec}}t`.
        ('t', Some(f)) => {
            let inner = f.strip_prefix("%{").and_then(|f| f.strip_suffix('}')).unwrap_or(f);
            apache_name('t', Some(inner))
        }
        ('T', Some("s" | "ms" | "us")) => apache_name('T', arg),
        ('x', Some(x)) => Some(varnish_extended(x)?),
        _ => None,
    };
    name.ok_or_else(unsupported)
}

/// The field name of a varnishncsa extended variable `%{X}x`.
fn varnish_extended(x: &str) -> Result<String, String> {
    let unknown = || format!("unknown varnishncsa extended variable %{{{x}}}x");
    Ok(match x {
        "Varnish:time_firstbyte" => "time_firstbyte".into(),
        "Varnish:hitmiss" => "varnish_hitmiss".into(),
        "Varnish:handling" => "varnish_handling".into(),
        "Varnish:side" => "varnish_side".into(),
        "Varnish:vxid" => "varnish_vxid".into(),
        _ => {
            let (prefix, key) = if let Some(key) = x.strip_prefix("VCL_Log:") {
                ("vcl_log", key)
            } else if let Some(tag) = x.strip_prefix("VSL:") {
                ("vsl", tag)
            } else {
                return Err(unknown());
            };
            let key = normalise(key);
            if key.is_empty() {
                return Err(unknown());
            }
            format!("{prefix}_{key}")
        }
    })
}

fn cut(s: &str) -> &str {
    let mut end = s.len().min(30);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[derive(Default)]
struct PatternBuilder {
    pieces: Vec<Piece>,
    names: Vec<String>,
}

impl PatternBuilder {
    fn lit(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(Piece::Lit(l)) = self.pieces.last_mut() {
            l.push_str(text);
        } else {
            self.pieces.push(Piece::Lit(text.to_string()));
        }
    }

    fn var(&mut self, name: &str) -> Result<(), String> {
        if let Some(Piece::Var(prev, _)) = self.pieces.last() {
            return Err(format!(
                "fields {} and {name} have nothing between them: the line cannot be split",
                self.names[*prev]
            ));
        }
        let quoted = matches!(self.pieces.last(), Some(Piece::Lit(l)) if l.ends_with('"'));
        let mut unique = name.to_string();
        let mut n = 2;
        while self.names.contains(&unique) {
            unique = format!("{name}_{n}");
            n += 1;
        }
        self.pieces.push(Piece::Var(self.names.len(), quoted));
        self.names.push(unique);
        Ok(())
    }

    /// Drops the line end (and blanks before it) that a format ends with.
    fn trim_line_end(&mut self) {
        if let Some(Piece::Lit(l)) = self.pieces.last_mut() {
            l.truncate(l.trim_end_matches([' ', '\t', '\r', '\n']).len());
            if l.is_empty() {
                self.pieces.pop();
            }
        }
    }

    fn build(mut self) -> Result<Pattern, String> {
        if self.names.is_empty() {
            return Err("the log format has no fields".into());
        }
        // A format that ends in blanks (`%h %u ` or `'$remote_addr\t'`)
        // matched none of the lines it writes while `matches` cut a line's
        // trailing blanks before matching; fuzzing found it
        // (`format_ending_in_blanks_matches_its_lines`). Trailing blanks are
        // optional in lines, so they are dropped from formats too.
        if let Some(Piece::Lit(l)) = self.pieces.last_mut() {
            l.truncate(l.trim_end_matches([' ', '\t']).len());
            if l.is_empty() {
                self.pieces.pop();
            }
        }
        Ok(Pattern {
            pieces: self.pieces,
            names: self.names,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMBINED: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;

    fn texts<'a>(p: &Pattern, line: &'a str) -> Result<Vec<&'a str>, ParseError> {
        let mut out = Vec::new();
        p.matches(line, &mut out)?;
        Ok(out.iter().map(|m| m.text).collect())
    }

    #[test]
    fn nginx_and_apache_combined_compile_to_the_same_pattern() {
        let n = Pattern::nginx(COMBINED).unwrap();
        let a = Pattern::apache(r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i""#).unwrap();
        assert_eq!(a.names()[0], "remote_addr");
        assert_eq!(a.names()[1], "remote_ident");
        assert_eq!(n.names().len(), 8);
        assert_eq!(a.names().len(), 9);
        let line = r#"1.2.3.4 - - [17/May/2015:08:05:32 +0000] "GET /a \"b\" HTTP/1.1" 200 12 "-" "UA x""#;
        assert_eq!(
            texts(&n, line).unwrap(),
            vec![
                "1.2.3.4",
                "-",
                "17/May/2015:08:05:32 +0000",
                r#"GET /a \"b\" HTTP/1.1"#,
                "200",
                "12",
                "-",
                "UA x"
            ]
        );
        assert_eq!(texts(&a, line).unwrap().len(), 9);
    }

    #[test]
    fn lines_of_another_shape_fail_with_a_position() {
        let n = Pattern::nginx(COMBINED).unwrap();
        let e = texts(
            &n,
            r#"1.2.3.4 [17/May/2015:08:05:32 +0000] "GET / HTTP/1.1" 200 1 "-" "u""#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("expected \" - \""), "{e}");
        let e = texts(
            &n,
            r#"1.2.3.4 - - [17/May/2015:08:05:32 +0000] "GET / HTTP/1.1" 200 1 "-" "u" "x""#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("after the last field"), "{e}");
        assert!(texts(&n, "pm9.j51.com -").is_err());
        assert!(Pattern::nginx("$a$b").is_err());
        assert!(Pattern::apache("%Z").is_err());
    }

    /// Found by the `log_format` fuzz target: a field after a quote but
    /// before some other literal (`"$request_method $request_uri"`) never
    /// matched, since its end was only looked for at quotes.
    #[test]
    fn quoted_field_before_a_plain_literal_matches() {
        let p = Pattern::nginx(r#""$request_method $request_uri" $status"#).unwrap();
        let mut out = Vec::new();
        p.matches(r#""GET /a b" 200"#, &mut out).unwrap();
        let got: Vec<(&str, bool)> = out.iter().map(|m| (m.text, m.quoted)).collect();
        assert_eq!(got, vec![("GET", true), ("/a b", false), ("200", false)]);
        // Escapes still hide what they escape: `\|` is no separator.
        let p = Pattern::nginx(r#""$a|$b""#).unwrap();
        assert_eq!(texts(&p, r#""x\|y|z""#).unwrap(), vec![r#"x\|y"#, "z"]);
        assert!(
            texts(&p, r#""x y""#)
                .unwrap_err()
                .to_string()
                .contains("line ends inside a")
        );
        // A quote then a quote, as before.
        let p = Pattern::nginx(r#""$request" $status"#).unwrap();
        assert_eq!(texts(&p, r#""GET /\" x" 200"#).unwrap(), vec![r#"GET /\" x"#, "200"]);
        assert!(
            texts(&p, r#""GET 200"#)
                .unwrap_err()
                .to_string()
                .contains("unclosed quote")
        );
    }

    /// Found by the `log_format` fuzz target (` %h`, then `${remote_addr}
    /// [$time_local]\x7f\0\0\0 %h`): a line whose last field is empty
    /// after a literal ending in a blank did not match, since the blank was
    /// cut off with the line's trailing blanks before the literal was seen.
    #[test]
    fn empty_last_field_after_a_blank_matches() {
        let p = Pattern::apache(" %h").unwrap();
        assert_eq!(texts(&p, " ").unwrap(), vec![""]);
        assert_eq!(texts(&p, " 1.2.3.4 \t").unwrap(), vec!["1.2.3.4"]);
        let p = Pattern::nginx("$remote_user $args").unwrap();
        assert_eq!(texts(&p, "- ").unwrap(), vec!["-", ""]);
        assert_eq!(texts(&p, "- a=1 ").unwrap(), vec!["-", "a=1"]);
        assert!(texts(&p, "-").is_err());
        let p = Pattern::nginx("$remote_addr [$time_local]").unwrap();
        assert_eq!(texts(&p, "1.2.3.4 [x] \t").unwrap(), vec!["1.2.3.4", "x"]);
        let e = texts(&p, "1.2.3.4 [x] y ").unwrap_err().to_string();
        assert!(e.ends_with("at byte 11: \" y\""), "{e}");
    }

    /// Found by the `log_format` fuzz target (`%A\t`): a format ending in a
    /// blank matched none of its own lines, since the matcher drops a line's
    /// trailing blanks and then missed the format's last literal.
    #[test]
    fn format_ending_in_blanks_matches_its_lines() {
        let p = Pattern::apache("%A\t").unwrap();
        assert_eq!(texts(&p, "10.0.0.1\t").unwrap(), vec!["10.0.0.1"]);
        assert_eq!(texts(&p, "10.0.0.1").unwrap(), vec!["10.0.0.1"]);
        let p = Pattern::nginx("$remote_addr [$time_local] ").unwrap();
        assert_eq!(texts(&p, "1.2.3.4 [x] ").unwrap(), vec!["1.2.3.4", "x"]);
        assert_eq!(texts(&p, "1.2.3.4 [x]").unwrap(), vec!["1.2.3.4", "x"]);
        let p = Pattern::nginx(r#""$request" "#).unwrap();
        assert_eq!(texts(&p, r#""GET / HTTP/1.1" "#).unwrap(), vec!["GET / HTTP/1.1"]);
    }

    /// Lines copied from tests/data/real/envoy (Elastic's test logs).
    #[test]
    fn envoy_default_format_matches_real_lines() {
        let p = Pattern::envoy(ENVOY_DEFAULT).unwrap();
        assert_eq!(
            p.names(),
            [
                "start_time",
                "req_method",
                "req_path",
                "protocol",
                "response_code",
                "response_flags",
                "bytes_received",
                "bytes_sent",
                "duration",
                "resp_x_envoy_upstream_service_time",
                "req_x_forwarded_for",
                "req_user_agent",
                "req_x_request_id",
                "req_authority",
                "upstream_host",
            ]
        );
        assert_eq!(
            texts(
                &p,
                r#"[2019-04-08T16:16:55.931Z] "GET /service/1 HTTP/1.1" 200 - 0 89 5 4 "-" "curl/7.54.0" "eac4a9b8-5be2-4a5a-9f1c-9c3a7b8b3f7a" "localhost:8000" "172.18.0.3:80""#
            )
            .unwrap(),
            vec![
                "2019-04-08T16:16:55.931Z",
                "GET",
                "/service/1",
                "HTTP/1.1",
                "200",
                "-",
                "0",
                "89",
                "5",
                "4",
                "-",
                "curl/7.54.0",
                "eac4a9b8-5be2-4a5a-9f1c-9c3a7b8b3f7a",
                "localhost:8000",
                "172.18.0.3:80"
            ]
        );
        assert_eq!(
            texts(
                &p,
                r#"[2020-01-01T00:00:00.000Z] "- - -" 0 - 123 456 7 - "-" "-" "-" "-" "10.0.0.1:5432""#
            )
            .unwrap(),
            vec![
                "2020-01-01T00:00:00.000Z",
                "-",
                "-",
                "-",
                "0",
                "-",
                "123",
                "456",
                "7",
                "-",
                "-",
                "-",
                "-",
                "-",
                "10.0.0.1:5432"
            ]
        );
        let t = texts(
            &p,
            r#"[2019-04-11T00:31:55.439Z] "GET /elastic HTTP/1.1" 404 NR 0 0 0 - "172.17.0.3" "curl/7.59.0" "58436667-bf70-4fd0-9fe9-cdadadecfd55" "192.168.99.107:30901" "-""#,
        )
        .unwrap();
        assert_eq!((t[5], t[10], t[14]), ("NR", "172.17.0.3", "-"));
        let t = texts(
            &p,
            r#"[2019-04-06T06:20:05.972Z] "- - -" 0 UF,URX 0 0 0 - "-" "-" "-" "-" "127.0.0.1:9200""#,
        )
        .unwrap();
        assert_eq!(t[5], "UF,URX");
        // Ambassador writes the same format after `ACCESS `.
        let p = Pattern::envoy(&format!("ACCESS {ENVOY_DEFAULT}")).unwrap();
        let t = texts(
            &p,
            r#"ACCESS [2024-04-25T17:51:55.294Z] "GET /backend/ HTTP/1.1" 200 - 0 141 0 0 "192.168.0.9" "curl/8.4.0" "b7ba9b4c-f4b7-47c2-9718-c23aa1465f49" "localhost:9001" "192.168.96.113:80""#,
        )
        .unwrap();
        assert_eq!(
            (t[0], t[2], t[14]),
            ("2024-04-25T17:51:55.294Z", "/backend/", "192.168.96.113:80")
        );
        // The default format's line end may be a real newline too.
        let real_newline = ENVOY_DEFAULT.replace("\\n", "\n");
        assert_eq!(
            Pattern::envoy(&real_newline).unwrap(),
            Pattern::envoy(ENVOY_DEFAULT).unwrap()
        );
    }

    #[test]
    fn envoy_operator_names() {
        let names = |f: &str| Pattern::envoy(f).map(|p| p.names().to_vec());
        assert_eq!(
            names("%START_TIME(%Y-%m-%dT%H:%M:%S%z)% %START_TIME(%s.%3f)% %DOWNSTREAM_REMOTE_ADDRESS%").unwrap(),
            ["start_time", "start_time_2", "downstream_remote_address"]
        );
        assert_eq!(
            names("%REQ(:METHOD)% %REQ(USER-AGENT):10% %RESP(Content-Type)% %TRAILER(grpc-status)% %REQUEST_HEADER(X-B3-TraceId)%")
                .unwrap(),
            ["req_method", "req_user_agent", "resp_content_type", "trailer_grpc_status", "req_x_b3_traceid"]
        );
        assert_eq!(
            names("%DYNAMIC_METADATA(envoy.lb:canary)% %FILTER_STATE(my.key:PLAIN):20% %ENVIRONMENT(HOSTNAME)% %CEL(request.headers['x-id'])%")
                .unwrap(),
            [
                "dynamic_metadata_envoy_lb_canary",
                "filter_state_my_key_plain",
                "environment_hostname",
                "cel_request_headers_x_id"
            ]
        );
        assert_eq!(
            names("%GRPC_STATUS(NUMBER)% %PATH(NQ:ORIG)% %RESPONSE_CODE_DETAILS(ALLOW_WHITESPACES)% %DURATION:5%")
                .unwrap(),
            ["grpc_status", "path", "response_code_details", "duration"]
        );
        // Literal percents, and the line end in its two spellings.
        let p = Pattern::envoy("%%%RESPONSE_CODE% 100%% %DURATION%\\n").unwrap();
        assert_eq!(p.names(), ["response_code", "duration"]);
        assert_eq!(texts(&p, "%200 100% 5").unwrap(), vec!["200", "5"]);
        assert_eq!(
            Pattern::envoy("%DURATION% \n").unwrap(),
            Pattern::envoy("%DURATION%").unwrap()
        );
        for (bad, why) in [
            ("%", "a % without a command operator"),
            ("100% %DURATION%", "a % without a command operator"),
            ("%duration%", "a % without a command operator"),
            ("%DURATION", "%DURATION is not closed by a %"),
            ("%DURATION %", "%DURATION is not closed by a %"),
            ("%REQ(X%", "unclosed ( after %REQ"),
            ("%REQ()%", "%REQ% needs a header name"),
            ("%RESP%", "%RESP% needs a header name"),
            ("%REQ(A):%", "expected a length after :"),
            ("%A%%B%", "nothing between them"),
            ("just text", "no fields"),
        ] {
            let e = Pattern::envoy(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    /// Lines copied from tests/data/real/varnish (varnishevent's
    /// varnishncsa 7.1.1 output and the Varnish book).
    #[test]
    fn varnish_default_format_matches_real_lines() {
        let p = Pattern::varnish(VARNISH_DEFAULT).unwrap();
        let apache = Pattern::apache(VARNISH_DEFAULT).unwrap();
        assert_eq!(p, apache);
        assert_eq!(
            p.names(),
            [
                "remote_addr",
                "remote_ident",
                "remote_user",
                "time_local",
                "request",
                "status",
                "body_bytes_sent",
                "http_referer",
                "http_user_agent"
            ]
        );
        assert_eq!(
            texts(
                &p,
                r#"127.0.0.1 - - [08/Dec/2016:08:24:13 +0000] "GET http://127.0.0.1/varnish-4.1.0/ HTTP/1.1" 200 7490 "-" "httperf/0.9.0""#
            )
            .unwrap(),
            vec![
                "127.0.0.1",
                "-",
                "-",
                "08/Dec/2016:08:24:13 +0000",
                "GET http://127.0.0.1/varnish-4.1.0/ HTTP/1.1",
                "200",
                "7490",
                "-",
                "httperf/0.9.0"
            ]
        );
        let t = texts(
            &p,
            r#"::1 - - [18/Dec/2015:14:23:33 +0000] "GET http://localhost/?12592 HTTP/1.1" 200 3092 "-" "HTTPie/0.8.0""#,
        )
        .unwrap();
        assert_eq!((t[0], t[6]), ("::1", "3092"));
        // The extended file's format: the default, then more.
        let p = Pattern::varnish(
            "%{Varnish:default_format}x %D %T %{Varnish:hitmiss}x %{Varnish:handling}x %{Varnish:time_firstbyte}x\\n",
        )
        .unwrap();
        assert_eq!(
            p.names()[9..],
            [
                "request_time_us",
                "request_time",
                "varnish_hitmiss",
                "varnish_handling",
                "time_firstbyte"
            ]
        );
        let t = texts(
            &p,
            r#"127.0.0.1 - - [08/Dec/2016:08:24:13 +0000] "GET http://127.0.0.1/varnish-4.1.0/ HTTP/1.1" 200 7490 "-" "httperf/0.9.0" 365 0 miss miss 0.000343"#,
        )
        .unwrap();
        assert_eq!(t[9..], ["365", "0", "miss", "miss", "0.000343"]);
    }

    #[test]
    fn varnish_directives() {
        let names = |f: &str| Pattern::varnish(f).map(|p| p.names().to_vec());
        assert_eq!(
            names("%b %D %H %h %I %l %m %O %q %r %s %t %T %U %u").unwrap(),
            [
                "body_bytes_sent",
                "request_time_us",
                "server_protocol",
                "remote_addr",
                "request_length",
                "remote_ident",
                "request_method",
                "bytes_sent",
                "query_string",
                "request",
                "status",
                "time_local",
                "request_time",
                "uri",
                "remote_user"
            ]
        );
        assert_eq!(
            names("%{X-Forwarded-For:first}i %{Host:last}i %{Cache-Control}o %{ms}T %{us}T %{s}T").unwrap(),
            [
                "http_x_forwarded_for",
                "http_host",
                "sent_http_cache_control",
                "request_time_ms",
                "request_time_us",
                "request_time"
            ]
        );
        assert_eq!(
            names("%{%{msec}}t %{%d/%b/%Y:%H:%M:%S}t %{%{sec}}t").unwrap(),
            ["msec_epoch", "time_formatted", "time_formatted_2"]
        );
        assert_eq!(
            names("%{Varnish:side}x %{VCL_Log:Cache-Key}x %{VSL:Timestamp:Resp[2]}x %{VSL:ReqAcct[5]}x").unwrap(),
            [
                "varnish_side",
                "vcl_log_cache_key",
                "vsl_timestamp_resp_2",
                "vsl_reqacct_5"
            ]
        );
        // Escapes: a tab, a quote that opens a quoted field, a literal percent.
        let p = Pattern::varnish("%h\\t\\\"%{User-agent}i\\\" 100\\%%% %s\\n").unwrap();
        assert_eq!(
            p.pieces().collect::<Vec<_>>(),
            vec![
                PatternPiece::Field { quoted: false },
                PatternPiece::Lit("\t\""),
                PatternPiece::Field { quoted: true },
                PatternPiece::Lit("\" 100%% "),
                PatternPiece::Field { quoted: false },
            ]
        );
        assert_eq!(
            texts(&p, "1.2.3.4\t\"curl/8\" 100%% 200").unwrap(),
            vec!["1.2.3.4", "curl/8", "200"]
        );
        assert_eq!(
            Pattern::varnish("%h %s\\").unwrap().pieces().last(),
            Some(PatternPiece::Lit("\\"))
        );
        for (bad, why) in [
            ("%a", "unsupported varnishncsa format directive %a"),
            ("%>s", "unsupported varnishncsa format directive %>"),
            ("%{Referer}", "varnishncsa format ends with a bare %"),
            ("%", "varnishncsa format ends with a bare %"),
            (
                "%{Referer:middle}i",
                "unsupported varnishncsa format directive %{Referer:middle}i",
            ),
            ("%{:first}i", "unsupported"),
            ("%{h}T", "unsupported varnishncsa format directive %{h}T"),
            (
                "%{Varnish:bogus}x",
                "unknown varnishncsa extended variable %{Varnish:bogus}x",
            ),
            ("%{VCL_Log:}x", "unknown varnishncsa extended variable"),
            ("%{Other}x", "unknown varnishncsa extended variable"),
            ("%{%{msec}t", "unclosed %{"),
            ("%h%u", "nothing between them"),
            ("\\t\\n", "no fields"),
        ] {
            let e = Pattern::varnish(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
