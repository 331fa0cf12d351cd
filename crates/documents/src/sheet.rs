//! The attendance sheet (feuille d'émargement): per session, or per course over a period.
//!
//! Each session starts a page. Its header (organisation, course, session, date, hours with the
//! zone, trainers) and the table header repeat on every page the session takes. Rows are the
//! trainers, then the learners; for each half-day: planned minutes, minutes present, and the
//! signature (the drawn image or the typed name, with the time it was given) or, in words, why
//! there is none. The session ends with the learners' totals, the corrections as footnotes, and
//! the seal of its evidence chain with the command that verifies it. Nothing relies on colour.

use std::collections::HashSet;

use i18n::Locale;
use jiff::tz::TimeZone;

use crate::canvas::{self, Align, CONTENT_BOTTOM, Info, MARGIN, PAGE_WIDTH, Page, footer};
use crate::model::{Attendee, Part, SheetInput, SheetSession, SignatureKind};
use crate::signature::{self, Prepared};
use crate::text::{Fonts, LEADING, Weight, fonts};
use crate::{DocumentError, format};

const WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
const PAD: f32 = 3.0;
const NAME_SIZE: f32 = 8.5;
const CELL_SIZE: f32 = 8.5;
const CAPTION_SIZE: f32 = 6.5;
const MIN_SIZE: f32 = 6.0;
const SIGNATURE_HEIGHT: f32 = 19.0;
const MIN_ROW: f32 = 30.0;
const MINUTES_WIDTH: f32 = 38.0;
const HEADER_GRAY: u8 = 222;
const SECTION_GRAY: u8 = 238;

pub(crate) fn render(input: &SheetInput) -> Result<Vec<u8>, DocumentError> {
    let fonts = fonts()?;
    let first = input.sessions.first().ok_or(DocumentError::NoSessions)?;
    let locale = input.locale;
    for session in &input.sessions {
        format::zone(&session.time_zone)?;
        check_parts(session)?;
    }
    let mut signatures = prepare_signatures(input)?.into_iter();
    let mut pages = Vec::new();
    for (index, session) in input.sessions.iter().enumerate() {
        let writer = SessionWriter::new(fonts, input, session, index, signatures.next().unwrap_or_default())?;
        writer.write(&mut pages);
    }

    // Footers, now that the number of pages is known.
    let total = pages.len();
    let generated = locale.tf(
        "documents.sheet.generated",
        &[
            (
                "when",
                &i18n::format_short(input.generated_at, &first.time_zone, locale),
            ),
            ("zone", &first.time_zone),
        ],
    );
    let left = format!(
        "{} · {} · {generated}",
        locale.t("documents.sheet.title"),
        input.course_title
    );
    for (i, page) in pages.iter_mut().enumerate() {
        footer(fonts, page, &left, locale, i + 1, total);
    }
    canvas::render(
        fonts,
        pages,
        Info {
            title: format!("{} — {}", locale.t("documents.sheet.title"), input.course_title),
            language: locale.as_str(),
        },
    )
}

/// Where a half-day's three columns are.
struct PartColumns {
    planned: f32,
    present: f32,
    signature: f32,
    signature_width: f32,
}

struct Columns {
    name_width: f32,
    parts: Vec<PartColumns>,
}

impl Columns {
    fn new(parts: usize) -> Columns {
        let name_width = if parts > 1 { 127.0 } else { 170.0 };
        let signature_width = (WIDTH - name_width) / parts as f32 - 2.0 * MINUTES_WIDTH;
        let parts = (0..parts)
            .map(|i| {
                let planned = MARGIN + name_width + i as f32 * (2.0 * MINUTES_WIDTH + signature_width);
                PartColumns {
                    planned,
                    present: planned + MINUTES_WIDTH,
                    signature: planned + 2.0 * MINUTES_WIDTH,
                    signature_width,
                }
            })
            .collect();
        Columns { name_width, parts }
    }

    /// Every vertical line of the table, outer edges included.
    fn edges(&self) -> Vec<f32> {
        let mut edges = vec![MARGIN, MARGIN + self.name_width];
        for part in &self.parts {
            edges.extend([part.present, part.signature, part.signature + part.signature_width]);
        }
        edges
    }
}

/// A person's signatures, per half-day, decoded once before layout.
type Signatures = Vec<Option<Prepared>>;

/// The signatures of a session's trainers and learners, per person.
#[derive(Default)]
struct SessionSignatures {
    trainers: Vec<Signatures>,
    learners: Vec<Signatures>,
}

struct SessionWriter<'a> {
    fonts: &'a Fonts,
    locale: Locale,
    input: &'a SheetInput,
    session: &'a SheetSession,
    index: usize,
    zone: TimeZone,
    columns: Columns,
    trainers: Vec<Signatures>,
    learners: Vec<Signatures>,
    footnotes: Vec<String>,
    page: Page,
    y: f32,
    in_table: bool,
}

impl<'a> SessionWriter<'a> {
    fn new(
        fonts: &'a Fonts,
        input: &'a SheetInput,
        session: &'a SheetSession,
        index: usize,
        signatures: SessionSignatures,
    ) -> Result<SessionWriter<'a>, DocumentError> {
        let zone = format::zone(&session.time_zone)?;
        Ok(SessionWriter {
            fonts,
            locale: input.locale,
            input,
            session,
            index,
            zone,
            columns: Columns::new(session.parts.len()),
            trainers: signatures.trainers,
            learners: signatures.learners,
            footnotes: Vec::new(),
            page: Page::default(),
            y: 0.0,
            in_table: false,
        })
    }

    fn write(mut self, pages: &mut Vec<Page>) {
        let session = self.session;
        self.start_page(pages, false);
        self.in_table = true;
        self.table_header();
        if !session.trainers.is_empty() {
            self.section(pages, "documents.sheet.section.trainers");
            let trainers = std::mem::take(&mut self.trainers);
            for (person, signatures) in session.trainers.iter().zip(&trainers) {
                self.row(pages, person, signatures);
            }
        }
        self.section(pages, "documents.sheet.section.learners");
        if session.learners.is_empty() {
            let text = self.locale.t("documents.sheet.no_learners").to_owned();
            self.note(pages, &text, Weight::Regular);
        }
        let learners = std::mem::take(&mut self.learners);
        for (person, signatures) in session.learners.iter().zip(&learners) {
            self.row(pages, person, signatures);
        }
        if !session.learners.is_empty() {
            self.totals(pages);
        }
        self.in_table = false;
        self.y += 8.0;
        if !self.footnotes.is_empty() {
            let title = self.locale.t("documents.sheet.corrections").to_owned();
            self.note(pages, &title, Weight::Bold);
            for footnote in std::mem::take(&mut self.footnotes) {
                self.note(pages, &footnote, Weight::Regular);
            }
            self.y += 6.0;
        }
        self.seal(pages);
        pages.push(std::mem::take(&mut self.page));
    }

    /// Starts a page with the session's header (and, in the table, the table's header).
    fn start_page(&mut self, pages: &mut Vec<Page>, continued: bool) {
        if continued {
            pages.push(std::mem::take(&mut self.page));
        }
        self.y = MARGIN;
        self.page_header(continued);
        if continued && self.in_table {
            self.table_header();
        }
    }

    /// Makes room for `height` points, on a new page if needed.
    fn ensure(&mut self, pages: &mut Vec<Page>, height: f32) {
        if self.y + height > CONTENT_BOTTOM {
            self.start_page(pages, true);
        }
    }

    fn page_header(&mut self, continued: bool) {
        let (fonts, locale, input, session) = (self.fonts, self.locale, self.input, self.session);
        let organisation = &input.organisation;

        // The organisation on the right.
        let right_width = 175.0;
        let right_x = PAGE_WIDTH - MARGIN - right_width;
        let mut right_y = self.y;
        let block = fonts.fit(&organisation.name, Weight::Bold, 9.0, MIN_SIZE, right_width, 2);
        right_y += self.page.block(block, right_x, right_y, right_width, Align::Right);
        let mut details = Vec::new();
        if let Some(siret) = &organisation.siret {
            details.push(locale.tf("documents.siret", &[("siret", siret)]));
        }
        if let Some(nda) = &organisation.nda {
            details.push(locale.tf("documents.nda", &[("nda", nda)]));
        }
        for detail in details {
            let block = fonts.fit(&detail, Weight::Regular, 7.5, MIN_SIZE, right_width, 1);
            right_y += self.page.block(block, right_x, right_y, right_width, Align::Right);
        }

        // Title and course on the left.
        let left_width = WIDTH - right_width - 12.0;
        let mut y = self.y;
        let title = fonts.shape(locale.t("documents.sheet.title"), Weight::Bold);
        self.page.line(title, 14.0, MARGIN, y, left_width, Align::Left);
        y += 14.0 * LEADING + 2.0;
        let course = locale.tf("documents.sheet.course", &[("title", &input.course_title)]);
        let block = fonts.fit(&course, Weight::Bold, 10.5, 8.0, left_width, 2);
        y += self.page.block(block, MARGIN, y, left_width, Align::Left);
        y = y.max(right_y) + 4.0;

        // The session.
        let mut lines = Vec::new();
        let mut heading = locale.tf("documents.sheet.session", &[("title", &session.title)]);
        // A session over several days comes as one block per day, under the same id: the
        // numbering counts sessions.
        let starts = |i: &usize| *i == 0 || input.sessions[*i - 1].id != input.sessions[*i].id;
        let total = (0..input.sessions.len()).filter(starts).count();
        if total > 1 {
            let n = (0..=self.index).filter(starts).count();
            heading = format!(
                "{heading} · {}",
                locale.tf("documents.sheet.session_of", &[("n", &n), ("total", &total)])
            );
        }
        if continued {
            heading = format!("{heading} {}", locale.t("documents.sheet.continued"));
        }
        lines.push((heading, Weight::Bold));
        if let Some((from, to)) = self.period() {
            lines.push((
                locale.tf(
                    "documents.sheet.period",
                    &[("from", &format::date(from, locale)), ("to", &format::date(to, locale))],
                ),
                Weight::Regular,
            ));
        }
        lines.push((
            format!(
                "{} · {}",
                locale.tf("documents.sheet.date", &[("date", &self.session_date())]),
                locale.tf("documents.sheet.hours", &[("hours", &self.hours())])
            ),
            Weight::Regular,
        ));
        let trainers: Vec<&str> = session.trainers.iter().map(|t| t.name.as_str()).collect();
        if !trainers.is_empty() {
            lines.push((
                locale.tf("documents.sheet.trainers", &[("names", &trainers.join(", "))]),
                Weight::Regular,
            ));
        }
        for (text, weight) in lines {
            let block = fonts.fit(&text, weight, 8.5, MIN_SIZE, WIDTH, 3);
            y += self.page.block(block, MARGIN, y, WIDTH, Align::Left);
        }
        self.y = y + 6.0;
    }

    /// The first and last days of a course sheet (none for a single session).
    fn period(&self) -> Option<(jiff::civil::Date, jiff::civil::Date)> {
        if self.input.sessions.len() < 2 {
            return None;
        }
        let days: Vec<jiff::civil::Date> = self
            .input
            .sessions
            .iter()
            .filter_map(|session| {
                let zone = TimeZone::get(&session.time_zone).ok()?;
                Some(session.parts.first()?.start.to_zoned(zone).date())
            })
            .collect();
        Some((*days.iter().min()?, *days.iter().max()?))
    }

    fn session_date(&self) -> String {
        let start = self
            .session
            .parts
            .first()
            .map(|p| p.start)
            .unwrap_or(self.input.generated_at);
        format::long_date(start.to_zoned(self.zone.clone()).date(), self.locale)
    }

    /// `Matin 09:00–12:30 · Après-midi 14:00–17:30 (Europe/Paris)`.
    fn hours(&self) -> String {
        let parts: Vec<String> = self
            .session
            .parts
            .iter()
            .map(|part| {
                format!(
                    "{} {}–{}",
                    part.half_day.label(self.locale),
                    format::time(part.start, &self.zone),
                    format::time(part.end, &self.zone)
                )
            })
            .collect();
        format!("{} ({})", parts.join(" · "), self.session.time_zone)
    }

    fn part_label(&self, part: &Part) -> String {
        format!(
            "{} {}–{}",
            part.half_day.label(self.locale),
            format::time(part.start, &self.zone),
            format::time(part.end, &self.zone)
        )
    }

    fn table_header(&mut self) {
        let (fonts, locale) = (self.fonts, self.locale);
        let top = self.y;
        let group_height = 8.0 * LEADING + 2.0 * PAD;
        let label_height = 2.0 * 7.0 * LEADING + 2.0 * PAD;
        let height = group_height + label_height;
        self.page.fill(MARGIN, top, WIDTH, height, HEADER_GRAY);

        let name = fonts.fit(
            locale.t("documents.sheet.column.person"),
            Weight::Bold,
            8.0,
            MIN_SIZE,
            self.columns.name_width - 2.0 * PAD,
            2,
        );
        let name_top = top + (height - name.height()) / 2.0;
        self.page.block(
            name,
            MARGIN + PAD,
            name_top,
            self.columns.name_width - 2.0 * PAD,
            Align::Left,
        );

        let labels = [
            locale.t("documents.sheet.column.planned"),
            locale.t("documents.sheet.column.present"),
            locale.t("documents.sheet.column.signature"),
        ];
        for (part, columns) in self.session.parts.iter().zip(&self.columns.parts) {
            let group_width = 2.0 * MINUTES_WIDTH + columns.signature_width;
            let label = self.part_label(part);
            let block = fonts.fit(&label, Weight::Bold, 8.0, MIN_SIZE, group_width - 2.0 * PAD, 1);
            self.page.block(
                block,
                columns.planned + PAD,
                top + PAD,
                group_width - 2.0 * PAD,
                Align::Center,
            );
            self.page.rule(
                columns.planned,
                top + group_height,
                columns.planned + group_width,
                top + group_height,
                0.4,
            );
            let cells = [
                (columns.planned, MINUTES_WIDTH),
                (columns.present, MINUTES_WIDTH),
                (columns.signature, columns.signature_width),
            ];
            for ((x, w), label) in cells.into_iter().zip(labels) {
                let block = fonts.fit(label, Weight::Bold, 7.0, 5.0, w - 2.0, 2);
                let label_top = top + group_height + (label_height - block.height()) / 2.0;
                self.page.block(block, x + 1.0, label_top, w - 2.0, Align::Center);
            }
        }
        for (i, x) in self.columns.edges().into_iter().enumerate() {
            // Inside a half-day, the labels' separators start below the group's title.
            let from = if i < 2 || (i - 2) % 3 == 2 {
                top
            } else {
                top + group_height
            };
            self.page.rule(x, from, x, top + height, if i == 0 { 0.8 } else { 0.4 });
        }
        self.page.rule(MARGIN, top, MARGIN + WIDTH, top, 0.8);
        self.page.rule(MARGIN, top + height, MARGIN + WIDTH, top + height, 0.8);
        self.y = top + height;
    }

    /// A full-width row that names the people below it.
    fn section(&mut self, pages: &mut Vec<Page>, key: &str) {
        let height = 8.0 * LEADING + 2.0 * PAD;
        // Kept with at least one row after it.
        self.ensure(pages, height + MIN_ROW);
        let top = self.y;
        self.page.fill(MARGIN, top, WIDTH, height, SECTION_GRAY);
        // The fill covers half of the line above: drawn again on top of it.
        self.page.rule(MARGIN, top, MARGIN + WIDTH, top, 0.4);
        let line = self.fonts.shape(self.locale.t(key), Weight::Bold);
        self.page
            .line(line, 8.0, MARGIN + PAD, top + PAD, WIDTH - 2.0 * PAD, Align::Left);
        self.frame_row(top, height, false);
        self.y = top + height;
    }

    /// A line of text under (or inside) the table, on a new page if needed.
    fn note(&mut self, pages: &mut Vec<Page>, text: &str, weight: Weight) {
        for line in self.fonts.wrap(text, weight, 7.5, WIDTH) {
            let height = 7.5 * LEADING;
            self.ensure(pages, height);
            self.page.line(line, 7.5, MARGIN, self.y, WIDTH, Align::Left);
            self.y += height;
        }
    }

    fn row(&mut self, pages: &mut Vec<Page>, person: &Attendee, signatures: &Signatures) {
        let (fonts, locale, session) = (self.fonts, self.locale, self.session);
        let name_width = self.columns.name_width - 2.0 * PAD;
        let name = fonts.fit(&person.name, Weight::Regular, NAME_SIZE, MIN_SIZE, name_width, 4);

        // Each half-day's cells, laid out before the row's height is known.
        let mut cells = Vec::new();
        for (i, (attendance, columns)) in person.attendance.iter().zip(&self.columns.parts).enumerate() {
            let part = &session.parts[i];
            let mut present = attendance.present_minutes.to_string();
            for correction in &attendance.corrections {
                self.footnotes.push(format!(
                    "({}) {} — {} : {correction}",
                    self.footnotes.len() + 1,
                    person.name,
                    part.half_day.label(locale)
                ));
                present = format!("{present} ({})", self.footnotes.len());
            }
            let planned = fonts.fit(
                &attendance.planned_minutes.to_string(),
                Weight::Regular,
                CELL_SIZE,
                MIN_SIZE,
                MINUTES_WIDTH - 2.0 * PAD,
                1,
            );
            let present = fonts.fit(&present, Weight::Regular, CELL_SIZE, 5.0, MINUTES_WIDTH - 2.0 * PAD, 2);
            let signature = self.signature_cell(
                attendance,
                signatures.get(i).cloned().flatten(),
                columns.signature_width,
                part,
            );
            cells.push((planned, present, signature));
        }
        let content = cells
            .iter()
            .map(|(planned, present, signature)| planned.height().max(present.height()).max(signature.height()))
            .fold(name.height(), f32::max);
        let height = (content + 2.0 * PAD).max(MIN_ROW);
        self.ensure(pages, height);
        let top = self.y;

        let centred = |h: f32| top + (height - h) / 2.0;
        let name_top = centred(name.height());
        self.page.block(name, MARGIN + PAD, name_top, name_width, Align::Left);
        for ((planned, present, signature), columns) in cells.into_iter().zip(&self.columns.parts) {
            let planned_top = centred(planned.height());
            self.page.block(
                planned,
                columns.planned + PAD,
                planned_top,
                MINUTES_WIDTH - 2.0 * PAD,
                Align::Center,
            );
            let present_top = centred(present.height());
            self.page.block(
                present,
                columns.present + PAD,
                present_top,
                MINUTES_WIDTH - 2.0 * PAD,
                Align::Center,
            );
            let signature_top = centred(signature.height());
            signature.draw(
                &mut self.page,
                columns.signature + PAD,
                signature_top,
                columns.signature_width - 2.0 * PAD,
            );
        }
        self.frame_row(top, height, true);
        self.y = top + height;
    }

    fn signature_cell(
        &self,
        attendance: &crate::model::Attendance,
        prepared: Option<Prepared>,
        width: f32,
        part: &Part,
    ) -> SignatureCell {
        let (fonts, locale) = (self.fonts, self.locale);
        let inner = width - 2.0 * PAD;
        let Some(signature) = &attendance.signature else {
            let key = if attendance.present_minutes == 0 {
                "documents.sheet.absent"
            } else {
                "documents.sheet.not_signed"
            };
            return SignatureCell::Text(fonts.fit(locale.t(key), Weight::Regular, 7.5, MIN_SIZE, inner, 2));
        };
        let at = self.signed_at(signature.signed_at, part);
        match (&signature.kind, prepared) {
            (SignatureKind::Drawn(_), prepared) => {
                let caption = locale.tf("documents.sheet.signed_drawn", &[("time", &at)]);
                SignatureCell::Drawn {
                    prepared,
                    caption: fonts.fit(&caption, Weight::Regular, CAPTION_SIZE, 5.0, inner, 2),
                }
            }
            (SignatureKind::Typed(name), _) => {
                let caption = locale.tf("documents.sheet.signed_typed", &[("time", &at)]);
                SignatureCell::Typed {
                    name: fonts.fit(name, Weight::Regular, 8.0, MIN_SIZE, inner, 2),
                    caption: fonts.fit(&caption, Weight::Regular, CAPTION_SIZE, 5.0, inner, 2),
                }
            }
        }
    }

    /// `09:04` on the half-day's date, else the date and time.
    fn signed_at(&self, at: jiff::Timestamp, part: &Part) -> String {
        let day = |t: jiff::Timestamp| t.to_zoned(self.zone.clone()).date();
        if day(at) == day(part.start) {
            format::time(at, &self.zone)
        } else {
            format!(
                "{} {}",
                format::short_date(day(at), self.locale),
                format::time(at, &self.zone)
            )
        }
    }

    /// The learners' planned and present minutes, per half-day.
    fn totals(&mut self, pages: &mut Vec<Page>) {
        let (fonts, locale) = (self.fonts, self.locale);
        let height = MIN_ROW * 0.6;
        self.ensure(pages, height);
        let top = self.y;
        self.page.fill(MARGIN, top, WIDTH, height, SECTION_GRAY);
        self.page.rule(MARGIN, top, MARGIN + WIDTH, top, 0.8);
        let label = fonts.fit(
            locale.t("documents.sheet.total"),
            Weight::Bold,
            8.0,
            MIN_SIZE,
            self.columns.name_width - 2.0 * PAD,
            2,
        );
        let label_top = top + (height - label.height()) / 2.0;
        self.page.block(
            label,
            MARGIN + PAD,
            label_top,
            self.columns.name_width - 2.0 * PAD,
            Align::Left,
        );
        for (i, columns) in self.columns.parts.iter().enumerate() {
            let sum = |f: fn(&crate::model::Attendance) -> u32| -> u64 {
                self.session
                    .learners
                    .iter()
                    .filter_map(|l| l.attendance.get(i))
                    .map(|a| u64::from(f(a)))
                    .sum()
            };
            for (x, value) in [
                (columns.planned, sum(|a| a.planned_minutes)),
                (columns.present, sum(|a| a.present_minutes)),
            ] {
                let block = fonts.fit(
                    &value.to_string(),
                    Weight::Bold,
                    CELL_SIZE,
                    5.0,
                    MINUTES_WIDTH - 2.0 * PAD,
                    1,
                );
                let value_top = top + (height - block.height()) / 2.0;
                self.page
                    .block(block, x + PAD, value_top, MINUTES_WIDTH - 2.0 * PAD, Align::Center);
            }
        }
        self.frame_row(top, height, true);
        self.y = top + height;
    }

    /// The row's vertical lines (all of them, or only the outer ones) and its bottom line.
    fn frame_row(&mut self, top: f32, height: f32, cells: bool) {
        let edges = self.columns.edges();
        let last = edges.len() - 1;
        for (i, x) in edges.into_iter().enumerate() {
            if cells || i == 0 || i == last {
                let width = if i == 0 || i == last { 0.8 } else { 0.4 };
                self.page.rule(x, top, x, top + height, width);
            }
        }
        self.page.rule(MARGIN, top + height, MARGIN + WIDTH, top + height, 0.4);
    }

    /// The seal of the session's evidence chain and how to check it, kept together.
    fn seal(&mut self, pages: &mut Vec<Page>) {
        let (fonts, locale) = (self.fonts, self.locale);
        let seal = &self.session.seal;
        let inner = WIDTH - 2.0 * 6.0;
        let title = fonts.fit(
            locale.t("documents.sheet.seal.title"),
            Weight::Bold,
            8.5,
            MIN_SIZE,
            inner,
            2,
        );
        let digest = fonts.fit(
            &locale.tf(
                "documents.sheet.seal.digest",
                &[("digest", &seal.digest), ("records", &seal.records)],
            ),
            Weight::Regular,
            8.0,
            5.0,
            inner,
            3,
        );
        let verify = fonts.fit(
            locale.t("documents.sheet.seal.verify"),
            Weight::Regular,
            8.0,
            5.0,
            inner,
            4,
        );
        // The command on a line of its own, so that it can be copied in one piece.
        let command = fonts.fit(
            &format!("dialogue attendance verify {}", self.session.id),
            Weight::Bold,
            8.0,
            5.0,
            inner,
            3,
        );
        let height = title.height() + digest.height() + verify.height() + command.height() + 2.0 * 6.0 + 4.0;
        self.ensure(pages, height);
        let top = self.y;
        self.page.frame(MARGIN, top, WIDTH, height, 0.8);
        let mut y = top + 6.0;
        y += self.page.block(title, MARGIN + 6.0, y, inner, Align::Left) + 2.0;
        y += self.page.block(digest, MARGIN + 6.0, y, inner, Align::Left) + 2.0;
        y += self.page.block(verify, MARGIN + 6.0, y, inner, Align::Left);
        self.page.block(command, MARGIN + 6.0, y, inner, Align::Left);
        self.y = top + height;
    }
}

/// What a signature cell shows.
enum SignatureCell {
    /// The image (prepared before layout, so always there; the caption alone would do).
    Drawn {
        prepared: Option<Prepared>,
        caption: crate::text::Block,
    },
    Typed {
        name: crate::text::Block,
        caption: crate::text::Block,
    },
    Text(crate::text::Block),
}

impl SignatureCell {
    fn height(&self) -> f32 {
        match self {
            SignatureCell::Drawn { caption, .. } => SIGNATURE_HEIGHT + 1.0 + caption.height(),
            SignatureCell::Typed { name, caption } => name.height() + 1.0 + caption.height(),
            SignatureCell::Text(block) => block.height(),
        }
    }

    fn draw(self, page: &mut Page, x: f32, top: f32, width: f32) {
        match self {
            SignatureCell::Drawn { prepared, caption } => {
                if let Some(prepared) = prepared {
                    page.image(prepared.image, prepared.pixels, x, top, width, SIGNATURE_HEIGHT);
                }
                page.block(caption, x, top + SIGNATURE_HEIGHT + 1.0, width, Align::Center);
            }
            SignatureCell::Typed { name, caption } => {
                let used = page.block(name, x, top, width, Align::Center);
                page.block(caption, x, top + used + 1.0, width, Align::Center);
            }
            SignatureCell::Text(block) => {
                page.block(block, x, top, width, Align::Center);
            }
        }
    }
}

/// A session has a morning, an afternoon or both, in that order, and every person one entry
/// per half-day.
fn check_parts(session: &SheetSession) -> Result<(), DocumentError> {
    let halves: Vec<_> = session.parts.iter().map(|p| p.half_day).collect();
    let distinct: HashSet<_> = halves.iter().collect();
    let ordered = halves.windows(2).all(|w| w[0] < w[1]);
    if halves.is_empty() || distinct.len() != halves.len() || !ordered {
        return Err(DocumentError::InvalidParts {
            session: session.id.clone(),
        });
    }
    for person in session.trainers.iter().chain(&session.learners) {
        if person.attendance.len() != session.parts.len() {
            return Err(DocumentError::AttendanceMismatch {
                session: session.id.clone(),
                person: person.name.clone(),
                found: person.attendance.len(),
                expected: session.parts.len(),
            });
        }
    }
    Ok(())
}

/// Every drawn signature of the sheet, decoded and prepared for print (all at once, so that
/// it can be done in parallel): per session, the trainers' and the learners', per person and
/// half-day.
fn prepare_signatures(input: &SheetInput) -> Result<Vec<SessionSignatures>, DocumentError> {
    let mut drawn: Vec<&[u8]> = Vec::new();
    for session in &input.sessions {
        for person in session.trainers.iter().chain(&session.learners) {
            for attendance in &person.attendance {
                if let Some(SignatureKind::Drawn(png)) = attendance.signature.as_ref().map(|s| &s.kind) {
                    drawn.push(png);
                }
            }
        }
    }
    let mut prepared = signature::prepare_all(&drawn, signature::SHEET_PIXELS).into_iter();
    let mut out = Vec::with_capacity(input.sessions.len());
    for session in &input.sessions {
        let mut one = |person: &Attendee| -> Result<Signatures, DocumentError> {
            person
                .attendance
                .iter()
                .map(|attendance| match attendance.signature.as_ref().map(|s| &s.kind) {
                    Some(SignatureKind::Drawn(_)) => match prepared.next() {
                        Some(Ok(signature)) => Ok(Some(signature)),
                        Some(Err(problem)) => Err(DocumentError::Signature {
                            who: format!("{} ({})", person.name, session.id),
                            problem,
                        }),
                        None => Ok(None),
                    },
                    _ => Ok(None),
                })
                .collect()
        };
        let trainers = session.trainers.iter().map(&mut one).collect::<Result<Vec<_>, _>>()?;
        let learners = session.learners.iter().map(&mut one).collect::<Result<Vec<_>, _>>()?;
        out.push(SessionSignatures { trainers, learners });
    }
    Ok(out)
}
