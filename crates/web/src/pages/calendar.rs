//! The calendar, in the viewer's time zone, in three views (`?view=`):
//! - `week` (the default): Monday to Sunday as columns over a time grid of hours (07:00–21:00,
//!   extended to cover earlier or later sessions), each session placed by its local start and
//!   sized by its local duration; a session crossing midnight shows on both days;
//! - `month`: a Monday-first grid of the weeks of the month, each day listing its sessions (the
//!   first [`MONTH_SHOWN`], then "+N"), days of the neighbouring months dimmed;
//! - `list`: the week as a list of days (the calendar's first form).
//!
//! The period is given by `?date=2026-10-21` (any day in it) or `?week=2026-W43`. A bad `view`,
//! `date` or `week` answers 422 with the reason in the viewer's language, above the calendar of
//! today's period (so the page stays usable). A trainer sees their own sessions, staff everyone's.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::{Router, routing::get};
use jiff::civil::{Date, ISOWeekDate, Weekday};
use jiff::{Span, Timestamp};
use store::{SessionFilter, SessionSummary};

use crate::http::context::Ctx;
use crate::http::error::AppResult;
use crate::http::forms::FieldErrors;
use crate::http::page::{Page, html_status};
use crate::http::state::AppState;
use crate::pages::sessions::query;
use crate::pages::views::{self, SessionRow, SessionState, format_day};

pub fn routes() -> Router<AppState> {
    Router::new().route("/calendar", get(calendar))
}

/// Sessions listed in a day of the month view before "+N".
pub const MONTH_SHOWN: usize = 3;
/// The hours the week grid always shows: from 07:00 to 21:00.
pub const FIRST_HOUR: i32 = 7;
pub const LAST_HOUR: i32 = 21;
/// Minutes per row of the week grid (the CSS defines rows and spans up to 24 hours of them).
pub const ROW_MINUTES: i32 = 15;
/// Side-by-side lanes the CSS provides for overlapping sessions; more share the last one.
pub const MAX_LANES: usize = 4;

/// `2026-W43` (ISO 8601 week), as the `week` parameter and `<input type="week">` write it.
pub fn parse_week(text: &str) -> Option<Date> {
    let (year, week) = text.trim().split_once("-W")?;
    let year: i16 = year.parse().ok()?;
    let week: i8 = week.parse().ok()?;
    ISOWeekDate::new(year, week, Weekday::Monday).ok().map(|w| w.date())
}

/// The ISO week of a date, as `2026-W43`.
pub fn week_name(date: Date) -> String {
    let w = date.iso_week_date();
    format!("{}-W{:02}", w.year(), w.week())
}

/// The Monday of the week of `date`.
pub fn monday_of(date: Date) -> Date {
    date.checked_sub(Span::new().days(i64::from(date.weekday().to_monday_zero_offset())))
        .unwrap_or(date)
}

fn add_days(date: Date, days: i64) -> Date {
    date.checked_add(Span::new().days(days)).unwrap_or(date)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    List,
    Week,
    Month,
}

impl View {
    pub fn parse(text: &str) -> Option<View> {
        match text.trim() {
            "" | "week" => Some(View::Week),
            "month" => Some(View::Month),
            "list" => Some(View::List),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            View::List => "list",
            View::Week => "week",
            View::Month => "month",
        }
    }
}

/// Where the calendar's links lead.
#[derive(Debug, Clone)]
pub struct Nav {
    pub view: &'static str,
    /// The ISO week shown (the list view's week input).
    pub week: String,
    pub date: String,
    pub previous: String,
    pub next: String,
    pub current: String,
    pub previous_key: &'static str,
    pub next_key: &'static str,
    pub current_key: &'static str,
    /// The same period in each view: (view name, catalogue key, href).
    pub views: Vec<(&'static str, &'static str, String)>,
    pub can_book: bool,
}

fn href(view: View, date: Date) -> String {
    format!("/calendar?view={}&date={date}", view.name())
}

/// A day of the list view.
#[derive(Debug, Clone)]
pub struct Day {
    pub label: String,
    pub date: String,
    pub today: bool,
    pub sessions: Vec<SessionRow>,
}

/// A session's piece on one day of the week grid.
#[derive(Debug, Clone)]
pub struct GridEvent {
    pub row: SessionRow,
    /// Local wall-clock start and end on this day, `HH:MM` (`24:00` when it goes on the next day).
    pub start: String,
    pub end: String,
    /// Minutes from midnight, local wall clock, on this day.
    pub start_minute: i32,
    pub end_minute: i32,
    /// First grid row (1-based) and rows spanned.
    pub grid_row: i32,
    pub grid_span: i32,
    /// 1-based lane among overlapping sessions.
    pub lane: usize,
    /// The full date and time, for screen readers.
    pub spoken: String,
    pub continued: bool,
    pub continues: bool,
}

impl GridEvent {
    pub fn cancelled(&self) -> bool {
        self.row.state == SessionState::Cancelled
    }
}

#[derive(Debug, Clone)]
pub struct GridDay {
    pub label: String,
    pub date: String,
    pub today: bool,
    pub lanes: usize,
    pub events: Vec<GridEvent>,
}

/// An hour line of the grid: its label and first row.
#[derive(Debug, Clone)]
pub struct HourLine {
    pub label: String,
    pub grid_row: i32,
}

#[derive(Debug, Clone)]
pub struct MonthCell {
    pub label: String,
    pub day: i8,
    pub date: String,
    pub today: bool,
    pub other_month: bool,
    pub sessions: Vec<SessionRow>,
    pub more: usize,
    pub more_href: String,
    pub more_label: String,
    pub more_text: String,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct ListPage {
    page: Page,
    heading: String,
    nav: Nav,
    days: Vec<Day>,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "calendar_week.html")]
struct WeekPage {
    page: Page,
    heading: String,
    nav: Nav,
    days: Vec<GridDay>,
    hours: Vec<HourLine>,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "calendar_month.html")]
struct MonthPage {
    page: Page,
    heading: String,
    nav: Nav,
    weekdays: Vec<String>,
    weeks: Vec<Vec<MonthCell>>,
    /// No session in the days shown (said in words: small screens hide empty days).
    empty: bool,
    errors: FieldErrors,
}

/// Local wall-clock minutes since midnight.
fn minute_of(z: &jiff::Zoned) -> i32 {
    i32::from(z.hour()) * 60 + i32::from(z.minute())
}

fn clock(minute: i32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// A session's piece on a day: (index in the list, start minute, end minute, continued from the
/// day before, continues on the next).
pub type Piece = (usize, i32, i32, bool, bool);

/// The pieces of `sessions` on `date` in `tz`: (summary index, start minute, end minute,
/// continued from the day before, continues on the next), by start. Placed by local wall-clock
/// time, so a session on a night the clocks change sits at the hours its people read.
pub fn pieces_of_day(sessions: &[(Timestamp, Timestamp)], date: Date, tz: &jiff::tz::TimeZone) -> Vec<Piece> {
    let mut out = Vec::new();
    for (i, (starts, ends)) in sessions.iter().enumerate() {
        let start = starts.to_zoned(tz.clone());
        let end = ends.to_zoned(tz.clone());
        if start.date() > date
            || end.date() < date
            || (end.date() == date && minute_of(&end) == 0 && start.date() < date)
        {
            continue;
        }
        let continued = start.date() < date;
        let ends_at_next_midnight = end.date() == add_days(date, 1) && minute_of(&end) == 0;
        let continues = end.date() > date && !ends_at_next_midnight;
        let from = if continued { 0 } else { minute_of(&start) };
        let to = if continues { 24 * 60 } else { minute_of(&end) };
        out.push((i, from, to.max(from), continued, continues));
    }
    out.sort_by_key(|p| (p.1, p.2));
    out
}

/// Lanes for overlapping pieces (sorted by start): each gets the first lane free at its start.
pub fn lanes(pieces: &[(i32, i32)]) -> (Vec<usize>, usize) {
    let mut ends: Vec<i32> = Vec::new();
    let mut out = Vec::with_capacity(pieces.len());
    for &(from, to) in pieces {
        // A zero-length piece still takes a row.
        let to = to.max(from + ROW_MINUTES);
        match ends.iter().position(|&e| e <= from) {
            Some(i) if i < MAX_LANES => {
                ends[i] = to;
                out.push(i + 1);
            }
            _ if ends.len() < MAX_LANES => {
                ends.push(to);
                out.push(ends.len());
            }
            _ => out.push(MAX_LANES),
        }
    }
    let used = ends.len().max(1);
    (out, used)
}

async fn calendar(State(app): State<AppState>, ctx: Ctx, RawQuery(raw): RawQuery) -> AppResult {
    let actor = ctx.actor()?;
    let zone = ctx
        .user()
        .map_or_else(|| app.config().default_time_zone.clone(), |u| u.time_zone.clone());
    let fields = query(raw);
    let today = views::start_of_day(app.now(), &zone).date();
    let mut errors = FieldErrors::default();
    let view = View::parse(&fields.get("view")).unwrap_or_else(|| {
        errors.add("view", ctx.locale.t("calendar.view_invalid").to_owned());
        View::Week
    });
    let asked = match (fields.get("week"), fields.get("date")) {
        (w, _) if !w.is_empty() => parse_week(&w).or_else(|| {
            errors.add("week", ctx.locale.t("calendar.week_invalid").to_owned());
            None
        }),
        (_, d) if !d.is_empty() => d.trim().parse::<Date>().ok().or_else(|| {
            errors.add("date", ctx.locale.t("session.form.date_invalid").to_owned());
            None
        }),
        _ => None,
    };
    let any_day = asked.unwrap_or(today);
    // The days shown: a week, or the weeks that hold the month.
    let (first, days_shown) = match view {
        View::List | View::Week => (monday_of(any_day), 7),
        View::Month => {
            let first = monday_of(any_day.first_of_month());
            let last = monday_of(any_day.last_of_month());
            let weeks = (last - first).get_days() / 7 + 1;
            (first, i64::from(weeks) * 7)
        }
    };
    let after = add_days(first, days_shown);
    let start = views::day_start(first, &zone).map(|z| z.timestamp());
    let end = views::day_start(after, &zone).map(|z| z.timestamp());
    let found = service::booking::list(
        app.service(),
        &actor,
        SessionFilter {
            from: start,
            to: end,
            include_cancelled: true,
            limit: 2000,
            ..Default::default()
        },
        None,
    )
    .await?;
    let can_book = service::booking::may(
        app.service(),
        &actor,
        domain::SessionAction::Book,
        domain::SessionFacts::default(),
    );
    let (previous, next, previous_key, next_key, current_key) = match view {
        View::Month => {
            let month = any_day.first_of_month();
            (
                month.checked_sub(Span::new().months(1)).unwrap_or(month),
                month.checked_add(Span::new().months(1)).unwrap_or(month),
                "calendar.previous_month",
                "calendar.next_month",
                "calendar.this_month",
            )
        }
        _ => (
            add_days(first, -7),
            add_days(first, 7),
            "calendar.previous",
            "calendar.next",
            "calendar.this_week",
        ),
    };
    let nav = Nav {
        view: view.name(),
        week: week_name(first),
        date: any_day.to_string(),
        previous: href(view, previous),
        next: href(view, next),
        current: href(view, today),
        previous_key,
        next_key,
        current_key,
        views: [
            (View::Week, "calendar.view.week"),
            (View::Month, "calendar.view.month"),
            (View::List, "calendar.view.list"),
        ]
        .into_iter()
        .map(|(v, key)| (v.name(), key, href(v, any_day)))
        .collect(),
        can_book,
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let now = app.now();
    let tz = views::zone(&zone);
    let locale = ctx.locale;
    let page = Page::new(&ctx, "calendar.title", &app.config().default_time_zone);
    let starts_on = |s: &SessionSummary, date: Date| s.session.starts_at.to_zoned(tz.clone()).date() == date;
    let week_heading = |monday: Date| {
        locale.tf(
            "calendar.heading",
            &[
                ("week", &monday.iso_week_date().week()),
                ("from", &format_day(monday, locale)),
                ("to", &format_day(add_days(monday, 6), locale)),
            ],
        )
    };
    match view {
        View::List => {
            let days = (0..7)
                .map(|i| add_days(first, i))
                .map(|date| Day {
                    label: format_day(date, locale),
                    date: date.to_string(),
                    today: date == today,
                    sessions: found
                        .iter()
                        .filter(|s| starts_on(s, date))
                        .map(|s| SessionRow::of(s, &zone, locale, now))
                        .collect(),
                })
                .collect();
            html_status(
                status,
                &ListPage {
                    page,
                    heading: week_heading(first),
                    nav,
                    days,
                    errors,
                },
            )
        }
        View::Week => {
            let times: Vec<(Timestamp, Timestamp)> =
                found.iter().map(|s| (s.session.starts_at, s.session.ends_at)).collect();
            let per_day: Vec<(Date, Vec<Piece>)> = (0..7)
                .map(|i| add_days(first, i))
                .map(|date| (date, pieces_of_day(&times, date, &tz)))
                .collect();
            // 07:00–21:00, widened to whole hours around every piece.
            let mut first_hour = FIRST_HOUR;
            let mut last_hour = LAST_HOUR;
            for (_, pieces) in &per_day {
                for &(_, from, to, _, _) in pieces {
                    first_hour = first_hour.min(from / 60);
                    last_hour = last_hour.max((to + 59) / 60);
                }
            }
            let last_hour = last_hour.clamp(first_hour + 1, 24);
            let origin = first_hour * 60;
            let hours = (first_hour..last_hour)
                .map(|h| HourLine {
                    label: clock(h * 60),
                    grid_row: (h * 60 - origin) / ROW_MINUTES + 1,
                })
                .collect();
            let days = per_day
                .into_iter()
                .map(|(date, pieces)| {
                    let spans: Vec<(i32, i32)> = pieces.iter().map(|p| (p.1, p.2)).collect();
                    let (lane_of, lanes) = lanes(&spans);
                    let label = format_day(date, locale);
                    let events = pieces
                        .iter()
                        .zip(lane_of)
                        .filter_map(|(&(i, from, to, continued, continues), lane)| {
                            let summary = found.get(i)?;
                            let row = SessionRow::of(summary, &zone, locale, now);
                            let grid_row = (from - origin) / ROW_MINUTES + 1;
                            let end_row = ((to - origin) + ROW_MINUTES - 1) / ROW_MINUTES + 1;
                            let spoken = format!("{}, {}", row.when.day, row.when.hours);
                            Some(GridEvent {
                                start: clock(from),
                                end: clock(to),
                                start_minute: from,
                                end_minute: to,
                                grid_row,
                                grid_span: (end_row - grid_row).max(1),
                                lane,
                                spoken,
                                continued,
                                continues,
                                row,
                            })
                        })
                        .collect();
                    GridDay {
                        label,
                        date: date.to_string(),
                        today: date == today,
                        lanes,
                        events,
                    }
                })
                .collect();
            html_status(
                status,
                &WeekPage {
                    page,
                    heading: week_heading(first),
                    nav,
                    days,
                    hours,
                    errors,
                },
            )
        }
        View::Month => {
            let month = any_day.month();
            let weeks = (0..days_shown / 7)
                .map(|w| {
                    (0..7)
                        .map(|d| add_days(first, w * 7 + d))
                        .map(|date| {
                            let all: Vec<&SessionSummary> = found.iter().filter(|s| starts_on(s, date)).collect();
                            let more = all.len().saturating_sub(MONTH_SHOWN);
                            let label = format_day(date, locale);
                            MonthCell {
                                more_text: locale.tf("calendar.more", &[("count", &more)]),
                                more_label: locale.tf("calendar.more_label", &[("count", &more), ("day", &label)]),
                                label,
                                day: date.day(),
                                date: date.to_string(),
                                today: date == today,
                                other_month: date.month() != month,
                                sessions: all
                                    .iter()
                                    .take(MONTH_SHOWN)
                                    .map(|s| SessionRow::of(s, &zone, locale, now))
                                    .collect(),
                                more,
                                more_href: href(View::Week, date),
                            }
                        })
                        .collect()
                })
                .collect();
            let weekdays = (1..=7)
                .map(|d| locale.t(&format!("date.weekday.{d}")).to_owned())
                .collect();
            let heading = locale.tf(
                "calendar.month_heading",
                &[
                    ("month", &locale.t(&format!("date.month.{month}"))),
                    ("year", &any_day.year()),
                ],
            );
            html_status(
                status,
                &MonthPage {
                    page,
                    heading,
                    nav,
                    weekdays,
                    weeks,
                    empty: found.is_empty(),
                    errors,
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn weeks_are_iso_weeks() {
        assert_eq!(parse_week("2026-W43"), Some(date(2026, 10, 19)));
        assert_eq!(parse_week("2026-W53"), Some(date(2026, 12, 28)));
        assert_eq!(parse_week("2027-W53"), None);
        assert_eq!(parse_week("43"), None);
        assert_eq!(week_name(date(2027, 1, 1)), "2026-W53");
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn pieces_follow_the_wall_clock_across_midnight_and_clock_changes() {
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        // 23:00 on the Saturday before spring forward, three hours: 23:00–24:00, then 00:00–03:00
        // (02:00 does not exist that night).
        let night = [(at("2027-03-27T22:00:00Z"), at("2027-03-28T01:00:00Z"))];
        assert_eq!(
            pieces_of_day(&night, date(2027, 3, 27), &paris),
            vec![(0, 23 * 60, 24 * 60, false, true)]
        );
        assert_eq!(
            pieces_of_day(&night, date(2027, 3, 28), &paris),
            vec![(0, 0, 3 * 60, true, false)]
        );
        assert!(pieces_of_day(&night, date(2027, 3, 29), &paris).is_empty());
        // After fall back, 02:30 UTC is 03:30 CET (not 04:30 as summer time would say).
        let autumn = [(at("2027-10-31T02:30:00Z"), at("2027-10-31T03:30:00Z"))];
        assert_eq!(
            pieces_of_day(&autumn, date(2027, 10, 31), &paris),
            vec![(0, 210, 270, false, false)]
        );
        // Ending at midnight exactly: nothing on the next day.
        let to_midnight = [(at("2027-06-01T20:00:00Z"), at("2027-06-01T22:00:00Z"))];
        assert!(pieces_of_day(&to_midnight, date(2027, 6, 2), &paris).is_empty());
    }

    #[test]
    fn overlapping_sessions_take_lanes() {
        assert_eq!(lanes(&[(540, 600), (560, 620), (600, 660)]), (vec![1, 2, 1], 2));
        assert_eq!(lanes(&[]), (vec![], 1));
        let crowded = [(0, 60); 6];
        assert_eq!(lanes(&crowded).0, vec![1, 2, 3, 4, 4, 4]);
    }
}
