//! The embedded fonts, text shaping and line breaking.
//!
//! Text is shaped here (rustybuzz, after splitting it into bidi runs with unicode-bidi) rather
//! than by krilla, so that what is measured for line breaking is exactly what is drawn: a line
//! never ends up wider than the width it was broken for.

use std::path::{Path, PathBuf};
use std::sync::{LazyLock, OnceLock};

use krilla::text::{Font, GlyphId, KrillaGlyph};
use rustybuzz::{Direction, UnicodeBuffer};
use unicode_bidi::ParagraphBidiInfo;

use crate::DocumentError;

static REGULAR_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// Regular for names and values, bold for headings and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Weight {
    Regular,
    Bold,
}

struct Typeface {
    shaper: rustybuzz::Face<'static>,
    pdf: Font,
    units_per_em: f32,
}

pub(crate) struct Fonts {
    regular: Typeface,
    bold: Typeface,
}

impl Typeface {
    fn load(data: &'static [u8]) -> Option<Typeface> {
        let shaper = rustybuzz::Face::from_slice(data, 0)?;
        let units_per_em = shaper.units_per_em() as f32;
        let pdf = Font::new(data.into(), 0)?;
        Some(Typeface {
            shaper,
            pdf,
            units_per_em,
        })
    }
}

/// Font files tried, in this order, for characters DejaVu Sans has no glyph for (CJK, Indic,
/// Thai and other scripts), when they exist: Debian's and Ubuntu's packages `fonts-noto-core`,
/// `fonts-lohit-*`, `fonts-noto-cjk`, `fonts-wqy-microhei` and `fonts-droid-fallback`. The
/// small single-script fonts come first, the large CJK ones last: a file is read only when a
/// character needs it and every file before it lacked that character. Those of
/// [`set_extra_fonts`] come before these.
const SYSTEM_FALLBACKS: &[&str] = &[
    "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf",
    "/usr/share/fonts/truetype/lohit-devanagari/Lohit-Devanagari.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansBengali-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansGurmukhi-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansGujarati-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansTamil-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansTelugu-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansKannada-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansMalayalam-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansSinhala-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansLao-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansKhmer-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansMyanmar-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansEthiopic-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansTifinagh-Regular.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
];

static EXTRA_FONTS: OnceLock<Vec<PathBuf>> = OnceLock::new();

/// Font files to try before [`SYSTEM_FALLBACKS`] for characters the embedded fonts lack
/// (the `organisation.fonts` setting). Set once per process, before the first document: a later
/// call changes nothing and returns false.
pub fn set_extra_fonts(paths: Vec<PathBuf>) -> bool {
    EXTRA_FONTS.set(paths).is_ok()
}

/// Whether `path` is a font file the documents can draw with (TrueType or OpenType, the first
/// face of a collection); the problem in words otherwise.
pub fn check_font_file(path: &Path) -> Result<(), String> {
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    match rustybuzz::Face::from_slice(&data, 0) {
        Some(_) => Ok(()),
        None => Err("not a TrueType or OpenType font".to_owned()),
    }
}

/// The fallback font files that exist, in the order they are tried.
pub fn fallback_font_files() -> Vec<PathBuf> {
    fallbacks().iter().map(|f| f.path.clone()).collect()
}

/// A fallback font file, read and parsed the first time a character needs it.
struct Fallback {
    path: PathBuf,
    face: OnceLock<Option<Typeface>>,
}

impl Fallback {
    fn face(&self) -> Option<&Typeface> {
        self.face.get_or_init(|| load_file(&self.path)).as_ref()
    }
}

/// Reads a font file (the first face of a collection). Its bytes live as long as the process:
/// each file is read at most once ([`Fallback::face`]), and the PDFs embed subsets of it.
fn load_file(path: &Path) -> Option<Typeface> {
    let data = std::fs::read(path).ok()?;
    Typeface::load(Box::leak(data.into_boxed_slice()))
}

static FALLBACKS: LazyLock<Vec<Fallback>> = LazyLock::new(|| {
    let extra = EXTRA_FONTS.get().map(Vec::as_slice).unwrap_or_default();
    let mut paths: Vec<PathBuf> = extra.to_vec();
    paths.extend(SYSTEM_FALLBACKS.iter().map(PathBuf::from));
    let mut seen = Vec::new();
    paths
        .into_iter()
        .filter(|p| {
            p.is_file() && !seen.contains(p) && {
                seen.push(p.clone());
                true
            }
        })
        .map(|path| Fallback {
            path,
            face: OnceLock::new(),
        })
        .collect()
});

fn fallbacks() -> &'static [Fallback] {
    &FALLBACKS
}

/// Which font draws a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Face {
    Embedded(Weight),
    /// An index into the fallback fonts.
    Fallback(usize),
}

static FONTS: LazyLock<Option<Fonts>> = LazyLock::new(|| {
    Some(Fonts {
        regular: Typeface::load(REGULAR_TTF)?,
        bold: Typeface::load(BOLD_TTF)?,
    })
});

/// The embedded fonts, parsed once per process.
pub(crate) fn fonts() -> Result<&'static Fonts, DocumentError> {
    FONTS
        .as_ref()
        .ok_or_else(|| DocumentError::Pdf("the embedded DejaVu fonts could not be read".to_owned()))
}

impl Fonts {
    fn face(&self, weight: Weight) -> &Typeface {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }

    fn typeface(&self, face: Face) -> &Typeface {
        match face {
            Face::Embedded(weight) => self.face(weight),
            Face::Fallback(i) => fallbacks().get(i).and_then(Fallback::face).unwrap_or(&self.regular),
        }
    }

    /// The font krilla embeds (and subsets) for a run.
    pub(crate) fn pdf_font(&self, face: Face) -> Font {
        self.typeface(face).pdf.clone()
    }

    /// Shapes one line of text (no line breaks inside) into runs in visual order.
    pub(crate) fn shape(&self, text: &str, weight: Weight) -> Line {
        let mut line = Line::default();
        if text.is_empty() {
            return line;
        }
        let bidi = ParagraphBidiInfo::new(text, None);
        if !bidi.has_rtl() {
            for run in self.shape_run(text, weight, Direction::LeftToRight) {
                line.push(run);
            }
            return line;
        }
        let (levels, runs) = bidi.visual_runs(0..text.len());
        for range in runs {
            let direction = if levels[range.start].is_rtl() {
                Direction::RightToLeft
            } else {
                Direction::LeftToRight
            };
            for run in self.shape_run(&text[range], weight, direction) {
                line.push(run);
            }
        }
        line
    }

    /// One run of a single direction, in visual order: in the face of `weight` when it draws
    /// every character (the common case: one shaping), else cut where the font changes. A
    /// character the bold face lacks is drawn in the regular face, which covers more scripts;
    /// one the embedded fonts lack in the first fallback font that has it. Spaces, joiners and
    /// combining marks stay in the font of the character before them.
    fn shape_run(&self, text: &str, weight: Weight, direction: Direction) -> Vec<Run> {
        let run = shape_with(self.face(weight), text, Face::Embedded(weight), direction);
        if !run.glyphs.iter().any(|g| g.glyph_id.to_u32() == 0) {
            return vec![run];
        }
        let mut pieces: Vec<(Face, usize, usize)> = Vec::new();
        for (i, c) in text.char_indices() {
            let end = i + c.len_utf8();
            let follows = c.is_whitespace() || is_combining(c) || matches!(c, '\u{200C}' | '\u{200D}');
            if let Some(last) = pieces.last_mut()
                && (follows || self.face_for(c, weight) == last.0)
            {
                last.2 = end;
                continue;
            }
            pieces.push((self.face_for(c, weight), i, end));
        }
        let mut runs: Vec<Run> = pieces
            .into_iter()
            .map(|(face, start, end)| shape_with(self.typeface(face), &text[start..end], face, direction))
            .collect();
        if direction == Direction::RightToLeft {
            runs.reverse();
        }
        runs
    }

    /// The font that draws `c` in `weight`: the embedded face of that weight, the regular
    /// one, the first fallback font that has it, or (none has it) the embedded face, which
    /// prints an empty box.
    fn face_for(&self, c: char, weight: Weight) -> Face {
        if self.face(weight).shaper.glyph_index(c).is_some() {
            return Face::Embedded(weight);
        }
        if self.regular.shaper.glyph_index(c).is_some() {
            return Face::Embedded(Weight::Regular);
        }
        fallbacks()
            .iter()
            .position(|f| f.face().is_some_and(|t| t.shaper.glyph_index(c).is_some()))
            .map_or(Face::Embedded(weight), Face::Fallback)
    }

    /// The characters of `text` that no font draws (they print as empty boxes): neither the
    /// embedded DejaVu Sans nor a fallback font installed on this system.
    pub(crate) fn missing_glyphs(&self, text: &str) -> Vec<char> {
        let mut missing: Vec<char> = Vec::new();
        for c in text.chars() {
            if !c.is_whitespace()
                && !c.is_control()
                && !missing.contains(&c)
                && self.regular.shaper.glyph_index(c).is_none()
                && !fallbacks()
                    .iter()
                    .any(|f| f.face().is_some_and(|t| t.shaper.glyph_index(c).is_some()))
            {
                missing.push(c);
            }
        }
        missing
    }
}

fn shape_with(face: &Typeface, text: &str, drawn_in: Face, direction: Direction) -> Run {
    let mut buffer = UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.guess_segment_properties();
    buffer.set_direction(direction);
    let output = rustybuzz::shape(&face.shaper, &[], buffer);
    let infos = output.glyph_infos();
    let positions = output.glyph_positions();

    // A glyph covers the text from its cluster's start to the next cluster's start (in logical
    // order), whatever the visual order of the glyphs: that is what the PDF's text layer maps
    // back to, so copying text out of the PDF gives the original characters.
    let mut starts: Vec<usize> = infos.iter().map(|info| info.cluster as usize).collect();
    starts.sort_unstable();
    starts.dedup();
    let scale = face.units_per_em;
    let mut width = 0.0;
    let glyphs = infos
        .iter()
        .zip(positions)
        .map(|(info, position)| {
            let start = info.cluster as usize;
            let end = match starts.binary_search(&start) {
                Ok(i) => starts.get(i + 1).copied().unwrap_or(text.len()),
                Err(_) => text.len(),
            };
            let advance = position.x_advance as f32 / scale;
            width += advance;
            KrillaGlyph::new(
                GlyphId::new(info.glyph_id),
                advance,
                position.x_offset as f32 / scale,
                position.y_offset as f32 / scale,
                position.y_advance as f32 / scale,
                start..end,
                None,
            )
        })
        .collect();
    Run {
        text: text.to_owned(),
        glyphs,
        face: drawn_in,
        width,
    }
}

/// Shaped text of one direction, in one face. Widths are in ems (multiply by the size).
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) text: String,
    pub(crate) glyphs: Vec<KrillaGlyph>,
    pub(crate) face: Face,
    pub(crate) width: f32,
}

/// One line of shaped text: runs in visual order (left to right on the page).
#[derive(Debug, Clone, Default)]
pub(crate) struct Line {
    pub(crate) runs: Vec<Run>,
    /// Sum of the runs' widths, in ems.
    pub(crate) width: f32,
}

impl Line {
    fn push(&mut self, run: Run) {
        self.width += run.width;
        self.runs.push(run);
    }

    /// The width at a font size, in points.
    pub(crate) fn width_at(&self, size: f32) -> f32 {
        self.width * size
    }
}

/// Text broken into lines that fit a width, at the size that made it fit.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub(crate) lines: Vec<Line>,
    pub(crate) size: f32,
}

/// Line height as a multiple of the font size.
pub(crate) const LEADING: f32 = 1.22;

impl Block {
    pub(crate) fn height(&self) -> f32 {
        self.lines.len() as f32 * self.size * LEADING
    }
}

impl Fonts {
    /// Breaks `text` into lines no wider than `width` points at `size`. Breaks at spaces and
    /// after hyphens; a word wider than the whole width is broken between characters.
    pub(crate) fn wrap(&self, text: &str, weight: Weight, size: f32, width: f32) -> Vec<Line> {
        let max = width / size;
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let paragraph: String = paragraph
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let paragraph = paragraph.trim();
            if paragraph.is_empty() {
                lines.push(Line::default());
                continue;
            }
            // Most text fits on one line: one shaping, kept as the line.
            let whole = self.shape(paragraph, weight);
            if whole.width <= max {
                lines.push(whole);
                continue;
            }
            // Segments start with a non-space (see `segments`), so `current` never does and
            // `shaped` (the shaping of `current` without its trailing spaces) is the line.
            let mut current = String::new();
            let mut shaped: Option<Line> = None;
            for segment in segments(paragraph) {
                let candidate = format!("{current}{segment}");
                let line = self.shape(candidate.trim_end(), weight);
                if line.width <= max {
                    current = candidate;
                    shaped = Some(line);
                    continue;
                }
                lines.extend(shaped.take());
                current.clear();
                let alone = self.shape(segment.trim_end(), weight);
                if alone.width <= max {
                    current.push_str(segment);
                    shaped = Some(alone);
                    continue;
                }
                // The segment alone is too wide: break it between characters.
                for c in segment.chars() {
                    let mut longer = current.clone();
                    longer.push(c);
                    if current.is_empty() || is_combining(c) {
                        current = longer;
                        shaped = None;
                        continue;
                    }
                    let line = self.shape(longer.trim_end(), weight);
                    if line.width > max {
                        lines.push(shaped.take().unwrap_or_else(|| self.shape(current.trim_end(), weight)));
                        current = c.to_string();
                    } else {
                        current = longer;
                        shaped = Some(line);
                    }
                }
            }
            if !current.trim().is_empty() {
                lines.push(shaped.unwrap_or_else(|| self.shape(current.trim_end(), weight)));
            }
        }
        lines
    }

    /// Fits `text` into at most `max_lines` lines of `width` points: at `size` if it can, else
    /// at a smaller size down to `min_size`; what still does not fit is cut with an ellipsis.
    /// Never returns a line wider than `width`.
    pub(crate) fn fit(
        &self,
        text: &str,
        weight: Weight,
        size: f32,
        min_size: f32,
        width: f32,
        max_lines: usize,
    ) -> Block {
        let max_lines = max_lines.max(1);
        let mut current = size;
        loop {
            let lines = self.wrap(text, weight, current, width);
            if lines.len() <= max_lines {
                return Block { lines, size: current };
            }
            if current - 0.5 < min_size {
                break;
            }
            current -= 0.5;
        }
        let mut lines = self.wrap(text, weight, min_size, width);
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            *last = self.ellipsize(last, weight, min_size, width);
        }
        Block { lines, size: min_size }
    }

    /// `line` with characters dropped from its end until it and an ellipsis fit `width`.
    fn ellipsize(&self, line: &Line, weight: Weight, size: f32, width: f32) -> Line {
        let text: String = line.runs.iter().map(|run| run.text.as_str()).collect();
        let mut chars: Vec<char> = text.chars().collect();
        loop {
            let candidate: String = chars.iter().collect::<String>().trim_end().to_owned() + "…";
            let shaped = self.shape(&candidate, weight);
            if shaped.width_at(size) <= width || chars.is_empty() {
                return shaped;
            }
            chars.pop();
        }
    }
}

/// Splits text after each space and after hyphens that join two words, keeping every
/// character: concatenating the segments gives the text back.
fn segments(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut previous: Option<char> = None;
    for (i, c) in text.char_indices() {
        if let Some(p) = previous {
            let after_space = p == ' ' && c != ' ';
            let after_hyphen = (p == '-' || p == '/') && c.is_alphanumeric();
            if (after_space || after_hyphen) && i > start {
                out.push(&text[start..i]);
                start = i;
            }
        }
        previous = Some(c);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Combining marks must stay with the character before them (Latin, Greek and Cyrillic
/// diacritics, Hebrew points, Arabic harakat).
fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05C7 | 0x064B..=0x065F | 0x0670 | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(line: &Line) -> String {
        line.runs.iter().map(|run| run.text.as_str()).collect()
    }

    #[test]
    fn the_embedded_fonts_cover_latin_greek_cyrillic_hebrew_and_arabic() {
        let fonts = fonts().unwrap();
        for sample in [
            "Zoé Ærøskøbing Łódź",
            "Ελένη Παπαδοπούλου",
            "Анна Кузнецова",
            "שרה לוי",
            "محمد علي",
        ] {
            assert_eq!(fonts.missing_glyphs(sample), Vec::<char>::new(), "{sample}");
        }
        // Characters of a private-use plane: no font has them.
        assert_eq!(
            fonts.missing_glyphs("\u{10FFFD}a \u{10FFFC}\u{10FFFD}"),
            vec!['\u{10FFFD}', '\u{10FFFC}']
        );
    }

    #[test]
    fn wrapped_lines_fit_and_keep_every_word() {
        let fonts = fonts().unwrap();
        let name = "Marie-Bérénice de La Tour d’Auvergne-Lauraguais Wolfeschlegelsteinhausenbergerdorff";
        let lines = fonts.wrap(name, Weight::Regular, 9.0, 90.0);
        assert!(lines.len() >= 3, "{lines:?}");
        for line in &lines {
            assert!(
                line.width_at(9.0) <= 90.0 + 1e-3,
                "{} is {} wide",
                text_of(line),
                line.width_at(9.0)
            );
        }
        let joined: String = lines.iter().map(text_of).collect::<Vec<_>>().join(" ");
        assert_eq!(joined.replace("- ", "-").replace(' ', ""), name.replace(' ', ""));
    }

    #[test]
    fn fitting_shrinks_then_cuts_with_an_ellipsis() {
        let fonts = fonts().unwrap();
        let block = fonts.fit("Jean Dupont Durand", Weight::Regular, 9.0, 6.0, 60.0, 2);
        assert!(block.lines.len() <= 2);
        let long = "très long nom ".repeat(30);
        let block = fonts.fit(&long, Weight::Regular, 9.0, 6.0, 60.0, 2);
        assert_eq!(block.size, 6.0);
        assert_eq!(block.lines.len(), 2);
        assert!(text_of(&block.lines[1]).ends_with('…'));
        assert!(block.lines.iter().all(|l| l.width_at(6.0) <= 60.0 + 1e-3));
    }

    #[test]
    fn right_to_left_runs_are_laid_out_in_visual_order() {
        let fonts = fonts().unwrap();
        let line = fonts.shape("Ali محمد 12", Weight::Regular);
        let texts: Vec<_> = line.runs.iter().map(|r| r.text.trim().to_owned()).collect();
        assert_eq!(texts.first().map(String::as_str), Some("Ali"));
        assert!(texts.iter().any(|t| t == "محمد"), "{texts:?}");
        // Arabic letters join: the shaped run uses contextual forms, not the isolated ones.
        let arabic = line.runs.iter().find(|r| r.text.contains('م')).unwrap();
        let isolated: Vec<u32> = "محمد"
            .chars()
            .filter_map(|c| fonts.regular.shaper.glyph_index(c).map(|g| u32::from(g.0)))
            .collect();
        let shaped: Vec<u32> = arabic.glyphs.iter().map(|g| g.glyph_id.to_u32()).collect();
        assert!(isolated.iter().any(|g| !shaped.contains(g)), "{isolated:?} {shaped:?}");
    }

    #[test]
    fn segments_keep_every_character() {
        assert_eq!(
            segments("Anne-Sophie  de Villiers"),
            vec!["Anne-", "Sophie  ", "de ", "Villiers"]
        );
        assert_eq!(segments("a - b"), vec!["a ", "- ", "b"]);
    }
}
