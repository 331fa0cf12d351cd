//! The week calendar: Monday to Sunday in the viewer's time zone (`?week=2026-W43` or
//! `?date=2026-10-21`), each day with its sessions; a trainer sees their own, staff everyone's.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::{Router, routing::get};
use jiff::civil::{Date, ISOWeekDate, Weekday};
use store::SessionFilter;

use crate::http::context::Ctx;
use crate::http::error::AppResult;
use crate::http::forms::FieldErrors;
use crate::http::page::{Page, html_status};
use crate::http::state::AppState;
use crate::pages::sessions::query;
use crate::pages::views::{self, SessionRow, SessionState, format_day};

pub fn routes() -> Router<AppState> {
    Router::new().route("/calendar", get(week))
}

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

/// A day of the week shown.
#[derive(Debug, Clone)]
pub struct Day {
    pub label: String,
    pub date: String,
    pub today: bool,
    pub sessions: Vec<SessionRow>,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct WeekPage {
    page: Page,
    heading: String,
    week: String,
    days: Vec<Day>,
    previous: String,
    next: String,
    this_week: String,
    errors: FieldErrors,
    can_book: bool,
}

async fn week(State(app): State<AppState>, ctx: Ctx, RawQuery(raw): RawQuery) -> AppResult {
    let actor = ctx.actor()?;
    let zone = ctx
        .user()
        .map_or_else(|| app.config().default_time_zone.clone(), |u| u.time_zone.clone());
    let fields = query(raw);
    let today = views::start_of_day(app.now(), &zone).date();
    let mut errors = FieldErrors::default();
    let asked = match (fields.get("week"), fields.get("date")) {
        (w, _) if !w.is_empty() => parse_week(&w).or_else(|| {
            errors.add("week", ctx.locale.t("calendar.week_invalid").to_owned());
            None
        }),
        (_, d) if !d.is_empty() => d.trim().parse::<Date>().ok().or_else(|| {
            errors.add("week", ctx.locale.t("session.form.date_invalid").to_owned());
            None
        }),
        _ => None,
    };
    let any_day = asked.unwrap_or(today);
    let monday = any_day
        .checked_sub(jiff::Span::new().days(i64::from(any_day.weekday().to_monday_zero_offset())))
        .unwrap_or(any_day);
    let days: Vec<Date> = (0..7)
        .filter_map(|i| monday.checked_add(jiff::Span::new().days(i)).ok())
        .collect();
    let next_monday = monday.checked_add(jiff::Span::new().weeks(1)).unwrap_or(monday);
    let previous_monday = monday.checked_sub(jiff::Span::new().weeks(1)).unwrap_or(monday);
    let start = views::day_start(monday, &zone).map(|z| z.timestamp());
    let end = views::day_start(next_monday, &zone).map(|z| z.timestamp());
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
    let now = app.now();
    let tz = views::zone(&zone);
    let days = days
        .into_iter()
        .map(|date| Day {
            label: format_day(date, ctx.locale),
            date: date.to_string(),
            today: date == today,
            sessions: found
                .iter()
                .filter(|s| s.session.starts_at.to_zoned(tz.clone()).date() == date)
                .map(|s| SessionRow::of(s, &zone, ctx.locale, now))
                .collect(),
        })
        .collect();
    let sunday = monday.checked_add(jiff::Span::new().days(6)).unwrap_or(monday);
    let iso = monday.iso_week_date();
    let heading = ctx.locale.tf(
        "calendar.heading",
        &[
            ("week", &iso.week()),
            ("from", &format_day(monday, ctx.locale)),
            ("to", &format_day(sunday, ctx.locale)),
        ],
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    html_status(
        status,
        &WeekPage {
            page: Page::new(&ctx, "calendar.title", &app.config().default_time_zone),
            heading,
            week: week_name(monday),
            days,
            previous: week_name(previous_monday),
            next: week_name(next_monday),
            this_week: week_name(today),
            errors,
            can_book: service::booking::may(
                app.service(),
                &actor,
                domain::SessionAction::Book,
                domain::SessionFacts::default(),
            ),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_are_iso_weeks() {
        assert_eq!(parse_week("2026-W43"), Some(jiff::civil::date(2026, 10, 19)));
        assert_eq!(parse_week("2026-W53"), Some(jiff::civil::date(2026, 12, 28)));
        assert_eq!(parse_week("2027-W53"), None);
        assert_eq!(parse_week("43"), None);
        assert_eq!(week_name(jiff::civil::date(2027, 1, 1)), "2026-W53");
    }
}
