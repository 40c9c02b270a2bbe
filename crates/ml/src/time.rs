//! Timestamps in tables: the RFC 3339 text netlens writes for Arrow
//! timestamps (the same spelling as `netlens flows`' CSV), and parsing of
//! the common text timestamp formats so time-ordered splits order rows by
//! time rather than by spelling. Calendar work is chrono's.
//!
//! Parsed timestamps are seconds since the Unix epoch (UTC) as `f64`; text
//! without a zone is taken as UTC (only the order matters for a split).

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// Microseconds since the epoch as RFC 3339 UTC text with six fraction
/// digits (`2026-03-02T13:00:11.625117Z`), as `netlens flows` writes CSV
/// (the bare number when out of chrono's range).
pub fn rfc3339_us(us: i64) -> String {
    match DateTime::from_timestamp_micros(us) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        None => us.to_string(),
    }
}

/// RFC 3339 text (as [`rfc3339_us`] writes it) back to microseconds since
/// the epoch; `None` when it is not RFC 3339.
pub fn parse_rfc3339_us(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.timestamp_micros())
}

/// Order of the first two fields of a slash date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlashDates {
    /// `M/D/YYYY` (CIC-IDS2017).
    MonthFirst,
    /// `D/M/YYYY` (CSE-CIC-IDS2018).
    DayFirst,
}

/// Date-and-time layouts tried after RFC 3339, without the date part.
const CLOCKS: [&str; 4] = [" %H:%M:%S%.f", " %H:%M", " %I:%M:%S %p", " %I:%M %p"];

/// Parses one text timestamp to seconds since the epoch. Accepted:
/// RFC 3339 / ISO 8601 (`2017-07-07T08:59:00Z`, `2017-07-07 08:59:00.5`,
/// with or without a zone offset), a bare date `2017-07-07`, slash dates
/// with an optional 12-hour clock (`7/7/2017 8:59`, `7/7/2017 1:05:09 PM`,
/// in the given field order, four-digit years), and Unix times as numbers.
pub fn parse_timestamp(s: &str, slash: SlashDates) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(x) = s.parse::<f64>() {
        return x.is_finite().then_some(x);
    }
    let secs = |t: NaiveDateTime| t.and_utc().timestamp_micros() as f64 / 1e6;
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros() as f64 / 1e6);
    }
    let date = if s.contains('/') {
        match slash {
            SlashDates::MonthFirst => "%m/%d/%Y",
            SlashDates::DayFirst => "%d/%m/%Y",
        }
    } else {
        "%Y-%m-%d"
    };
    // Four-digit years only: `7/7/17` is ambiguous, not the year 17.
    let year_ok = |d: NaiveDate| (1000..=9999).contains(&chrono::Datelike::year(&d));
    let t_sep = s.replacen('T', " ", 1);
    for clock in CLOCKS {
        if let Ok(t) = NaiveDateTime::parse_from_str(&t_sep, &format!("{date}{clock}")) {
            return year_ok(t.date()).then(|| secs(t));
        }
    }
    let d = NaiveDate::parse_from_str(s, date).ok()?;
    year_ok(d).then(|| secs(d.and_time(chrono::NaiveTime::MIN)))
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
        for us in [0, -1, 1_772_456_411_625_117] {
            assert_eq!(parse_rfc3339_us(&rfc3339_us(us)), Some(us));
        }
        assert_eq!(parse_rfc3339_us("7/7/2017 8:59"), None);
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
