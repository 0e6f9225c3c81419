//! Dates as shown to readers ("March 2, 2011"), as exchanged (RFC 3339 UTC, "2011-03-02T09:14:00Z"), and as the
//! owner types them in the blog's time zone (with the time-zone database bundled by `jiff`).

use time::{OffsetDateTime, macros::format_description};

/// "March 2011" for a year and month (1–12); empty for a month that is not one.
pub fn month_name(year: i16, month: i8) -> String {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    usize::try_from(month)
        .ok()
        .and_then(|m| m.checked_sub(1))
        .and_then(|m| NAMES.get(m))
        .map(|name| format!("{name} {year}"))
        .unwrap_or_default()
}

/// "March 2, 2011" for a unix time.
pub fn human(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[month repr:long] [day padding:none], [year]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// Unix seconds of an RFC 3339 time ("2011-03-02T09:14:00Z", "2011-03-02T15:14:00+06:00"), as ActivityStreams
/// gives them.
pub fn parse_iso(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

/// "2011-03-02 09:14 UTC" for a unix time: a moment in the admin pages.
pub fn moment(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// "2011-03-02T09:14:00Z" for a unix time: HTML `datetime`, Atom and ActivityStreams.
pub fn iso(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// The blog's time zone (an IANA name such as "Asia/Almaty"): the owner types and reads dates in it.
#[derive(Debug, Clone)]
pub struct Zone {
    name: String,
    tz: jiff::tz::TimeZone,
}

/// Why a typed date was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("is not a date and time (for example 2011-03-02 09:14)")]
    Malformed,
    #[error(
        "does not exist in {zone}: the clocks skip from {before} to {after} that night; choose another time"
    )]
    Skipped {
        zone: String,
        before: String,
        after: String,
    },
}

impl Zone {
    /// The zone of an IANA name, or `None` for a name the database does not know.
    pub fn named(name: &str) -> Option<Self> {
        let tz = jiff::tz::TimeZone::get(name.trim()).ok()?;
        Some(Self {
            name: name.trim().to_string(),
            tz,
        })
    }

    pub fn utc() -> Self {
        Self {
            name: "UTC".into(),
            tz: jiff::tz::TimeZone::UTC,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every zone name the bundled database knows, sorted (for the settings form's suggestions).
    pub fn all_names() -> Vec<String> {
        let mut names: Vec<String> = jiff::tz::db()
            .available()
            .map(|n| n.as_str().to_string())
            .filter(|n| n.contains('/') || n == "UTC")
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn civil(&self, unix: i64) -> Option<jiff::civil::DateTime> {
        jiff::Timestamp::from_second(unix)
            .ok()
            .map(|t| self.tz.to_datetime(t))
    }

    /// The year and month (1–12) of a moment, in this zone.
    pub fn year_month(&self, unix: i64) -> Option<(i16, i8)> {
        self.civil(unix).map(|d| (d.year(), d.month()))
    }

    /// The moments `[start, end)` of a month in this zone (from its first midnight to the next month's), or
    /// `None` for a month that is not one (13, 0) or a year beyond 1970–9999.
    pub fn month_range(&self, year: i16, month: i8) -> Option<(i64, i64)> {
        if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        let start = jiff::civil::Date::new(year, month, 1).ok()?;
        let end = start.checked_add(jiff::Span::new().months(1)).ok()?;
        let at = |d: jiff::civil::Date| {
            d.to_zoned(self.tz.clone())
                .ok()
                .map(|z| z.timestamp().as_second())
        };
        Some((at(start)?, at(end)?))
    }

    /// "2011-03-02T15:14": the value of an `<input type="datetime-local">`.
    pub fn input_value(&self, unix: i64) -> String {
        self.civil(unix)
            .map(|d| d.strftime("%Y-%m-%dT%H:%M").to_string())
            .unwrap_or_default()
    }

    /// "2011-03-02 15:14": a moment on the admin pages, in this zone.
    pub fn moment(&self, unix: i64) -> String {
        self.civil(unix)
            .map(|d| d.strftime("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    }

    /// "March 2, 2011", the date in this zone.
    pub fn human(&self, unix: i64) -> String {
        self.civil(unix)
            .map(|d| d.strftime("%B %-d, %Y").to_string())
            .unwrap_or_default()
    }

    /// The unix time of a date and time typed in this zone ("2011-03-02T15:14", "2011-03-02 15:14", seconds
    /// optional). A time the clocks skip is refused; of a time that happens twice (the clocks go back), the first.
    pub fn parse_local(&self, text: &str) -> Result<i64, DateError> {
        let text = text.trim().replacen(' ', "T", 1);
        let civil: jiff::civil::DateTime = text.parse().map_err(|_| DateError::Malformed)?;
        let ambiguous = self.tz.to_ambiguous_timestamp(civil);
        if let jiff::tz::AmbiguousOffset::Gap { before, after } = ambiguous.offset() {
            // The transition is the last one before the typed time read with the earlier offset.
            let read_before = civil
                .to_zoned(jiff::tz::TimeZone::fixed(before))
                .map(|z| z.timestamp())
                .map_err(|_| DateError::Malformed)?;
            let transition = self
                .tz
                .preceding(read_before)
                .next()
                .map_or(read_before, |t| t.timestamp());
            let wall = |offset: jiff::tz::Offset| {
                offset.to_datetime(transition).strftime("%H:%M").to_string()
            };
            return Err(DateError::Skipped {
                zone: self.name.clone(),
                before: wall(before),
                after: wall(after),
            });
        }
        ambiguous
            .earlier()
            .map(|t| t.as_second())
            .map_err(|_| DateError::Malformed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn formats() {
        assert_eq!(super::human(1_299_057_240), "March 2, 2011");
        assert_eq!(super::moment(1_299_057_240), "2011-03-02 09:14 UTC");
        assert_eq!(
            super::parse_iso("2011-03-02T09:14:00Z"),
            Some(1_299_057_240)
        );
        assert_eq!(
            super::parse_iso("2011-03-02T15:14:00+06:00"),
            Some(1_299_057_240)
        );
        assert_eq!(super::parse_iso("yesterday"), None);
        assert_eq!(super::iso(1_299_057_240), "2011-03-02T09:14:00Z");
    }

    #[test]
    fn months() {
        assert_eq!(super::month_name(2011, 3), "March 2011");
        assert_eq!(super::month_name(2011, 13), "");
        let almaty = super::Zone::named("Asia/Almaty").unwrap();
        let (start, end) = almaty.month_range(2011, 3).unwrap();
        // March 1, 2011 00:00 in Almaty (UTC+6) is February 28, 18:00 UTC.
        assert_eq!(super::iso(start), "2011-02-28T18:00:00Z");
        assert_eq!(super::iso(end), "2011-03-31T18:00:00Z");
        assert_eq!(almaty.year_month(start), Some((2011, 3)));
        assert_eq!(almaty.year_month(start - 1), Some((2011, 2)));
        assert_eq!(
            almaty
                .month_range(2011, 12)
                .map(|r| super::iso(r.1))
                .unwrap(),
            "2011-12-31T18:00:00Z"
        );
        assert!(almaty.month_range(2011, 0).is_none());
        assert!(almaty.month_range(2011, 13).is_none());
        assert!(almaty.month_range(1969, 5).is_none());
    }

    #[test]
    fn local_dates() {
        let almaty = super::Zone::named("Asia/Almaty").unwrap();
        let t = almaty.parse_local("2011-03-02T15:14").unwrap();
        assert_eq!(t, 1_299_057_240);
        assert_eq!(almaty.input_value(t), "2011-03-02T15:14");
        assert_eq!(almaty.human(t), "March 2, 2011");
        assert_eq!(almaty.parse_local("2011-03-02 15:14:00"), Ok(t));
        assert_eq!(
            almaty.parse_local("yesterday"),
            Err(super::DateError::Malformed)
        );
        assert_eq!(
            almaty.parse_local("2011-02-30T10:00"),
            Err(super::DateError::Malformed)
        );
        let berlin = super::Zone::named("Europe/Berlin").unwrap();
        // 2026-03-29 02:30 does not exist in Berlin (02:00 → 03:00).
        let skipped = berlin.parse_local("2026-03-29T02:30").unwrap_err();
        assert!(
            matches!(&skipped, super::DateError::Skipped { before, after, .. } if before == "02:00" && after == "03:00"),
            "{skipped:?}"
        );
        // 2026-10-25 02:30 happens twice: the first (summer time, +02:00).
        assert_eq!(
            berlin.parse_local("2026-10-25T02:30").unwrap(),
            1_792_888_200
        );
        assert!(super::Zone::named("Mars/Olympus").is_none());
    }
}
