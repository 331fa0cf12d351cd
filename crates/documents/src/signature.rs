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

/// Prepared images are at most this size: a signature prints about 4 cm wide, so 300 pixels
/// give some 190 dpi, and a 40-page course sheet full of signatures stays small and quick.
const PRINT_WIDTH: u32 = 300;
const PRINT_HEIGHT: u32 = 150;
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
    let gray = decode(png)?;
    Ok((gray.width, gray.height))
}

/// A signature ready to be placed on a page.
#[derive(Clone)]
pub(crate) struct Prepared {
    pub(crate) image: Image,
    pub(crate) pixels: (u32, u32),
}

pub(crate) fn prepare(png: &[u8]) -> Result<Prepared, SignatureProblem> {
    let gray = decode(png)?.shrink(PRINT_WIDTH, PRINT_HEIGHT);
    let pixels = (gray.width, gray.height);
    let image = Image::from_custom(gray, true).map_err(|reason| SignatureProblem::Unreadable { reason })?;
    Ok(Prepared { image, pixels })
}

/// Eight-bit grey pixels, row by row, ink dark on white.
#[derive(Clone, Hash)]
struct Gray {
    width: u32,
    height: u32,
    pixels: Arc<Vec<u8>>,
}

fn decode(png: &[u8]) -> Result<Gray, SignatureProblem> {
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
    let size = reader
        .output_buffer_size()
        .ok_or(SignatureProblem::TooManyPixels { width, height })?;
    let mut buffer = vec![0; size];
    let frame = reader.next_frame(&mut buffer).map_err(unreadable)?;
    let channels = match frame.color_type {
        ColorType::Grayscale => 1,
        ColorType::GrayscaleAlpha => 2,
        ColorType::Rgb => 3,
        ColorType::Rgba => 4,
        // `normalize_to_color8` expands palettes, so this does not happen; refuse it anyway.
        ColorType::Indexed => {
            return Err(SignatureProblem::Unreadable {
                reason: "unexpected indexed colours".to_owned(),
            });
        }
    };
    let mut pixels = Vec::with_capacity((width * height) as usize);
    for row in buffer.chunks(frame.line_size).take(height as usize) {
        for pixel in row.chunks_exact(channels).take(width as usize) {
            let (luma, alpha) = match *pixel {
                [g] => (u32::from(g), 255),
                [g, a] => (u32::from(g), u32::from(a)),
                [r, g, b] => (luma(r, g, b), 255),
                [r, g, b, a] => (luma(r, g, b), u32::from(a)),
                _ => (255, 0),
            };
            // Flattened on white paper: transparent pixels are white.
            let value = (luma * alpha + 255 * (255 - alpha)) / 255;
            pixels.push(value.min(255) as u8);
        }
    }
    if !pixels.iter().any(|&p| p <= INK) {
        return Err(SignatureProblem::Blank);
    }
    Ok(Gray {
        width,
        height,
        pixels: Arc::new(pixels),
    })
}

fn luma(r: u8, g: u8, b: u8) -> u32 {
    (u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114) / 1000
}

impl Gray {
    /// Averages blocks of pixels down to at most `max_width` × `max_height`.
    fn shrink(self, max_width: u32, max_height: u32) -> Gray {
        let factor = self
            .width
            .div_ceil(max_width)
            .max(self.height.div_ceil(max_height))
            .max(1);
        if factor == 1 {
            return self;
        }
        let (width, height) = (self.width.div_ceil(factor), self.height.div_ceil(factor));
        let mut pixels = Vec::with_capacity((width * height) as usize);
        for y in 0..height {
            for x in 0..width {
                let (mut sum, mut count) = (0u32, 0u32);
                for sy in y * factor..((y + 1) * factor).min(self.height) {
                    let row = (sy * self.width) as usize;
                    for sx in x * factor..((x + 1) * factor).min(self.width) {
                        sum += u32::from(self.pixels[row + sx as usize]);
                        count += 1;
                    }
                }
                pixels.push((sum / count.max(1)) as u8);
            }
        }
        Gray {
            width,
            height,
            pixels: Arc::new(pixels),
        }
    }
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
        let prepared = prepare(&png).unwrap();
        assert_eq!(prepared.pixels, (300, 100));
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
