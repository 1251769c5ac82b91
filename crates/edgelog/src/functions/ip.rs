//! IP functions: `ip_prefix(ip, bits)` gives the network an address lies in
//! (`203.0.113.0/24`, `2001:db8:1::/48`), `ip_version(ip)` gives 4 or 6.
//! Text that is not an address gives NULL, so a stray `-` never fails a query.

use std::net::IpAddr;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, StringBuilder, UInt8Array};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};

use super::{arrays, output, strings};

/// `ip_prefix(ip, bits)`.
pub fn ip_prefix() -> IpPrefix {
    IpPrefix {
        signature: Signature::one_of(
            vec![TypeSignature::Exact(vec![DataType::Utf8, DataType::Int64])],
            Volatility::Immutable,
        ),
    }
}

/// `ip_version(ip)`.
pub fn ip_version() -> IpVersion {
    IpVersion {
        signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
    }
}

/// The address of `text`, with an IPv4-mapped IPv6 address read as IPv4.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let ip: IpAddr = text.trim().parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

/// The network of `ip` with its first `bits` bits, as `address/bits`.
pub fn prefix(ip: IpAddr, bits: u32) -> Option<String> {
    match ip {
        IpAddr::V4(a) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            Some(format!("{}/{bits}", std::net::Ipv4Addr::from(u32::from(a) & mask)))
        }
        IpAddr::V6(a) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            Some(format!("{}/{bits}", std::net::Ipv6Addr::from(u128::from(a) & mask)))
        }
        _ => None,
    }
}

/// See [`ip_prefix`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IpPrefix {
    signature: Signature,
}

impl ScalarUDFImpl for IpPrefix {
    fn name(&self) -> &str {
        "ip_prefix"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = arrays(&args.args, args.number_rows)?;
        let ips = strings(&arrays, 0, "ip_prefix")?;
        let bits = arrays
            .get(1)
            .and_then(|a| a.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| DataFusionError::Plan("ip_prefix: bits must be an integer".into()))?;
        let mut out = StringBuilder::new();
        for (ip, bits) in ips.iter().zip(bits.iter()) {
            let (Some(ip), Some(bits)) = (ip, bits) else {
                out.append_null();
                continue;
            };
            let bad_bits = || {
                DataFusionError::Execution(format!(
                    "ip_prefix: bits must be 0-32 (IPv4) or 0-128 (IPv6), not {bits}"
                ))
            };
            let bits = u32::try_from(bits).map_err(|_| bad_bits())?;
            match parse_ip(ip) {
                Some(addr) => out.append_value(prefix(addr, bits).ok_or_else(bad_bits)?),
                None => out.append_null(),
            }
        }
        output(&args.args, Arc::new(out.finish()) as ArrayRef)
    }
}

/// See [`ip_version`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IpVersion {
    signature: Signature,
}

impl ScalarUDFImpl for IpVersion {
    fn name(&self) -> &str {
        "ip_version"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::UInt8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = arrays(&args.args, args.number_rows)?;
        let ips = strings(&arrays, 0, "ip_version")?;
        let out: UInt8Array = ips
            .iter()
            .map(|ip| {
                ip.and_then(parse_ip).map(|a| match a {
                    IpAddr::V4(_) => 4,
                    IpAddr::V6(_) => 6,
                })
            })
            .collect();
        output(&args.args, Arc::new(out) as ArrayRef)
    }
}

/// A network `address/bits` (a bare address is a /32 or /128).
pub fn parse_cidr(text: &str) -> Option<(IpAddr, u32)> {
    let (addr, bits) = match text.trim().split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u32>().ok()?)),
        None => (text.trim(), None),
    };
    let ip = parse_ip(addr)?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((ip, bits))
}

/// Whether `ip` lies in `net/bits`; addresses of the other family never do.
pub fn in_cidr(ip: IpAddr, (net, bits): (IpAddr, u32)) -> bool {
    match (ip, net) {
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => prefix(ip, bits) == prefix(net, bits),
        _ => false,
    }
}

/// Private, loopback, link-local, shared (CGNAT) and unique-local ranges.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            a.is_private() || a.is_loopback() || a.is_link_local() || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        IpAddr::V6(a) => {
            let first = a.segments()[0];
            a.is_loopback() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

/// `ip_in_cidr(ip, cidr)` and `is_private_ip(ip)`.
pub fn more_functions() -> Vec<datafusion::logical_expr::ScalarUDF> {
    use super::rowfn::{Body, row_fn};
    vec![
        row_fn(
            "ip_in_cidr",
            2,
            Body::Bool(|a| {
                let Some(c) = a[1] else { return Ok(None) };
                let net =
                    parse_cidr(c).ok_or_else(|| format!("not a network: {c:?} (write 10.0.0.0/8 or 2001:db8::/32)"))?;
                Ok(a[0].and_then(parse_ip).map(|ip| in_cidr(ip, net)))
            }),
        ),
        row_fn(
            "is_private_ip",
            1,
            Body::Bool(|a| Ok(a[0].and_then(parse_ip).map(is_private))),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_of_both_families() {
        let p = |ip: &str, bits| prefix(parse_ip(ip).unwrap(), bits);
        assert_eq!(p("203.0.113.77", 24).as_deref(), Some("203.0.113.0/24"));
        assert_eq!(p("203.0.113.77", 0).as_deref(), Some("0.0.0.0/0"));
        assert_eq!(p("203.0.113.77", 32).as_deref(), Some("203.0.113.77/32"));
        assert_eq!(p("2001:db8:1:2::9", 48).as_deref(), Some("2001:db8:1::/48"));
        assert_eq!(p("::ffff:198.51.100.7", 24).as_deref(), Some("198.51.100.0/24"));
        assert_eq!(p("203.0.113.77", 33), None);
        assert!(parse_ip("-").is_none());
    }

    #[test]
    fn networks_and_private_ranges() {
        let ip = |s: &str| parse_ip(s).unwrap();
        let net = |s: &str| parse_cidr(s).unwrap();
        assert!(in_cidr(ip("10.1.2.3"), net("10.0.0.0/8")));
        assert!(!in_cidr(ip("11.1.2.3"), net("10.0.0.0/8")));
        assert!(in_cidr(ip("2001:db8::5"), net("2001:db8::/32")));
        assert!(!in_cidr(ip("10.1.2.3"), net("::/0")));
        assert!(in_cidr(ip("::ffff:10.1.2.3"), net("10.0.0.0/8")));
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(is_private(ip("192.168.1.1")) && is_private(ip("100.64.0.1")) && is_private(ip("fd00::1")));
        assert!(!is_private(ip("8.8.8.8")) && !is_private(ip("2001:4860::8888")));
    }
}
