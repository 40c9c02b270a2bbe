//! RFC 3339 formatting of UTC timestamps.
//!
//! Written here instead of pulling in chrono/time: the exporter needs exactly
//! one conversion (µs since the epoch → `YYYY-MM-DDTHH:MM:SS.ffffffZ`), and
//! the civil-from-days algorithm is a dozen lines with no edge cases left
//! once days are computed with Euclidean division.

/// Append `us` (µs since the Unix epoch, UTC) as RFC 3339 with 6 fraction digits.
pub fn push_rfc3339_us(buf: &mut Vec<u8>, us: i64) {
    let secs = us.div_euclid(1_000_000);
    let frac = us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (sod / 3600, (sod % 3600) / 60, sod % 60);
    use std::io::Write as _;
    let _ = write!(
        buf,
        "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{frac:06}Z"
    );
}

/// The RFC 3339 text of `us` as a `String`.
pub fn rfc3339_us(us: i64) -> String {
    let mut v = Vec::with_capacity(27);
    push_rfc3339_us(&mut v, us);
    String::from_utf8(v).unwrap_or_default()
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_us(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339_us(1_000_000_000_123_456),
            "2001-09-09T01:46:40.123456Z"
        );
        assert_eq!(
            rfc3339_us(951_782_400_000_000),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(rfc3339_us(-1), "1969-12-31T23:59:59.999999Z");
    }
}
