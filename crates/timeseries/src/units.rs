//! Parsing and formatting of durations, rates and thresholds given on a
//! command line: `5m`, `24h`, `7d`; `10Gbit/s`, `500 Mbps`, `1e9`; `80%`.
//!
//! Invariants: durations are whole seconds > 0; rates are finite bits per
//! second >= 0; SI prefixes are decimal (k = 1000), as is usual for link
//! speeds.

use crate::error::{Error, Result};

fn arg_err(input: &str, message: &str) -> Error {
    Error::Argument {
        input: input.to_string(),
        message: message.to_string(),
    }
}

/// Parses a duration such as `30s`, `1m`, `5min`, `1h`, `24h`, `7d`, `2w`
/// (a bare number is seconds). Fractions are allowed if the result is a
/// whole number of seconds (`1.5h`).
pub fn parse_duration(text: &str) -> Result<i64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| arg_err(text, "expected a number followed by s, m, h, d or w"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86400.0,
        "w" | "week" | "weeks" => 604800.0,
        _ => return Err(arg_err(text, "unknown unit (use s, m, h, d or w)")),
    };
    let secs = value * mult;
    if !secs.is_finite() || !(1.0..=1e11).contains(&secs) {
        return Err(arg_err(
            text,
            "duration must be between 1 s and ~3000 years",
        ));
    }
    if (secs - secs.round()).abs() > 1e-6 {
        return Err(arg_err(text, "duration must be a whole number of seconds"));
    }
    Ok(secs.round() as i64)
}

/// Formats seconds as `2 days 3 hours`, `45 minutes`, `30 seconds` (two
/// largest units at most).
pub fn format_duration(secs: i64) -> String {
    let units = [
        (86400_i64, "day"),
        (3600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    let mut rest = secs.max(0);
    let mut parts = Vec::new();
    for (size, name) in units {
        let n = rest / size;
        if n > 0 {
            parts.push(format!("{n} {name}{}", if n == 1 { "" } else { "s" }));
            rest -= n * size;
        }
        if parts.len() == 2 {
            break;
        }
    }
    if parts.is_empty() {
        "0 seconds".to_string()
    } else {
        parts.join(" ")
    }
}

/// Parses a rate into bits per second: `10Gbit/s`, `10 Gbps`, `500Mbit/s`,
/// `1.5Tb/s`, `100MB/s` (bytes: ×8), `1e9` (bare number = bit/s).
pub fn parse_rate(text: &str) -> Result<f64> {
    let t = text.trim();
    // The number ends where a letter other than an exponent 'e'/'E' followed
    // by a digit or sign starts.
    let bytes = t.as_bytes();
    let mut split = t.len();
    for (i, &b) in bytes.iter().enumerate() {
        let c = b as char;
        if c.is_ascii_digit() || c == '.' || c == '+' || c == '-' {
            continue;
        }
        if (c == 'e' || c == 'E')
            && bytes
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_digit() || *n == b'-' || *n == b'+')
        {
            continue;
        }
        split = i;
        break;
    }
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| arg_err(text, "expected a number with an optional unit like Gbit/s"))?;
    let unit = unit.trim();
    let (prefix, rest) = match unit.chars().next() {
        Some(c @ ('k' | 'K' | 'M' | 'G' | 'T' | 'P')) => (Some(c), &unit[1..]),
        _ => (None, unit),
    };
    let mult = match prefix {
        None => 1.0,
        Some('k' | 'K') => 1e3,
        Some('M') => 1e6,
        Some('G') => 1e9,
        Some('T') => 1e12,
        Some(_) => 1e15,
    };
    let per_bit = match rest {
        "" if prefix.is_none() => 1.0,
        "" => 1.0,
        "bit/s" | "bps" | "b/s" | "bits/s" | "bit" | "b" => 1.0,
        "B/s" | "Bps" | "byte/s" | "bytes/s" | "B" => 8.0,
        _ => {
            return Err(arg_err(
                text,
                "unknown unit (use bit/s, bps, B/s with k, M, G, T prefixes)",
            ));
        }
    };
    let bps = value * mult * per_bit;
    if !bps.is_finite() || bps <= 0.0 {
        return Err(arg_err(text, "rate must be a positive finite number"));
    }
    Ok(bps)
}

/// Formats bits per second with a decimal SI prefix: `10 Gbit/s`.
pub fn format_rate(bps: f64) -> String {
    let (div, p) = if bps.abs() >= 1e12 {
        (1e12, "T")
    } else if bps.abs() >= 1e9 {
        (1e9, "G")
    } else if bps.abs() >= 1e6 {
        (1e6, "M")
    } else if bps.abs() >= 1e3 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let v = bps / div;
    let s = if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round())
    } else {
        format!("{v:.2}")
    };
    format!("{s} {p}bit/s")
}

/// Formats a plain number with an SI prefix (for axis labels): `1.5 G`.
pub fn format_si(v: f64) -> String {
    let a = v.abs();
    let (div, p) = if a >= 1e12 {
        (1e12, "T")
    } else if a >= 1e9 {
        (1e9, "G")
    } else if a >= 1e6 {
        (1e6, "M")
    } else if a >= 1e3 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let x = v / div;
    if (x - x.round()).abs() < 1e-9 {
        format!("{}{p}", x.round())
    } else if x.abs() >= 100.0 {
        format!("{x:.0}{p}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}{p}")
    } else {
        format!("{x:.2}{p}")
    }
}

/// A utilisation threshold: a fraction of the capacity (`80%`) or an
/// absolute rate (`8Gbit/s`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// Fraction of capacity in (0, 10] (1.0 = 100 %).
    Fraction(f64),
    /// Absolute rate in bit/s.
    Rate(f64),
}

/// Parses `80%` (fraction of capacity), `0.8` (fraction) or a rate such as
/// `8Gbit/s`.
pub fn parse_threshold(text: &str) -> Result<Threshold> {
    let t = text.trim();
    if let Some(p) = t.strip_suffix('%') {
        let v: f64 = p
            .trim()
            .parse()
            .map_err(|_| arg_err(text, "expected a percentage like 80%"))?;
        if !(v > 0.0 && v <= 1000.0) {
            return Err(arg_err(text, "percentage must be in (0, 1000]"));
        }
        return Ok(Threshold::Fraction(v / 100.0));
    }
    if let Ok(v) = t.parse::<f64>()
        && v > 0.0
        && v <= 10.0
    {
        return Ok(Threshold::Fraction(v));
    }
    parse_rate(t).map(Threshold::Rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1m").ok(), Some(60));
        assert_eq!(parse_duration("5m").ok(), Some(300));
        assert_eq!(parse_duration("24h").ok(), Some(86400));
        assert_eq!(parse_duration("7d").ok(), Some(604800));
        assert_eq!(parse_duration("1.5h").ok(), Some(5400));
        assert_eq!(parse_duration("90").ok(), Some(90));
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("-5m").is_err());
        assert!(parse_duration("1e400d").is_err());
        assert_eq!(format_duration(2 * 86400 + 3 * 3600 + 5), "2 days 3 hours");
        assert_eq!(format_duration(60), "1 minute");
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("10Gbit/s").ok(), Some(10e9));
        assert_eq!(parse_rate("500Mbit/s").ok(), Some(500e6));
        assert_eq!(parse_rate("500 Mbps").ok(), Some(500e6));
        assert_eq!(parse_rate("1e9").ok(), Some(1e9));
        assert_eq!(parse_rate("100MB/s").ok(), Some(800e6));
        assert_eq!(parse_rate("2.5e3 kbit/s").ok(), Some(2.5e6));
        assert!(parse_rate("10 furlongs").is_err());
        assert!(parse_rate("").is_err());
        assert!(parse_rate("-1G").is_err());
        assert_eq!(format_rate(10e9), "10 Gbit/s");
        assert_eq!(format_rate(1.5e6), "1.50 Mbit/s");
    }

    #[test]
    fn thresholds() {
        assert_eq!(parse_threshold("80%").ok(), Some(Threshold::Fraction(0.8)));
        assert_eq!(parse_threshold("0.9").ok(), Some(Threshold::Fraction(0.9)));
        assert_eq!(parse_threshold("8Gbit/s").ok(), Some(Threshold::Rate(8e9)));
        assert!(parse_threshold("abc%").is_err());
    }
}
