//! Timestamps in tables: the RFC 3339 text netlens writes for Arrow
//! timestamps (the same spelling as `netlens flows`' CSV), and parsing of
//! the common text timestamp formats so time-ordered splits order rows by
//! time rather than by spelling.
//!
//! Parsed timestamps are seconds since the Unix epoch (UTC) as `f64`; text
//! without a zone is taken as UTC (only the order matters for a split).

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01, proleptic Gregorian.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Microseconds since the epoch as RFC 3339 UTC text with six fraction
/// digits (`2026-03-02T13:00:11.625117Z`), as `netlens flows` writes CSV.
pub fn rfc3339_us(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let frac = us.rem_euclid(1_000_000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{frac:06}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// Order of the first two fields of a slash date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlashDates {
    /// `M/D/YYYY` (CIC-IDS2017).
    MonthFirst,
    /// `D/M/YYYY` (CSE-CIC-IDS2018).
    DayFirst,
}

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `H:MM[:SS[.frac]]` → seconds of the day.
fn time_of_day(s: &str) -> Option<f64> {
    let mut it = s.split(':');
    let h = num(it.next()?)?;
    let m = num(it.next()?)?;
    let sec = match it.next() {
        None => 0.0,
        Some(x) => {
            let (whole, frac) = x.split_once('.').unwrap_or((x, ""));
            let w = num(whole)?;
            if w > 60 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            f64::from(w)
                + if frac.is_empty() {
                    0.0
                } else {
                    format!("0.{frac}").parse::<f64>().ok()?
                }
        }
    };
    if it.next().is_some() || h > 24 || m > 59 {
        return None;
    }
    Some(f64::from(h) * 3600.0 + f64::from(m) * 60.0 + sec)
}

/// `Z`, `+HH:MM`, `+HHMM`, `-HH` suffix of a time → (time, offset seconds).
fn split_zone(t: &str) -> Option<(&str, f64)> {
    if let Some(rest) = t.strip_suffix('Z').or_else(|| t.strip_suffix('z')) {
        return Some((rest, 0.0));
    }
    // A sign after the first ':' separates the offset.
    if let Some(pos) = t.rfind(['+', '-']).filter(|&p| p > 0) {
        let (time, zone) = t.split_at(pos);
        let sign = if zone.starts_with('-') { -1.0 } else { 1.0 };
        let z = zone.get(1..)?.replace(':', "");
        let (h, m) = match z.len() {
            2 => (num(&z)?, 0),
            4 => (num(z.get(..2)?)?, num(z.get(2..)?)?),
            _ => return None,
        };
        return Some((time, sign * f64::from(h * 3600 + m * 60)));
    }
    Some((t, 0.0))
}

fn ymd_ok(y: i64, m: u32, d: u32) -> bool {
    (1..=12).contains(&m) && (1..=31).contains(&d) && (1..=9999).contains(&y)
}

/// Parses one text timestamp to seconds since the epoch. Accepted:
/// RFC 3339 / ISO 8601 (`2017-07-07T08:59:00Z`, `2017-07-07 08:59:00.5`,
/// with or without a zone offset), a bare date `2017-07-07`, slash dates
/// with an optional 12-hour clock (`7/7/2017 8:59`, `7/7/2017 1:05:09 PM`,
/// in the given field order), and Unix times as numbers.
pub fn parse_timestamp(s: &str, slash: SlashDates) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(x) = s.parse::<f64>() {
        return x.is_finite().then_some(x);
    }
    // Split date and time at 'T' or the first space.
    let (date, rest) = match s.find(['T', 't', ' ']) {
        Some(p) => (&s[..p], s[p + 1..].trim()),
        None => (s, ""),
    };
    let (y, m, d) = if date.contains('-') {
        let mut it = date.split('-');
        let y = i64::from(num(it.next()?)?);
        let m = num(it.next()?)?;
        let d = num(it.next()?)?;
        if it.next().is_some() {
            return None;
        }
        (y, m, d)
    } else if date.contains('/') {
        let mut it = date.split('/');
        let a = num(it.next()?)?;
        let b = num(it.next()?)?;
        let yt = it.next()?;
        if it.next().is_some() || yt.len() < 4 {
            return None;
        }
        let y = i64::from(num(yt)?);
        match slash {
            SlashDates::MonthFirst => (y, a, b),
            SlashDates::DayFirst => (y, b, a),
        }
    } else {
        return None;
    };
    if !ymd_ok(y, m, d) {
        return None;
    }
    let day = days_from_civil(y, m, d) as f64 * 86_400.0;
    if rest.is_empty() {
        return Some(day);
    }
    // 12-hour clock suffix.
    let upper = rest.to_ascii_uppercase();
    let (clock, pm) = if let Some(t) = upper.strip_suffix("PM") {
        (t.trim_end().to_string(), Some(true))
    } else if let Some(t) = upper.strip_suffix("AM") {
        (t.trim_end().to_string(), Some(false))
    } else {
        (upper, None)
    };
    let (clock, offset) = split_zone(&clock)?;
    let mut sod = time_of_day(clock.trim())?;
    if let Some(pm) = pm {
        let h = (sod / 3600.0).floor();
        if !(1.0..=12.0).contains(&h) {
            return None;
        }
        if h == 12.0 {
            sod -= 12.0 * 3600.0;
        }
        if pm {
            sod += 12.0 * 3600.0;
        }
    }
    Some(day + sod - offset)
}

/// Parses a whole text column of timestamps (seconds since the epoch).
/// Slash dates are read month first (CIC-IDS2017) unless some value only
/// makes sense day first. On failure, returns the first row that no
/// accepted format reads.
pub fn parse_time_column(values: &[String]) -> std::result::Result<Vec<f64>, usize> {
    let attempt = |slash| -> std::result::Result<Vec<f64>, usize> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| parse_timestamp(v, slash).ok_or(i))
            .collect()
    };
    match attempt(SlashDates::MonthFirst) {
        Ok(v) => Ok(v),
        Err(first) => attempt(SlashDates::DayFirst).map_err(|_| first),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: SlashDates = SlashDates::MonthFirst;

    #[test]
    fn formats_like_the_flow_writer() {
        assert_eq!(rfc3339_us(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339_us(1_772_456_411_625_117),
            "2026-03-02T13:00:11.625117Z"
        );
        assert_eq!(rfc3339_us(-1), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn parses_common_formats_to_the_same_instant() {
        let t = 1_499_417_940.0; // 2017-07-07T08:59:00Z
        for s in [
            "2017-07-07T08:59:00Z",
            "2017-07-07T08:59:00.000000Z",
            "2017-07-07 08:59:00",
            "2017-07-07 08:59",
            "2017-07-07T10:59:00+02:00",
            "7/7/2017 8:59",
            "7/7/2017 08:59:00",
            "07/07/2017 8:59:00 AM",
            "1499417940",
        ] {
            assert_eq!(parse_timestamp(s, M), Some(t), "{s}");
        }
        assert_eq!(
            parse_timestamp("7/7/2017 1:05:09 PM", M),
            Some(t + 4.0 * 3600.0 + 6.0 * 60.0 + 9.0)
        );
        assert_eq!(
            parse_timestamp("7/7/2017 12:30 AM", M),
            Some(t - 8.0 * 3600.0 - 29.0 * 60.0)
        );
        assert_eq!(
            parse_timestamp("14/02/2018 08:31:01", SlashDates::DayFirst),
            parse_timestamp("2018-02-14 08:31:01", M)
        );
        for bad in [
            "",
            "yesterday",
            "7/7/17 8:59",
            "2017-13-01",
            "7/7/2017 25:00",
            "2017-07-07 8:59 XM",
        ] {
            assert_eq!(parse_timestamp(bad, M), None, "{bad}");
        }
    }

    #[test]
    fn column_orders_cic_dates_by_time_and_detects_day_first() {
        let v: Vec<String> = ["7/20/2017 9:00", "7/3/2017 9:00", "7/9/2017 13:00"]
            .map(String::from)
            .to_vec();
        let p = parse_time_column(&v).unwrap();
        assert!(p[1] < p[2] && p[2] < p[0]);
        let d: Vec<String> = ["14/02/2018 08:31:01", "03/02/2018 08:31:01"]
            .map(String::from)
            .to_vec();
        let p = parse_time_column(&d).unwrap();
        assert!(p[1] < p[0]);
        let bad: Vec<String> = ["2017-07-07", "soon"].map(String::from).to_vec();
        assert_eq!(parse_time_column(&bad), Err(1));
    }
}
