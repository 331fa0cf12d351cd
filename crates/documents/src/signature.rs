//! Drawn signatures: PNG images from a browser canvas, checked and prepared for print.

use std::fmt;
use std::io::Cursor;
use std::sync::Arc;

use i18n::Locale;
use krilla::image::{BitsPerComponent, CustomImage, Image, ImageColorspace};
use png::{ColorType, Transformations};

/// Largest accepted PNG file, in bytes.
pub const MAX_SIGNATURE_BYTES: usize = 200 * 1024;
/// Largest accepted image, in pixels.
pub const MAX_SIGNATURE_WIDTH: u32 = 2000;
pub const MAX_SIGNATURE_HEIGHT: u32 = 1000;

/// The most pixels a signature is printed with, as (width, height). In an attendance sheet's
/// cell a signature prints about 2 cm wide: 150 pixels give some 190 dpi, and a 40-page course
/// sheet full of drawn signatures stays quick to make and small. A certificate prints it about
/// 6 cm wide.
pub(crate) const SHEET_PIXELS: (u32, u32) = (180, 60);
pub(crate) const CERTIFICATE_PIXELS: (u32, u32) = (480, 160);
/// What `check_signature` shrinks to (it only checks, the size does not matter).
const CHECK_PIXELS: (u32, u32) = (150, 50);
/// A pixel at least this dark (0 black, 255 white, after flattening on white) counts as ink.
const INK: u8 = 160;

/// Why a drawn signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureProblem {
    /// The file is larger than [`MAX_SIGNATURE_BYTES`].
    TooLarge { bytes: usize },
    /// Not a PNG file, or a damaged one.
    Unreadable { reason: String },
    /// Wider or taller than [`MAX_SIGNATURE_WIDTH`] × [`MAX_SIGNATURE_HEIGHT`].
    TooManyPixels { width: u32, height: u32 },
    /// Nothing is drawn on it.
    Blank,
}

impl SignatureProblem {
    /// What to tell the person who sent the image, in their language.
    pub fn message(&self, locale: Locale) -> String {
        match self {
            SignatureProblem::TooLarge { bytes } => locale.tf(
                "documents.signature.too_large",
                &[("size", &bytes.div_ceil(1024)), ("max", &(MAX_SIGNATURE_BYTES / 1024))],
            ),
            SignatureProblem::Unreadable { .. } => locale.t("documents.signature.unreadable").to_owned(),
            SignatureProblem::TooManyPixels { width, height } => locale.tf(
                "documents.signature.too_many_pixels",
                &[
                    ("width", width),
                    ("height", height),
                    ("max_width", &MAX_SIGNATURE_WIDTH),
                    ("max_height", &MAX_SIGNATURE_HEIGHT),
                ],
            ),
            SignatureProblem::Blank => locale.t("documents.signature.blank").to_owned(),
        }
    }
}

impl fmt::Display for SignatureProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureProblem::TooLarge { bytes } => write!(
                f,
                "the signature image is {bytes} bytes; at most {MAX_SIGNATURE_BYTES} are accepted"
            ),
            SignatureProblem::Unreadable { reason } => {
                write!(f, "the signature image is not a readable PNG file ({reason})")
            }
            SignatureProblem::TooManyPixels { width, height } => write!(
                f,
                "the signature image measures {width}×{height} pixels; at most \
                 {MAX_SIGNATURE_WIDTH}×{MAX_SIGNATURE_HEIGHT} are accepted"
            ),
            SignatureProblem::Blank => f.write_str("the signature image is blank (nothing is drawn on it)"),
        }
    }
}

/// Checks a drawn signature as it arrives (from a browser canvas: a PNG of about 600×200, on a
/// transparent or white background), with the rules the documents apply when they print it.
/// Returns its size in pixels.
pub fn check_signature(png: &[u8]) -> Result<(u32, u32), SignatureProblem> {
    decode(png, CHECK_PIXELS).map(|decoded| decoded.size)
}

/// A signature ready to be placed on a page.
#[derive(Clone)]
pub(crate) struct Prepared {
    pub(crate) image: Image,
    pub(crate) pixels: (u32, u32),
}

/// Decodes and shrinks a signature to at most `max` pixels, for print.
pub(crate) fn prepare(png: &[u8], max: (u32, u32)) -> Result<Prepared, SignatureProblem> {
    let gray = decode(png, max)?.gray;
    let pixels = (gray.width, gray.height);
    let image = Image::from_custom(gray, true).map_err(|reason| SignatureProblem::Unreadable { reason })?;
    Ok(Prepared { image, pixels })
}

/// Prepares many signatures at once: on several threads (up to four) when there are many, as
/// on a course sheet where decoding a thousand drawn signatures is most of the work.
pub(crate) fn prepare_all(pngs: &[&[u8]], max: (u32, u32)) -> Vec<Result<Prepared, SignatureProblem>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    if threads < 2 || pngs.len() < 32 {
        return pngs.iter().map(|png| prepare(png, max)).collect();
    }
    let chunk = pngs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = pngs
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|png| prepare(png, max)).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

/// Eight-bit grey pixels, row by row, ink dark on white.
#[derive(Clone, Hash)]
struct Gray {
    width: u32,
    height: u32,
    pixels: Arc<Vec<u8>>,
}

struct Decoded {
    /// The image's own size.
    size: (u32, u32),
    /// The image flattened on white, in grey, shrunk to at most the print size.
    gray: Gray,
}

/// Decodes row by row, each row flattened on white and averaged into the print-size image as
/// it comes: no full-size copy of the image is ever held.
fn decode(png: &[u8], max: (u32, u32)) -> Result<Decoded, SignatureProblem> {
    if png.len() > MAX_SIGNATURE_BYTES {
        return Err(SignatureProblem::TooLarge { bytes: png.len() });
    }
    let unreadable = |error: png::DecodingError| SignatureProblem::Unreadable {
        reason: error.to_string(),
    };
    let mut decoder = png::Decoder::new_with_limits(
        Cursor::new(png),
        // Room for the largest accepted image in RGBA, plus its ancillary chunks.
        png::Limits {
            bytes: (MAX_SIGNATURE_WIDTH * MAX_SIGNATURE_HEIGHT * 4) as usize + (1 << 20),
        },
    );
    decoder.set_transformations(Transformations::normalize_to_color8());
    // The header is read first: the size is refused before any pixel is decoded.
    let mut reader = decoder.read_info().map_err(unreadable)?;
    let (width, height) = reader.info().size();
    if width > MAX_SIGNATURE_WIDTH || height > MAX_SIGNATURE_HEIGHT {
        return Err(SignatureProblem::TooManyPixels { width, height });
    }
    if width == 0 || height == 0 {
        return Err(SignatureProblem::Blank);
    }
    let (color, _) = reader.output_color_type();
    let mut shrinker = Shrinker::new(width, height, color, max)?;
    if reader.info().interlaced {
        // Interlaced rows come in seven passes: take the whole image, then its rows.
        let size = reader
            .output_buffer_size()
            .ok_or(SignatureProblem::TooManyPixels { width, height })?;
        let mut buffer = vec![0; size];
        let frame = reader.next_frame(&mut buffer).map_err(unreadable)?;
        for row in buffer.chunks(frame.line_size).take(height as usize) {
            shrinker.push(row);
        }
    } else {
        while let Some(row) = reader.next_row().map_err(unreadable)? {
            shrinker.push(row.data());
        }
    }
    let gray = shrinker.finish()?;
    Ok(Decoded {
        size: (width, height),
        gray,
    })
}

/// Flattens rows on white and averages blocks of `factor` × `factor` pixels, so that the image
/// is at most the size asked for.
struct Shrinker {
    color: ColorType,
    width: u32,
    height: u32,
    factor: u32,
    /// One source row in grey.
    row: Vec<u8>,
    /// Sums of the current output row's blocks.
    sums: Vec<u32>,
    rows_in_block: u32,
    rows_seen: u32,
    ink: bool,
    out: Vec<u8>,
}

impl Shrinker {
    fn new(width: u32, height: u32, color: ColorType, max: (u32, u32)) -> Result<Shrinker, SignatureProblem> {
        if color == ColorType::Indexed {
            // `normalize_to_color8` expands palettes, so this does not happen; refuse it anyway.
            return Err(SignatureProblem::Unreadable {
                reason: "unexpected indexed colours".to_owned(),
            });
        }
        let factor = width.div_ceil(max.0.max(1)).max(height.div_ceil(max.1.max(1))).max(1);
        let out_width = width.div_ceil(factor) as usize;
        Ok(Shrinker {
            color,
            width,
            height,
            factor,
            row: vec![255; width as usize],
            sums: vec![0; out_width],
            rows_in_block: 0,
            rows_seen: 0,
            ink: false,
            out: Vec::with_capacity(out_width * height.div_ceil(factor) as usize),
        })
    }

    fn push(&mut self, data: &[u8]) {
        if self.rows_seen == self.height {
            return;
        }
        let out = &mut self.row;
        // One tight loop per layout: this runs over every pixel of every signature of a sheet.
        match self.color {
            ColorType::Grayscale => {
                for (p, o) in data.iter().zip(out.iter_mut()) {
                    *o = *p;
                }
            }
            ColorType::GrayscaleAlpha => {
                for (p, o) in data.chunks_exact(2).zip(out.iter_mut()) {
                    *o = on_white(u32::from(p[0]), p[1]);
                }
            }
            ColorType::Rgb => {
                for (p, o) in data.chunks_exact(3).zip(out.iter_mut()) {
                    *o = luma(p[0], p[1], p[2]) as u8;
                }
            }
            // A canvas is mostly transparent: white, without arithmetic.
            ColorType::Rgba => {
                for (p, o) in data.chunks_exact(4).zip(out.iter_mut()) {
                    *o = if p[3] == 0 {
                        255
                    } else {
                        on_white(luma(p[0], p[1], p[2]), p[3])
                    };
                }
            }
            // Refused by `new`.
            ColorType::Indexed => {}
        }
        self.ink |= self.row.iter().any(|&v| v <= INK);
        for (block, sum) in self.row.chunks(self.factor as usize).zip(&mut self.sums) {
            *sum += block.iter().map(|&v| u32::from(v)).sum::<u32>();
        }
        self.rows_in_block += 1;
        self.rows_seen += 1;
        if self.rows_in_block == self.factor || self.rows_seen == self.height {
            let (factor, rows) = (self.factor as usize, self.rows_in_block);
            let width = self.width as usize;
            for (i, sum) in self.sums.iter_mut().enumerate() {
                let columns = factor.min(width - i * factor) as u32;
                self.out.push((*sum / (columns * rows)) as u8);
                *sum = 0;
            }
            self.rows_in_block = 0;
        }
    }

    fn finish(self) -> Result<Gray, SignatureProblem> {
        if self.rows_seen < self.height {
            return Err(SignatureProblem::Unreadable {
                reason: format!("{} of {} rows", self.rows_seen, self.height),
            });
        }
        if !self.ink {
            return Err(SignatureProblem::Blank);
        }
        Ok(Gray {
            width: self.sums.len() as u32,
            height: self.height.div_ceil(self.factor),
            pixels: Arc::new(self.out),
        })
    }
}

/// Rec. 601 luma, from 0 (black) to 255 (white).
fn luma(r: u8, g: u8, b: u8) -> u32 {
    (u32::from(r) * 77 + u32::from(g) * 150 + u32::from(b) * 29) >> 8
}

/// A grey value with its opacity, over white.
fn on_white(luma: u32, alpha: u8) -> u8 {
    let alpha = u32::from(alpha);
    ((luma * alpha + 255 * (255 - alpha)) / 255) as u8
}

impl CustomImage for Gray {
    fn color_channel(&self) -> &[u8] {
        &self.pixels
    }

    fn alpha_channel(&self) -> Option<&[u8]> {
        None
    }

    fn bits_per_component(&self) -> BitsPerComponent {
        BitsPerComponent::Eight
    }

    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn icc_profile(&self) -> Option<&[u8]> {
        None
    }

    fn color_space(&self) -> ImageColorspace {
        ImageColorspace::Luma
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(width: u32, height: u32, color: ColorType, pixels: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(pixels).unwrap();
        writer.finish().unwrap();
        out
    }

    /// A transparent canvas with a dark diagonal stroke, like a browser's.
    fn canvas(width: u32, height: u32) -> Vec<u8> {
        let mut pixels = vec![0u8; (width * height * 4) as usize];
        for x in 0..width {
            let y = x * height / width;
            let i = ((y * width + x) * 4) as usize;
            pixels[i..i + 4].copy_from_slice(&[10, 20, 120, 255]);
        }
        encode(width, height, ColorType::Rgba, &pixels)
    }

    #[test]
    fn a_canvas_signature_is_accepted_and_shrunk_for_print() {
        let png = canvas(600, 200);
        assert_eq!(check_signature(&png), Ok((600, 200)));
        assert_eq!(prepare(&png, SHEET_PIXELS).unwrap().pixels, (150, 50));
        assert_eq!(prepare(&png, CERTIFICATE_PIXELS).unwrap().pixels, (300, 100));
    }

    #[test]
    fn bad_signatures_are_refused_with_the_reason() {
        assert!(matches!(
            check_signature(b"GIF89a not a png"),
            Err(SignatureProblem::Unreadable { .. })
        ));
        let mut truncated = canvas(600, 200);
        truncated.truncate(truncated.len() / 2);
        assert!(matches!(
            check_signature(&truncated),
            Err(SignatureProblem::Unreadable { .. })
        ));
        assert_eq!(
            check_signature(&vec![0; MAX_SIGNATURE_BYTES + 1]),
            Err(SignatureProblem::TooLarge {
                bytes: MAX_SIGNATURE_BYTES + 1
            })
        );
        // A white, fully transparent or all-but-invisible canvas is blank.
        assert_eq!(
            check_signature(&encode(60, 20, ColorType::Rgba, &[0; 60 * 20 * 4])),
            Err(SignatureProblem::Blank)
        );
        assert_eq!(
            check_signature(&encode(60, 20, ColorType::Grayscale, &[255; 60 * 20])),
            Err(SignatureProblem::Blank)
        );
    }

    #[test]
    fn oversized_images_are_refused_from_their_header() {
        // A 2001×10 grey image: refused for its width, whatever its pixels.
        let png = encode(2001, 10, ColorType::Grayscale, &[0; 2001 * 10]);
        assert_eq!(
            check_signature(&png),
            Err(SignatureProblem::TooManyPixels {
                width: 2001,
                height: 10
            })
        );
        // A header that claims a huge image in a tiny file is refused before decoding.
        let mut forged = encode(1, 1, ColorType::Grayscale, &[0]);
        forged[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        forged[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(check_signature(&forged).is_err());
    }

    #[test]
    fn shrinking_averages_blocks_of_pixels() {
        // 601×201, black up to column 300, white after: three by three pixels per
        // printed pixel, the last column and row of blocks partial.
        let (width, height) = (601u32, 201u32);
        let pixels: Vec<u8> = (0..height)
            .flat_map(|_| (0..width).map(|x| if x < 301 { 0 } else { 255 }))
            .collect();
        let gray = decode(&encode(width, height, ColorType::Grayscale, &pixels), (300, 150))
            .unwrap()
            .gray;
        assert_eq!((gray.width, gray.height), (201, 67));
        let row = &gray.pixels[..201];
        assert!(row[..100].iter().all(|&v| v == 0), "{row:?}");
        assert_eq!(row[100], 170, "the block that straddles the edge: 2 of 3 columns white");
        assert!(row[101..].iter().all(|&v| v == 255));
        assert_eq!(gray.pixels.len(), 201 * 67);
    }

    #[test]
    fn every_layout_is_flattened_on_white() {
        let first = |png: Vec<u8>| decode(&png, CHECK_PIXELS).unwrap().gray.pixels[0];
        // Black at half opacity is mid grey on paper; blue ink is dark grey; 16 bits per
        // sample are read as 8.
        assert_eq!(first(encode(2, 1, ColorType::GrayscaleAlpha, &[0, 128, 0, 255])), 127);
        assert_eq!(first(encode(1, 1, ColorType::Rgb, &[20, 24, 90])), 30);
        assert_eq!(first(encode(1, 1, ColorType::Rgba, &[20, 24, 90, 255])), 30);
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, 1, 1);
        encoder.set_color(ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Sixteen);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[0x10, 0xff]).unwrap();
        writer.finish().unwrap();
        assert_eq!(first(out), 0x10);
    }

    /// A PNG chunk: length, type, data, CRC of type and data.
    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
        out
    }

    #[test]
    fn interlaced_images_are_read_whole() {
        // A 1×1 grey Adam7-interlaced image: only the first pass has a pixel (black).
        use std::io::Write;
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&1u32.to_be_bytes());
        ihdr.extend_from_slice(&1u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 1]);
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zlib.write_all(&[0, 0]).unwrap();
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(chunk(b"IHDR", &ihdr));
        png.extend(chunk(b"IDAT", &zlib.finish().unwrap()));
        png.extend(chunk(b"IEND", &[]));
        let decoded = decode(&png, CHECK_PIXELS).unwrap();
        assert_eq!(decoded.size, (1, 1));
        assert_eq!(*decoded.gray.pixels, [0]);
    }

    #[test]
    fn problems_are_explained_in_both_languages() {
        let problem = SignatureProblem::TooLarge { bytes: 300 * 1024 };
        assert!(
            problem.message(Locale::Fr).contains("300"),
            "{}",
            problem.message(Locale::Fr)
        );
        assert!(
            problem.message(Locale::En).contains("200"),
            "{}",
            problem.message(Locale::En)
        );
        assert_ne!(
            SignatureProblem::Blank.message(Locale::Fr),
            SignatureProblem::Blank.message(Locale::En)
        );
    }
}
