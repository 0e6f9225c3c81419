//! Dates as shown to readers ("March 2, 2011") and as exchanged (RFC 3339 UTC, "2011-03-02T09:14:00Z").

use time::{OffsetDateTime, macros::format_description};

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

#[cfg(test)]
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
}
