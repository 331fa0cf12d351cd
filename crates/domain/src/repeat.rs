//! The recurrence choices of the session form (none, daily, weekly on chosen weekdays,
//! monthly; an interval; until a date or a number of sessions), turned into an RRULE on the
//! server. People never type RRULE text; the API, which may, sends it as is.

use jiff::civil::{Date, Weekday};

use crate::recurrence::{ByDay, End, Frequency, Rule, RuleError, RuleParts, Until};

/// How often the form says a session repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Repeat {
    #[default]
    Never,
    Daily,
    Weekly,
    Monthly,
}

impl Repeat {
    pub const ALL: [Repeat; 4] = [Repeat::Never, Repeat::Daily, Repeat::Weekly, Repeat::Monthly];

    pub fn as_str(self) -> &'static str {
        match self {
            Repeat::Never => "none",
            Repeat::Daily => "daily",
            Repeat::Weekly => "weekly",
            Repeat::Monthly => "monthly",
        }
    }

    /// The form value; anything unknown is "never".
    pub fn parse(s: &str) -> Repeat {
        Repeat::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .unwrap_or(Repeat::Never)
    }
}

/// Which day of the month a monthly series keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MonthlyBy {
    /// The same day of the month as the first session (the 14th).
    #[default]
    MonthDay,
    /// The same weekday of the same week of the month (the 2nd Tuesday; the last Friday when the
    /// first session is in the month's last week and its fifth).
    Weekday,
}

/// How a series ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepeatEnd {
    /// After this many sessions, the first included.
    Count(u32),
    /// On this local date, inclusive.
    Until(Date),
}

/// The choices, as the form gives them.
#[derive(Debug, Clone, Default)]
pub struct RepeatChoice {
    pub repeat: Repeat,
    pub interval: u32,
    /// For a weekly series; empty means the first session's weekday.
    pub weekdays: Vec<Weekday>,
    pub monthly_by: MonthlyBy,
    /// `None`: not said (the booking rules then ask for an end).
    pub end: Option<RepeatEnd>,
}

/// The two-letter RFC 5545 weekday codes, Monday first, as the form's checkboxes name them.
pub const WEEKDAY_CODES: [(&str, Weekday); 7] = [
    ("MO", Weekday::Monday),
    ("TU", Weekday::Tuesday),
    ("WE", Weekday::Wednesday),
    ("TH", Weekday::Thursday),
    ("FR", Weekday::Friday),
    ("SA", Weekday::Saturday),
    ("SU", Weekday::Sunday),
];

/// A weekday from its two-letter code.
pub fn weekday(code: &str) -> Option<Weekday> {
    WEEKDAY_CODES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code.trim()))
        .map(|(_, w)| *w)
}

/// The rule for `choice` when the first session is on `first`; `None` for a single session.
pub fn build_rule(choice: &RepeatChoice, first: Date) -> Result<Option<Rule>, RuleError> {
    let freq = match choice.repeat {
        Repeat::Never => return Ok(None),
        Repeat::Daily => Frequency::Daily,
        Repeat::Weekly => Frequency::Weekly,
        Repeat::Monthly => Frequency::Monthly,
    };
    let mut parts = RuleParts::new(freq);
    parts.interval = choice.interval;
    match choice.repeat {
        Repeat::Weekly => parts.by_day = choice.weekdays.iter().copied().map(ByDay::every).collect(),
        Repeat::Monthly if choice.monthly_by == MonthlyBy::Weekday => {
            let nth = (first.day() - 1) / 7 + 1;
            let nth = if nth >= 5 { -1 } else { nth };
            parts.by_day = vec![ByDay::nth(nth, first.weekday())];
        }
        _ => {}
    }
    parts.end = choice.end.map(|end| match end {
        RepeatEnd::Count(n) => End::Count(n),
        RepeatEnd::Until(d) => End::Until(Until::Date(d)),
    });
    Rule::new(parts).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn choice(repeat: Repeat) -> RepeatChoice {
        RepeatChoice {
            repeat,
            interval: 1,
            end: Some(RepeatEnd::Count(4)),
            ..Default::default()
        }
    }

    #[test]
    fn choices_become_rules() {
        let monday = date(2026, 10, 19);
        assert_eq!(build_rule(&choice(Repeat::Never), monday).unwrap(), None);
        let rule = |c: &RepeatChoice| build_rule(c, monday).unwrap().unwrap().to_string();
        assert_eq!(rule(&choice(Repeat::Daily)), "FREQ=DAILY;COUNT=4");
        let mut weekly = choice(Repeat::Weekly);
        weekly.weekdays = vec![Weekday::Thursday, Weekday::Monday];
        weekly.interval = 2;
        weekly.end = Some(RepeatEnd::Until(date(2026, 12, 31)));
        assert_eq!(rule(&weekly), "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;UNTIL=20261231");
        assert_eq!(rule(&choice(Repeat::Monthly)), "FREQ=MONTHLY;COUNT=4");
        let mut by_weekday = choice(Repeat::Monthly);
        by_weekday.monthly_by = MonthlyBy::Weekday;
        // 19 October 2026 is the third Monday; the 30th is the last Friday.
        assert_eq!(rule(&by_weekday), "FREQ=MONTHLY;BYDAY=3MO;COUNT=4");
        assert_eq!(
            build_rule(&by_weekday, date(2026, 10, 30))
                .unwrap()
                .unwrap()
                .to_string(),
            "FREQ=MONTHLY;BYDAY=-1FR;COUNT=4"
        );
        let mut bad = choice(Repeat::Daily);
        bad.interval = 0;
        assert_eq!(
            build_rule(&bad, monday),
            Err(RuleError::IntervalOutOfRange { interval: 0 })
        );
        assert_eq!(weekday("we"), Some(Weekday::Wednesday));
        assert_eq!(Repeat::parse("weekly"), Repeat::Weekly);
        assert_eq!(Repeat::parse("yearly"), Repeat::Never);
    }
}
