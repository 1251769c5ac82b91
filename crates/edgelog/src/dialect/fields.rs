//! Positional, space-separated logs with quoted fields: AWS Application and
//! Classic load balancers, S3 server access logs, Akamai DataStream 2
//! STRUCTURED. Fields are read by position; newer writers append fields at
//! the end, so values beyond the known ones are tolerated (and reported).

use std::borrow::Cow;

use edgelog_parse::ParseError;
use edgelog_parse::text::{Token, percent_decode, tokens, unescape};
use edgelog_parse::time::{DAY_MS, days_from_civil};

use super::generic::{Canon, NativeCol, RowParser, TextRules, Ty, Val, strip_port};
use crate::source::KeyTemplate;

/// Which positional dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// AWS Application Load Balancer.
    Alb,
    /// AWS Classic Load Balancer.
    Elb,
    /// AWS S3 server access logs.
    S3,
    /// Akamai DataStream 2, STRUCTURED (space separated, URL-encoded).
    Akamai,
}

type Spec = (&'static str, Ty, &'static str);

const ALB: &[Spec] = &[
    ("type", Ty::Dict, "http, https, h2, grpcs, ws, wss"),
    ("time", Ty::Time, "response time (UTC, microseconds)"),
    ("elb", Ty::Str, "load balancer id app/NAME/ID"),
    ("client_port", Ty::Str, "client ip:port"),
    ("target_port", Ty::Str, "target ip:port"),
    ("request_processing_time", Ty::F64, "seconds; -1 when not dispatched"),
    ("target_processing_time", Ty::F64, "seconds; -1 when not dispatched"),
    ("response_processing_time", Ty::F64, "seconds; -1 when not dispatched"),
    ("elb_status_code", Ty::U16, "status the load balancer sent"),
    ("target_status_code", Ty::U16, "status the target sent"),
    ("received_bytes", Ty::U64, "request bytes"),
    ("sent_bytes", Ty::U64, "response bytes"),
    ("request", Ty::Str, "request line with the full URL"),
    ("user_agent", Ty::Str, "User-Agent"),
    ("ssl_cipher", Ty::Str, "TLS cipher"),
    ("ssl_protocol", Ty::Dict, "TLS protocol"),
    ("target_group_arn", Ty::Str, "target group"),
    ("trace_id", Ty::Str, "X-Amzn-Trace-Id"),
    ("domain_name", Ty::Str, "SNI domain"),
    ("chosen_cert_arn", Ty::Str, "certificate"),
    ("matched_rule_priority", Ty::I64, "rule priority; 0 default, -1 error"),
    ("request_creation_time", Ty::Time, "when the request arrived"),
    ("actions_executed", Ty::Str, "comma list: forward, redirect, waf, ..."),
    ("redirect_url", Ty::Str, "redirect target"),
    ("error_reason", Ty::Str, "error reason"),
    ("target_port_list", Ty::Str, "targets tried"),
    ("target_status_code_list", Ty::Str, "their statuses"),
    ("classification", Ty::Dict, "desync classification"),
    ("classification_reason", Ty::Str, "why"),
    ("conn_trace_id", Ty::Str, "connection trace id"),
];

const ELB: &[Spec] = &[
    ("time", Ty::Time, "response time (UTC, microseconds)"),
    ("elb", Ty::Str, "load balancer name"),
    ("client_port", Ty::Str, "client ip:port"),
    ("backend_port", Ty::Str, "backend ip:port"),
    ("request_processing_time", Ty::F64, "seconds; -1 on failure"),
    ("backend_processing_time", Ty::F64, "seconds; -1 on failure"),
    ("response_processing_time", Ty::F64, "seconds; -1 on failure"),
    ("elb_status_code", Ty::U16, "status the load balancer sent"),
    ("backend_status_code", Ty::U16, "status the backend sent"),
    ("received_bytes", Ty::U64, "request bytes"),
    ("sent_bytes", Ty::U64, "response bytes"),
    ("request", Ty::Str, "request line with the full URL"),
    ("user_agent", Ty::Str, "User-Agent"),
    ("ssl_cipher", Ty::Str, "TLS cipher"),
    ("ssl_protocol", Ty::Dict, "TLS protocol"),
    (
        "target_group_arn",
        Ty::Str,
        "target group, when the file carries ALB's extra fields",
    ),
    (
        "trace_id",
        Ty::Str,
        "X-Amzn-Trace-Id, when the file carries ALB's extra fields",
    ),
];

const S3: &[Spec] = &[
    ("bucket_owner", Ty::Str, "canonical user id of the bucket owner"),
    ("bucket", Ty::Str, "bucket"),
    ("time", Ty::Time, "request time"),
    ("remote_ip", Ty::Str, "client address"),
    ("requester", Ty::Str, "canonical user id or ARN"),
    ("request_id", Ty::Str, "request id"),
    ("operation", Ty::Dict, "REST.GET.OBJECT, ..."),
    ("key", Ty::Str, "object key (URL-encoded)"),
    ("request_uri", Ty::Str, "request line"),
    ("http_status", Ty::U16, "status"),
    ("error_code", Ty::Dict, "S3 error code"),
    ("bytes_sent", Ty::U64, "response bytes"),
    ("object_size", Ty::U64, "object size"),
    ("total_time", Ty::U64, "milliseconds in flight"),
    ("turn_around_time", Ty::U64, "milliseconds S3 spent"),
    ("referer", Ty::Str, "Referer"),
    ("user_agent", Ty::Str, "User-Agent"),
    ("version_id", Ty::Str, "object version"),
    ("host_id", Ty::Str, "x-amz-id-2"),
    ("signature_version", Ty::Dict, "SigV2, SigV4"),
    ("cipher_suite", Ty::Str, "TLS cipher"),
    ("authentication_type", Ty::Dict, "AuthHeader, QueryString"),
    ("host_header", Ty::Str, "endpoint used"),
    ("tls_version", Ty::Dict, "TLS version"),
    ("access_point_arn", Ty::Str, "access point"),
    ("acl_required", Ty::Str, "Yes when an ACL was needed"),
];

/// Akamai DataStream 2 fields in the SDK's sample stream order; the JSON
/// encoding uses the same names as keys.
pub const AKAMAI: &[Spec] = &[
    ("version", Ty::Str, "format version"),
    ("cp", Ty::Str, "CP code"),
    ("reqId", Ty::Str, "request id"),
    ("reqTimeSec", Ty::F64, "request time, epoch seconds"),
    ("bytes", Ty::U64, "content bytes served"),
    ("field_1101", Ty::U64, "field 1101 (unnamed in the SDK)"),
    ("cliIP", Ty::Str, "client address"),
    ("statusCode", Ty::U16, "status; 0 when the client aborted"),
    ("proto", Ty::Dict, "HTTP or HTTPS"),
    ("reqHost", Ty::Str, "Host header"),
    ("reqMethod", Ty::Dict, "method"),
    ("reqPath", Ty::Str, "path (URL-encoded, no leading /)"),
    ("reqPort", Ty::U16, "port"),
    ("rspContentLen", Ty::U64, "Content-Length"),
    ("rspContentType", Ty::Str, "Content-Type"),
    ("UA", Ty::Str, "User-Agent (URL-encoded)"),
    ("accLang", Ty::Str, "Accept-Language"),
    ("cookie", Ty::Str, "Cookie"),
    ("range", Ty::Str, "Range"),
    ("referer", Ty::Str, "Referer (URL-encoded)"),
    ("xForwardedFor", Ty::Str, "X-Forwarded-For"),
    ("reqEndTimeMSec", Ty::U64, "ms to receive the request"),
    ("turnAroundTimeMSec", Ty::U64, "ms to first byte"),
    ("transferTimeMSec", Ty::U64, "ms to send"),
    ("edgeIP", Ty::Str, "edge server address"),
    ("errorCode", Ty::Str, "error"),
    ("customField", Ty::Str, "custom field"),
    ("tlsOverheadTimeMSec", Ty::U64, "ms of TLS"),
    ("tlsVersion", Ty::Dict, "TLS version"),
    ("objSize", Ty::U64, "object size"),
    ("uncompressedSize", Ty::U64, "uncompressed size"),
    ("maxAgeSec", Ty::U64, "max-age"),
    ("overheadBytes", Ty::U64, "TCP overhead bytes"),
    ("dnsLookupTimeMSec", Ty::U64, "ms of DNS"),
    ("totalBytes", Ty::U64, "bytes including overhead"),
    ("queryStr", Ty::Str, "query string"),
    ("cacheStatus", Ty::Dict, "1 served from cache, 0 not"),
    ("cacheRefreshSrc", Ty::Str, "where the cache was refreshed from"),
];

/// The column that keeps fields beyond the known ones, so none is lost.
pub const EXTRA: &str = "extra_fields";

/// Tokens as written again (quotes restored), space separated.
pub fn rejoin(toks: &[Token<'_>]) -> String {
    toks.iter()
        .map(|t| {
            if t.quoted {
                format!("\"{}\"", t.text)
            } else {
                t.text.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A positional dialect.
#[derive(Debug)]
pub struct FieldsRules {
    kind: Kind,
    cols: Vec<NativeCol>,
}

impl FieldsRules {
    /// The dialect of this kind.
    pub fn new(kind: Kind) -> Self {
        let mut cols: Vec<NativeCol> = specs(kind).iter().map(|(n, t, d)| NativeCol::new(*n, *t, *d)).collect();
        cols.push(NativeCol::new(
            EXTRA,
            Ty::Str,
            "fields beyond the known ones (newer writers append fields), as written",
        ));
        FieldsRules { kind, cols }
    }
}

fn specs(kind: Kind) -> &'static [Spec] {
    match kind {
        Kind::Alb => ALB,
        Kind::Elb => ELB,
        Kind::S3 => S3,
        Kind::Akamai => AKAMAI,
    }
}

/// Fields a line must have: through the user agent for the AWS logs,
/// all of them for Akamai (whose order is configured, not appended to).
fn required(kind: Kind) -> usize {
    match kind {
        Kind::Alb => 14,
        Kind::Elb => 13,
        Kind::S3 => 17,
        Kind::Akamai => AKAMAI.len(),
    }
}

impl TextRules for FieldsRules {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Alb => "alb",
            Kind::Elb => "elb",
            Kind::S3 => "s3-access",
            Kind::Akamai => "akamai",
        }
    }

    fn description(&self) -> String {
        match self.kind {
            Kind::Alb => "AWS Application Load Balancer access logs".into(),
            Kind::Elb => "AWS Classic Load Balancer access logs".into(),
            Kind::S3 => "AWS S3 server access logs".into(),
            Kind::Akamai => "Akamai DataStream 2 STRUCTURED (space separated, fields in the SDK sample order)".into(),
        }
    }

    fn template(&self) -> KeyTemplate {
        match self.kind {
            Kind::Alb => KeyTemplate {
                period_of: alb_period,
                period_ms: 5 * 60_000,
                folder_offset_secs: 0,
                describe: "AWSLogs/{account}/elasticloadbalancing/{region}/{YYYY}/{MM}/{DD}/{account}_elasticloadbalancing_{region}_app.{lb}.{id}_{YYYYMMDDTHHMMZ}_{ip}_{random}.log.gz",
                strict: false,
                date_folders: true,
            },
            Kind::Elb => KeyTemplate {
                period_of: alb_period,
                period_ms: 60 * 60_000,
                folder_offset_secs: 0,
                describe: "AWSLogs/{account}/elasticloadbalancing/{region}/{YYYY}/{MM}/{DD}/{account}_elasticloadbalancing_{region}_{lb}_{YYYYMMDDTHHMMZ}_{ip}_{random}.log",
                strict: false,
                date_folders: true,
            },
            _ => KeyTemplate::any("any name"),
        }
    }

    fn columns(&self) -> &[NativeCol] {
        &self.cols
    }

    fn rank(&self) -> u32 {
        60
    }

    fn parser(&self) -> Box<dyn RowParser> {
        Box::new(FieldsParser {
            kind: self.kind,
            cols: self.cols.clone(),
        })
    }
}

/// Start of the five minutes an ALB log object covers: its name ends
/// `_{YYYYMMDDTHHMMZ}_{ip}_{random}.log.gz` (the end of the interval).
fn alb_period(key: &str) -> Option<i64> {
    let name = key.rsplit('/').next()?;
    let stamp = name
        .split('_')
        .find(|p| p.len() == 14 && p.as_bytes()[8] == b'T' && p.ends_with('Z'))?;
    let n = |r: std::ops::Range<usize>| stamp.get(r)?.parse::<u32>().ok();
    let (y, mo, d, h, mi) = (n(0..4)?, n(4..6)?, n(6..8)?, n(9..11)?, n(11..13)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 {
        return None;
    }
    let end = days_from_civil(i64::from(y), mo, d) * DAY_MS + i64::from(h * 3600 + mi * 60) * 1000;
    Some(end - 5 * 60_000)
}

struct FieldsParser {
    kind: Kind,
    cols: Vec<NativeCol>,
}

fn text_of<'a>(t: &Token<'a>) -> Cow<'a, str> {
    if t.quoted {
        unescape(t.text)
    } else {
        Cow::Borrowed(t.text)
    }
}

impl RowParser for FieldsParser {
    fn parse<'a>(
        &mut self,
        line: &'a str,
        vals: &mut [Val<'a>],
        canon: &mut Canon<'a>,
        unknown: &mut dyn FnMut(&str),
    ) -> Result<bool, ParseError> {
        let mut toks = Vec::with_capacity(self.cols.len());
        tokens(line, &mut toks)?;
        let need = required(self.kind);
        if toks.len() < need {
            return Err(ParseError::Shape(format!(
                "{} fields, {} expects at least {need}",
                toks.len(),
                self.name_of()
            )));
        }
        let known = self.cols.len() - 1;
        if toks.len() > known {
            unknown("fields beyond the known ones (kept in extra_fields)");
            vals[known] = Val::Str(Cow::Owned(rejoin(&toks[known..])));
        }
        for ((tok, col), slot) in toks.iter().zip(&self.cols[..known]).zip(vals.iter_mut()) {
            *slot = Val::parse(col.ty, text_of(tok), &col.name)?;
        }
        match self.kind {
            Kind::Alb | Kind::Elb => lb_canon(self.kind, vals, canon),
            Kind::S3 => s3_canon(vals, canon),
            Kind::Akamai => akamai_canon(vals, canon),
        }
        Ok(true)
    }
}

impl FieldsParser {
    fn name_of(&self) -> &'static str {
        match self.kind {
            Kind::Alb => "an ALB log",
            Kind::Elb => "a Classic ELB log",
            Kind::S3 => "an S3 access log",
            Kind::Akamai => "the DataStream 2 stream order",
        }
    }
}

/// The address of `ip:port`, `[v6]:port` or a bare v6 address with a port.
fn ip_of(ip_port: &str) -> &str {
    if let Some(rest) = ip_port.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match ip_port.rsplit_once(':') {
        Some((ip, port)) if port.bytes().all(|c| c.is_ascii_digit()) => ip,
        _ => ip_port,
    }
}

fn lb_canon<'a>(kind: Kind, v: &[Val<'a>], c: &mut Canon<'a>) {
    let o = usize::from(kind == Kind::Alb);
    c.time = v[o].time();
    c.client_ip = v[o + 2].text().map(|s| Cow::Owned(ip_of(s).to_string()));
    c.status = v[o + 7].u64().and_then(|s| u16::try_from(s).ok());
    c.bytes = v[o + 10].u64();
    if let Some(req) = v[o + 11].text() {
        let r = edgelog_parse::request::split_request(req);
        c.method = r.method.map(|m| Cow::Owned(m.to_string()));
        c.protocol = r.protocol.map(|p| Cow::Owned(p.to_string()));
        if let Some(url) = r.path.map(|p| match r.query {
            Some(q) => format!("{p}?{q}"),
            None => p.to_string(),
        }) {
            c.url(&url);
        }
    }
    c.user_agent = v[o + 12].cow();
    let times: Vec<f64> = (o + 4..o + 7).filter_map(|i| v[i].f64()).collect();
    c.request_time = (times.len() == 3 && times.iter().all(|t| *t >= 0.0)).then(|| times.iter().sum());
}

fn s3_canon<'a>(v: &[Val<'a>], c: &mut Canon<'a>) {
    c.time = v[2].time();
    c.client_ip = v[3].cow();
    if let Some(req) = v[8].text() {
        c.request_line_owned(req);
    }
    c.status = v[9].u64().and_then(|s| u16::try_from(s).ok());
    c.bytes = v[11].u64();
    c.request_time = v[13].f64().map(|ms| ms / 1000.0);
    c.referer = v[15].cow();
    c.user_agent = v[16].cow();
    c.host = v.get(22).and_then(Val::cow).or_else(|| v[1].cow());
}

/// Canonical columns of a DataStream 2 record (structured or JSON), given
/// its values in [`AKAMAI`] order.
pub fn akamai_canon<'a>(v: &[Val<'a>], c: &mut Canon<'a>) {
    let dec = |i: usize| v[i].text().map(|s| Cow::Owned(percent_decode(s).into_owned()));
    c.time = v[3].f64().map(|s| (s * 1000.0).round() as i64);
    c.client_ip = v[6].cow();
    c.status = v[7].u64().and_then(|s| u16::try_from(s).ok()).filter(|&s| s != 0);
    c.host = v[9].text().map(|h| Cow::Owned(strip_port(h).to_string()));
    c.method = v[10].cow();
    c.path = v[11].text().map(|p| {
        let p = percent_decode(p);
        Cow::Owned(if p.starts_with('/') {
            p.into_owned()
        } else {
            format!("/{p}")
        })
    });
    c.query = dec(35);
    c.bytes = v[34].u64().or_else(|| v[4].u64());
    c.cache_status = v[36].text().map(|s| {
        Cow::Borrowed(match s {
            "1" => "HIT",
            "0" => "MISS",
            _ => "OTHER",
        })
    });
    c.referer = dec(19);
    c.user_agent = dec(15);
    c.request_time = v[22].f64().map(|ms| ms / 1000.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_alb_periods() {
        assert_eq!(ip_of("192.168.131.39:2817"), "192.168.131.39");
        assert_eq!(ip_of("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(ip_of("2001:db8::1:443"), "2001:db8::1");
        let key = "AWSLogs/123/elasticloadbalancing/us-east-2/2018/07/02/123_elasticloadbalancing_us-east-2_app.lb.50dc_20180702T2225Z_192.0.2.1_2abc.log.gz";
        assert_eq!(
            alb_period(key),
            edgelog_parse::time::parse_iso8601("2018-07-02T22:20Z", 0)
        );
    }
}
