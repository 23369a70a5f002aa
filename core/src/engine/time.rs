//! Points in time, handed in by the caller (the core never reads a clock).

use std::fmt;
use std::time::Duration;

/// A UTC instant with nanosecond precision, counted from the Unix epoch, between
/// 0000-01-01 and 9999-12-31 (inclusive). Constructors and arithmetic saturate at
/// those bounds, so any clock or provider answer gives a timestamp that formats
/// with a four-digit year and never overflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

/// 0000-01-01T00:00:00Z.
const MIN_SECS: i64 = -62_167_219_200;
/// 9999-12-31T23:59:59Z.
const MAX_SECS: i64 = 253_402_300_799;

impl Timestamp {
    /// The instant `secs` seconds after the epoch (saturating at the bounds).
    pub fn from_unix(secs: i64) -> Timestamp {
        Timestamp::clamped(secs as i128, 0)
    }

    fn clamped(secs: i128, nanos: u32) -> Timestamp {
        if secs < MIN_SECS as i128 {
            Timestamp { secs: MIN_SECS, nanos: 0 }
        } else if secs > MAX_SECS as i128 {
            Timestamp { secs: MAX_SECS, nanos: 999_999_999 }
        } else {
            Timestamp { secs: secs as i64, nanos }
        }
    }

    /// The instant `secs` (with a fraction) after the epoch, as ECR's JSON gives it.
    pub fn from_unix_f64(secs: f64) -> Option<Timestamp> {
        if !secs.is_finite() || secs.abs() > 1e13 {
            return None;
        }
        let whole = secs.floor();
        // Round to microseconds: the fraction of a JSON double carries no more.
        let micros = ((secs - whole) * 1e6).round() as u32;
        let (whole, micros) = if micros >= 1_000_000 { (whole + 1.0, 0) } else { (whole, micros) };
        Some(Timestamp::clamped(whole as i128, micros * 1000))
    }

    /// Whole seconds since the epoch.
    pub fn unix_seconds(self) -> i64 {
        self.secs
    }

    /// The nanoseconds past [`Timestamp::unix_seconds`].
    pub fn subsec_nanos(self) -> u32 {
        self.nanos
    }

    /// The instant `d` later (saturating at 9999-12-31).
    pub fn plus(self, d: Duration) -> Timestamp {
        let nanos = self.nanos as u64 + d.subsec_nanos() as u64;
        let secs = self.secs as i128 + d.as_secs() as i128 + (nanos / 1_000_000_000) as i128;
        Timestamp::clamped(secs, (nanos % 1_000_000_000) as u32)
    }

    /// How long after `earlier` this instant is (zero when it is not after it).
    pub fn since(self, earlier: Timestamp) -> Duration {
        let nanos = (self.secs as i128 * 1_000_000_000 + self.nanos as i128)
            - (earlier.secs as i128 * 1_000_000_000 + earlier.nanos as i128);
        if nanos <= 0 { Duration::ZERO } else { Duration::from_nanos(nanos.min(u64::MAX as i128) as u64) }
    }

    /// Parses an HTTP date (RFC 9110: IMF-fixdate, and the obsolete RFC 850 and
    /// asctime forms), as `Retry-After` and `Date` carry it.
    pub fn parse_http_date(s: &str) -> Option<Timestamp> {
        let t = httpdate::parse_http_date(s.trim()).ok()?;
        let secs = match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i128,
            Err(e) => -(e.duration().as_secs() as i128),
        };
        Some(Timestamp::clamped(secs, 0))
    }

    /// `YYYYMMDDTHHMMSSZ`, the SigV4 `X-Amz-Date` form.
    pub fn amz_date(self) -> String {
        // Signing calls this on every request: digits by hand, no formatter. Every
        // field is below 100 once the year is split, as timestamps are clamped to
        // years 0 to 9999.
        let (y, mo, d, h, mi, s) = self.civil();
        let mut out = String::with_capacity(16);
        let mut two = |n: i64, after: Option<char>| {
            out.push(char::from(b'0' + (n / 10 % 10) as u8));
            out.push(char::from(b'0' + (n % 10) as u8));
            out.extend(after);
        };
        two(y / 100, None);
        two(y % 100, None);
        two(mo, None);
        two(d, Some('T'));
        two(h, None);
        two(mi, None);
        two(s, Some('Z'));
        out
    }

    /// `YYYYMMDD`, the SigV4 credential-scope date.
    pub fn date_stamp(self) -> String {
        let (y, mo, d, ..) = self.civil();
        format!("{y:04}{mo:02}{d:02}")
    }

    /// RFC 3339 with a `+00:00` offset, fractional seconds only when present
    /// (`2026-11-28T07:00:00+00:00`, `2026-11-28T07:00:00.250000+00:00`).
    pub fn to_rfc3339(self) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        let mut out = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
        if self.nanos != 0 {
            let micros = self.nanos / 1000;
            if micros * 1000 == self.nanos {
                out.push_str(&format!(".{micros:06}"));
            } else {
                out.push_str(&format!(".{:09}", self.nanos));
            }
        }
        out.push_str("+00:00");
        out
    }

    /// Parses `YYYYMMDDTHHMMSSZ`.
    pub fn parse_amz_date(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = s.get(r)?;
            part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
        };
        Timestamp::from_civil(num(0..4)?, num(4..6)?, num(6..8)?, num(9..11)?, num(11..13)?, num(13..15)?, 0)
    }

    /// Parses RFC 3339 (`2015-08-30T12:36:00Z`, `...12:36:00.5+02:00`); the offset is
    /// applied, so the result is always UTC.
    pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't' | b' ')
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = s.get(r)?;
            part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
        };
        // Checked above: bytes 0..19 are ASCII digits and separators, so 19 is a
        // char boundary; `get` keeps that true for any input all the same.
        let mut rest = s.get(19..)?;
        let mut nanos = 0u32;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            let mut n: u64 = 0;
            for (i, c) in frac.bytes().take(digits).enumerate() {
                if i < 9 {
                    n = n * 10 + (c - b'0') as u64;
                }
            }
            for _ in digits..9 {
                n *= 10;
            }
            nanos = n as u32;
            rest = &frac[digits..];
        }
        let offset = match rest {
            "Z" | "z" => 0,
            _ => {
                let ob = rest.as_bytes();
                if ob.len() != 6 || ob[3] != b':' || !matches!(ob[0], b'+' | b'-') {
                    return None;
                }
                let h: i64 = rest.get(1..3)?.parse().ok()?;
                let m: i64 = rest.get(4..6)?.parse().ok()?;
                if h > 23 || m > 59 {
                    return None;
                }
                let sign = if ob[0] == b'-' { -1 } else { 1 };
                sign * (h * 3600 + m * 60)
            }
        };
        let t = Timestamp::from_civil(
            num(0..4)?,
            num(5..7)?,
            num(8..10)?,
            num(11..13)?,
            num(14..16)?,
            num(17..19)?,
            nanos,
        )?;
        Some(Timestamp::clamped(t.secs as i128 - offset as i128, t.nanos))
    }

    fn from_civil(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64, nanos: u32) -> Option<Timestamp> {
        if !(0..=9999).contains(&y) || !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60
        {
            return None;
        }
        Some(Timestamp::clamped((days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s) as i128, nanos))
    }

    fn civil(self) -> (i64, i64, i64, i64, i64, i64) {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

// Howard Hinnant's days <-> civil date algorithms (proleptic Gregorian calendar).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A duration for messages: `120 s`, `0.5 s`.
pub(crate) fn describe_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs.fract() == 0.0 { format!("{secs:.0} s") } else { format!("{secs} s") }
}

/// `timeouts`: `{ "requestSeconds"?: 30, "operationSeconds"?: 120 }` (numbers of
/// seconds, fractions allowed, at most a day). A request that has no answer within
/// `request` fails as `timeout` and is retried; an operation never runs past
/// `operation`: no request is sent and no retry waits beyond it, and a request's own
/// timeout is cut to what is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Per request, from connecting to the last byte of the response body.
    pub request: Duration,
    /// Per operation, from its first step to its result, retries and waits included.
    pub operation: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts { request: Duration::from_secs(30), operation: Duration::from_secs(120) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let t = Timestamp::parse_rfc3339("2015-08-30T12:36:00Z").unwrap();
        assert_eq!(t.unix_seconds(), 1_440_938_160);
        assert_eq!(t.amz_date(), "20150830T123600Z");
        assert_eq!(t.date_stamp(), "20150830");
        assert_eq!(t.to_rfc3339(), "2015-08-30T12:36:00+00:00");
        assert_eq!(Timestamp::parse_amz_date("20150830T123600Z"), Some(t));
        let shifted = Timestamp::parse_rfc3339("2015-08-30T14:36:00.25+02:00").unwrap();
        assert_eq!(shifted.to_rfc3339(), "2015-08-30T12:36:00.250000+00:00");
        assert_eq!(Timestamp::from_unix_f64(1_440_938_160.5).unwrap().to_rfc3339(), "2015-08-30T12:36:00.500000+00:00");
        assert_eq!(Timestamp::from_unix(951_782_400).to_rfc3339(), "2000-02-29T00:00:00+00:00");
        assert!(Timestamp::parse_rfc3339("2015-13-30T12:36:00Z").is_none());
        assert!(Timestamp::parse_amz_date("2015-08-30").is_none());
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        // A two-byte character across byte 19 (the old code sliced `&s[19..]`).
        assert_eq!(Timestamp::parse_rfc3339("2015-08-30T12:36:0\u{e9}00Z"), None);
        assert_eq!(Timestamp::parse_rfc3339("2015-08-30T12:36:00.\u{e9}"), None);
        // A clock before year 0 or after 9999 saturates instead of overflowing.
        assert_eq!(Timestamp::from_unix(i64::MIN).amz_date(), "00000101T000000Z");
        assert_eq!(Timestamp::from_unix(i64::MAX).to_rfc3339(), "9999-12-31T23:59:59.999999999+00:00");
        // A token server's huge `expires_in` saturates.
        let t = Timestamp::from_unix(0).plus(Duration::from_secs(u64::MAX));
        assert_eq!(t.date_stamp(), "99991231");
        assert_eq!(Timestamp::parse_rfc3339("2015-08-30T12:36:00+99:00"), None);
    }

    #[test]
    fn http_dates() {
        let t = Timestamp::parse_http_date("Sat, 28 Nov 2026 07:00:00 GMT").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-28T07:00:00+00:00");
        assert_eq!(Timestamp::parse_http_date("Saturday, 28-Nov-26 07:00:00 GMT"), Some(t));
        assert_eq!(Timestamp::parse_http_date("soon"), None);
        assert_eq!(t.plus(Duration::from_millis(1500)).since(t), Duration::from_millis(1500));
        assert_eq!(t.since(t.plus(Duration::from_secs(1))), Duration::ZERO);
    }
}
