//! Pages as lists of drawing items, laid out first and written to PDF (krilla) at the end, when
//! the number of pages is known (for "page 2/5").

use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, Stroke};
use krilla::surface::Surface;
use krilla::{Document, SerializeSettings};

use crate::DocumentError;
use crate::text::{Block, Fonts, LEADING, Line, Weight};

/// A4 portrait, in points.
pub(crate) const PAGE_WIDTH: f32 = 595.28;
pub(crate) const PAGE_HEIGHT: f32 = 841.89;
pub(crate) const MARGIN: f32 = 36.0;
/// Where page content must stop: room is kept below for the footer.
pub(crate) const CONTENT_BOTTOM: f32 = PAGE_HEIGHT - MARGIN - 16.0;

/// DejaVu Sans's ascent and descent (hhea: 1901 and 483 units of 2048), in ems.
const ASCENT: f32 = 0.928;
const DESCENT: f32 = 0.236;

/// Horizontal placement of a line in a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Center,
    Right,
}

pub(crate) enum Item {
    Text {
        x: f32,
        baseline: f32,
        size: f32,
        line: Line,
    },
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        gray: u8,
    },
    Frame {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        width: f32,
    },
    Rule {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
    },
    Image {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        image: Image,
    },
}

/// One page's items, in drawing order.
#[derive(Default)]
pub(crate) struct Page {
    pub(crate) items: Vec<Item>,
}

impl Page {
    /// One shaped line with its top at `top`, aligned in `[x, x + width]`.
    pub(crate) fn line(&mut self, line: Line, size: f32, x: f32, top: f32, width: f32, align: Align) {
        let w = line.width_at(size);
        let left = match align {
            Align::Left => x,
            Align::Center => x + (width - w) / 2.0,
            Align::Right => x + width - w,
        };
        // DejaVu Sans rises 0.93 em above its baseline and falls 0.24 em below: centred in the
        // line's height, the baseline is 0.95 em down and accents and descenders stay inside.
        let baseline = top + size * ((LEADING - (ASCENT + DESCENT)) / 2.0 + ASCENT);
        self.items.push(Item::Text {
            x: left,
            baseline,
            size,
            line,
        });
    }

    /// A block of lines from `top` down; returns the height used.
    pub(crate) fn block(&mut self, block: Block, x: f32, top: f32, width: f32, align: Align) -> f32 {
        let height = block.height();
        let size = block.size;
        for (i, line) in block.lines.into_iter().enumerate() {
            self.line(line, size, x, top + i as f32 * size * LEADING, width, align);
        }
        height
    }

    pub(crate) fn fill(&mut self, x: f32, y: f32, w: f32, h: f32, gray: u8) {
        self.items.push(Item::Fill { x, y, w, h, gray });
    }

    pub(crate) fn frame(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32) {
        self.items.push(Item::Frame { x, y, w, h, width });
    }

    pub(crate) fn rule(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32) {
        self.items.push(Item::Rule { x1, y1, x2, y2, width });
    }

    /// An image scaled to fit `[x, y, w, h]` without distortion, centred in it.
    pub(crate) fn image(&mut self, image: Image, pixels: (u32, u32), x: f32, y: f32, w: f32, h: f32) {
        let (pw, ph) = (pixels.0.max(1) as f32, pixels.1.max(1) as f32);
        let scale = (w / pw).min(h / ph);
        let (iw, ih) = (pw * scale, ph * scale);
        self.items.push(Item::Image {
            x: x + (w - iw) / 2.0,
            y: y + (h - ih) / 2.0,
            w: iw,
            h: ih,
            image,
        });
    }
}

/// `left` and `page n/total` under the content, on every page.
pub(crate) fn footer(fonts: &Fonts, page: &mut Page, left: &str, locale: i18n::Locale, n: usize, total: usize) {
    let width = PAGE_WIDTH - 2.0 * MARGIN;
    let top = CONTENT_BOTTOM + 6.0;
    page.rule(MARGIN, top - 2.0, PAGE_WIDTH - MARGIN, top - 2.0, 0.4);
    let number = locale.tf("documents.page", &[("n", &n), ("total", &total)]);
    let number = fonts.shape(&number, Weight::Regular);
    let number_width = number.width_at(7.0);
    page.line(number, 7.0, MARGIN, top, width, Align::Right);
    let block = fonts.fit(left, Weight::Regular, 7.0, 5.5, width - number_width - 12.0, 1);
    page.block(block, MARGIN, top, width - number_width - 12.0, Align::Left);
}

/// Document-level information written into the PDF.
pub(crate) struct Info {
    pub(crate) title: String,
    pub(crate) language: &'static str,
}

/// Writes the pages as one PDF.
pub(crate) fn render(fonts: &Fonts, pages: Vec<Page>, info: Info) -> Result<Vec<u8>, DocumentError> {
    let mut document = Document::new_with(SerializeSettings::default());
    document.set_metadata(
        Metadata::new()
            .title(info.title)
            .language(info.language.to_owned())
            .creator("Dialogue".to_owned()),
    );
    let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
        .ok_or_else(|| DocumentError::Pdf("invalid page size".to_owned()))?;
    for page in pages {
        let mut pdf_page = document.start_page_with(settings.clone());
        let mut surface = pdf_page.surface();
        for item in page.items {
            draw(fonts, &mut surface, item);
        }
        surface.finish();
        pdf_page.finish();
    }
    document
        .finish()
        .map_err(|error| DocumentError::Pdf(format!("{error:?}")))
}

fn black_fill() -> Fill {
    Fill {
        paint: luma::Color::black().into(),
        opacity: NormalizedF32::ONE,
        rule: FillRule::NonZero,
    }
}

fn draw(fonts: &Fonts, surface: &mut Surface<'_>, item: Item) {
    match item {
        Item::Text {
            x,
            baseline,
            size,
            line,
        } => {
            surface.set_stroke(None);
            surface.set_fill(Some(black_fill()));
            let mut cursor = x;
            for run in &line.runs {
                surface.draw_glyphs(
                    Point::from_xy(cursor, baseline),
                    &run.glyphs,
                    fonts.pdf_font(run.face),
                    &run.text,
                    size,
                    false,
                );
                cursor += run.width * size;
            }
        }
        Item::Fill { x, y, w, h, gray } => {
            if let Some(path) = Rect::from_xywh(x, y, w, h).and_then(|rect| {
                let mut builder = PathBuilder::new();
                builder.push_rect(rect);
                builder.finish()
            }) {
                surface.set_stroke(None);
                surface.set_fill(Some(Fill {
                    paint: luma::Color::new(gray).into(),
                    ..black_fill()
                }));
                surface.draw_path(&path);
            }
        }
        Item::Frame { x, y, w, h, width } => {
            if let Some(path) = Rect::from_xywh(x, y, w, h).and_then(|rect| {
                let mut builder = PathBuilder::new();
                builder.push_rect(rect);
                builder.finish()
            }) {
                stroke(surface, &path, width);
            }
        }
        Item::Rule { x1, y1, x2, y2, width } => {
            let mut builder = PathBuilder::new();
            builder.move_to(x1, y1);
            builder.line_to(x2, y2);
            if let Some(path) = builder.finish() {
                stroke(surface, &path, width);
            }
        }
        Item::Image { x, y, w, h, image } => {
            if let Some(size) = Size::from_wh(w, h) {
                surface.push_transform(&Transform::from_translate(x, y));
                surface.draw_image(image, size);
                surface.pop();
            }
        }
    }
}

fn stroke(surface: &mut Surface<'_>, path: &krilla::geom::Path, width: f32) {
    surface.set_fill(None);
    surface.set_stroke(Some(Stroke {
        width,
        ..Stroke::default()
    }));
    surface.draw_path(path);
    surface.set_stroke(None);
}
