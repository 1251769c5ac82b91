//! Line patterns compiled from an nginx `log_format` or an Apache
//! `LogFormat` string: literal text between named fields. Apache directives
//! are named after the nginx variable that logs the same thing (`%h` ->
//! `remote_addr`, `%>s` -> `status`), so that both share one vocabulary.

use crate::ParseError;

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
}
