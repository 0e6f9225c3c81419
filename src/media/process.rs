//! Image processing: recognise an upload by its bytes, bound it before decoding, apply its orientation, drop its
//! metadata (keeping the colour profile), and encode the resized variants that pages and the fediverse are served.
//!
//! Everything here is synchronous and CPU-bound: callers run it on a blocking thread, under [`super::Media`]'s
//! bound on concurrent work.

use std::io::Cursor;

use image::{
    DynamicImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, RgbImage, RgbaImage,
    codecs::{jpeg::JpegEncoder, png::PngEncoder},
    imageops::FilterType,
};
use sha2::{Digest, Sha256};

use crate::domain::media::{Format, ImageType};

/// Widths of the variants, narrowest first; an image narrower than one gets its own width instead (never upscaled).
pub const WIDTHS: [u32; 3] = [480, 960, 1600];
/// JPEG quality of the variants.
const JPEG_QUALITY: u8 = 84;
/// Lossy WebP quality (libwebp's 0–100 scale); a WebP is kept only where it is smaller than the JPEG or PNG.
const WEBP_QUALITY: f32 = 80.0;
/// Side of the square avatar kept for a remote commenter (shown at 48 CSS pixels, sharp on 2× screens).
pub const AVATAR_SIDE: u32 = 96;

/// What bounds one upload.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Largest file accepted, in bytes.
    pub max_bytes: usize,
    /// Largest width × height accepted, read from the header before anything is decoded.
    pub max_pixels: u64,
}

/// Why an upload was refused, in words for the owner.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {} MiB", limit / (1024 * 1024))]
    TooLarge { limit: usize },
    #[error(
        "it is a HEIC/HEIF photo (what iPhones save): convert it to JPEG first (on the iPhone: Settings → Camera → Formats → Most Compatible), then upload it again"
    )]
    Heic,
    #[error(
        "it is an AVIF image, which Steppe does not read yet: convert it to JPEG, PNG or WebP first"
    )]
    Avif,
    #[error(
        "it is an SVG drawing: SVG can carry scripts, so only JPEG, PNG, WebP and GIF images are accepted"
    )]
    Svg,
    #[error("it is not a JPEG, PNG, WebP or GIF image")]
    NotAnImage,
    #[error("it is {width} × {height} pixels, more than the {} megapixels allowed", limit / 1_000_000)]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    #[error("the image could not be read (it may be truncated or damaged): {0}")]
    Broken(String),
}

/// One encoded size of an image.
#[derive(Debug, Clone)]
pub struct Variant {
    pub width: u32,
    pub height: u32,
    pub format: Format,
    pub bytes: Vec<u8>,
}

/// An upload after processing: what is stored and what the database records.
#[derive(Debug, Clone)]
pub struct Processed {
    /// Content address: the first 128 bits of the SHA-256 of the largest variant, in hex.
    pub hash: String,
    /// The type of the file as uploaded.
    pub original: ImageType,
    /// Width and height after orientation.
    pub width: u32,
    pub height: u32,
    pub blurhash: String,
    /// Widest first: for each width the JPEG (or PNG, for images with transparency), then a WebP where smaller.
    pub variants: Vec<Variant>,
}

/// The type of an upload from its bytes, or why it is refused (before anything is decoded).
pub fn identify(bytes: &[u8], bounds: Bounds) -> Result<ImageType, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    if bytes.len() > bounds.max_bytes {
        return Err(Refusal::TooLarge {
            limit: bounds.max_bytes,
        });
    }
    if let Some(kind) = ImageType::sniff(bytes) {
        return Ok(kind);
    }
    // ISO base media files (HEIC, AVIF) start with a box of type `ftyp` whose major brand names the format.
    if bytes.get(4..8) == Some(b"ftyp") {
        let brand = bytes.get(8..12).unwrap_or_default();
        return Err(match brand {
            b"avif" | b"avis" => Refusal::Avif,
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"hevm" | b"hevs"
            | b"mif1" | b"msf1" => Refusal::Heic,
            _ => Refusal::NotAnImage,
        });
    }
    let start = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    let start = start.trim_start_matches('\u{feff}').trim_start();
    if start.starts_with("<svg") || (start.starts_with("<?xml") && start.contains("<svg")) {
        return Err(Refusal::Svg);
    }
    Err(Refusal::NotAnImage)
}

/// Whether a JPEG runs to its end-of-image marker: the decoder fills a truncated file's missing part with grey rather
/// than failing, so the segments are walked (headers by their lengths, scans to their next marker) to the `EOI` that
/// follows the last scan. Bytes after it (a polyglot's payload) are never decoded nor served.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut at = 2; // after SOI
    loop {
        // A marker: one or more 0xFF, then its code.
        while bytes.get(at) == Some(&0xFF) {
            at += 1;
        }
        let Some(&code) = bytes.get(at) else {
            return false;
        };
        at += 1;
        match code {
            0xD9 => return true,
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let (Some(&hi), Some(&lo)) = (bytes.get(at), bytes.get(at + 1)) else {
            return false;
        };
        let length = usize::from(u16::from_be_bytes([hi, lo]));
        if length < 2 {
            return false;
        }
        at = at.saturating_add(length);
        if at > bytes.len() {
            return false;
        }
        if code == 0xDA {
            // Entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or a restart.
            loop {
                let Some(offset) = bytes
                    .get(at..)
                    .and_then(|rest| rest.iter().position(|b| *b == 0xFF))
                else {
                    return false;
                };
                at += offset;
                match bytes.get(at + 1) {
                    Some(0x00 | 0xD0..=0xD7) => at += 2,
                    Some(0xFF) => at += 1,
                    Some(_) => break,
                    None => return false,
                }
            }
        }
    }
}

fn image_format(kind: ImageType) -> ImageFormat {
    match kind {
        ImageType::Png => ImageFormat::Png,
        ImageType::Jpeg => ImageFormat::Jpeg,
        ImageType::Gif => ImageFormat::Gif,
        ImageType::Webp => ImageFormat::WebP,
    }
}

fn broken(e: impl std::fmt::Display) -> Refusal {
    Refusal::Broken(e.to_string())
}

/// A decoded upload, oriented, with its colour profile, before any variant is made.
struct Decoded {
    image: DynamicImage,
    icc: Option<Vec<u8>>,
}

/// Reads the header, refuses more than `max_pixels`, then decodes (first frame of a GIF) under a matching memory
/// limit and applies the EXIF orientation.
fn decode(bytes: &[u8], kind: ImageType, bounds: Bounds) -> Result<Decoded, Refusal> {
    if kind == ImageType::Jpeg && !jpeg_is_complete(bytes) {
        return Err(Refusal::Broken(
            "the file ends before the picture does".into(),
        ));
    }
    let reader = ImageReader::with_format(Cursor::new(bytes), image_format(kind));
    let mut decoder = reader.into_decoder().map_err(broken)?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > bounds.max_pixels {
        return Err(Refusal::TooManyPixels {
            width,
            height,
            limit: bounds.max_pixels,
        });
    }
    if pixels == 0 {
        return Err(Refusal::Broken("it has no pixels".into()));
    }
    // Eight bytes a pixel covers 16-bit RGBA; a decoder asking for more than that is refused, not obeyed.
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(bounds.max_pixels.saturating_mul(8).saturating_add(1 << 20));
    decoder.set_limits(limits).map_err(broken)?;
    let orientation = decoder.orientation().map_err(broken)?;
    let icc = decoder.icc_profile().ok().flatten();
    let mut image = DynamicImage::from_decoder(decoder).map_err(broken)?;
    image.apply_orientation(orientation);
    Ok(Decoded { image, icc })
}

/// One size encoded: the main format (JPEG or PNG) and, where libwebp could, a lossy WebP.
struct Encoded {
    format: Format,
    main: Vec<u8>,
    webp: Option<Vec<u8>>,
}

/// Pixels to encode: RGBA where any pixel is not opaque (kept as PNG), else RGB (JPEG).
enum Pixels {
    Rgb(RgbImage),
    Rgba(RgbaImage),
}

impl Pixels {
    fn of(image: DynamicImage) -> Self {
        if image.color().has_alpha() {
            let rgba = image.into_rgba8();
            if rgba.pixels().any(|p| p.0[3] != u8::MAX) {
                return Self::Rgba(rgba);
            }
            return Self::Rgb(DynamicImage::ImageRgba8(rgba).into_rgb8());
        }
        Self::Rgb(image.into_rgb8())
    }

    fn dimensions(&self) -> (u32, u32) {
        match self {
            Self::Rgb(i) => i.dimensions(),
            Self::Rgba(i) => i.dimensions(),
        }
    }

    /// Lanczos3 through `fast_image_resize` (SIMD, straight on 8-bit pixels: several times faster than the `image`
    /// crate's resize, whose intermediate is a 16-bytes-a-pixel float image; see `benches/media.rs`). Transparent
    /// pixels are premultiplied while resizing, so no dark fringes appear at their edges.
    fn resize(&self, width: u32, height: u32) -> Result<Self, Refusal> {
        use fast_image_resize::{PixelType, ResizeAlg, ResizeOptions, Resizer, images};
        let (w, h) = self.dimensions();
        let (raw, pixel_type) = match self {
            Self::Rgb(i) => (i.as_raw(), PixelType::U8x3),
            Self::Rgba(i) => (i.as_raw(), PixelType::U8x4),
        };
        let source = images::ImageRef::new(w, h, raw, pixel_type).map_err(broken)?;
        let mut target = images::Image::new(width, height, pixel_type);
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(
            fast_image_resize::FilterType::Lanczos3,
        ));
        Resizer::new()
            .resize(&source, &mut target, &options)
            .map_err(broken)?;
        let buffer = target.into_vec();
        let resized = match self {
            Self::Rgb(_) => RgbImage::from_raw(width, height, buffer).map(Self::Rgb),
            Self::Rgba(_) => RgbaImage::from_raw(width, height, buffer).map(Self::Rgba),
        };
        resized.ok_or_else(|| Refusal::Broken("resizing produced no image".into()))
    }

    /// The main encoding (JPEG, or PNG for transparency) with the colour profile, and a lossy WebP.
    fn encode(&self, icc: Option<&[u8]>) -> Result<Encoded, Refusal> {
        let (width, height) = self.dimensions();
        let mut main = Vec::new();
        let format = match self {
            Self::Rgb(i) => {
                let mut encoder = JpegEncoder::new_with_quality(&mut main, JPEG_QUALITY);
                if let Some(icc) = icc {
                    // A profile that does not fit in JPEG's APP2 segments is dropped rather than failing the upload.
                    let _ = encoder.set_icc_profile(icc.to_vec());
                }
                encoder
                    .write_image(i.as_raw(), width, height, image::ExtendedColorType::Rgb8)
                    .map_err(broken)?;
                Format::Jpeg
            }
            Self::Rgba(i) => {
                let mut encoder = PngEncoder::new(&mut main);
                if let Some(icc) = icc {
                    let _ = encoder.set_icc_profile(icc.to_vec());
                }
                encoder
                    .write_image(i.as_raw(), width, height, image::ExtendedColorType::Rgba8)
                    .map_err(broken)?;
                Format::Png
            }
        };
        // libwebp refuses what it cannot encode (a side over 16,383 pixels): such a variant simply has no WebP.
        let webp = match self {
            Self::Rgb(i) => webp::Encoder::from_rgb(i.as_raw(), width, height)
                .encode_simple(false, WEBP_QUALITY),
            Self::Rgba(i) => webp::Encoder::from_rgba(i.as_raw(), width, height)
                .encode_simple(false, WEBP_QUALITY),
        };
        let webp = webp.ok().map(|webp| match icc {
            Some(icc) => with_icc_profile(&webp, icc, width, height, matches!(self, Self::Rgba(_))),
            None => webp.to_vec(),
        });
        Ok(Encoded { format, main, webp })
    }

    fn rgba_thumbnail(&self, width: u32, height: u32) -> RgbaImage {
        match self {
            Self::Rgb(i) => {
                DynamicImage::ImageRgb8(image::imageops::thumbnail(i, width, height)).into_rgba8()
            }
            Self::Rgba(i) => image::imageops::thumbnail(i, width, height),
        }
    }
}

/// The height of an image `width` wide with the proportions of `(w, h)`, at least 1.
fn scaled_height((w, h): (u32, u32), width: u32) -> u32 {
    let height = u64::from(h) * u64::from(width) / u64::from(w.max(1));
    u32::try_from(height).unwrap_or(u32::MAX).max(1)
}

/// The widths to make for an image `width` wide: the standard ones below it, and its own width if under the largest.
pub fn widths_for(width: u32) -> Vec<u32> {
    let mut widths: Vec<u32> = WIDTHS.iter().copied().filter(|w| *w < width).collect();
    let largest = WIDTHS[WIDTHS.len() - 1];
    if width <= largest {
        widths.push(width);
    }
    widths
}

/// Processes an upload into its variants. Refuses what [`identify`] refuses, more pixels than allowed, and anything
/// that does not decode.
pub fn process(bytes: &[u8], bounds: Bounds) -> Result<Processed, Refusal> {
    let kind = identify(bytes, bounds)?;
    let Decoded { image, icc } = decode(bytes, kind, bounds)?;
    let pixels = Pixels::of(image);
    let (width, height) = pixels.dimensions();
    let mut variants = Vec::new();
    // Widest first, each made from the one before it: a smaller source is much faster and Lanczos keeps it sharp.
    let mut source: Option<Pixels> = None;
    for w in widths_for(width).into_iter().rev() {
        let resized = if w == width {
            None
        } else {
            let from = source.as_ref().unwrap_or(&pixels);
            Some(from.resize(w, scaled_height((width, height), w))?)
        };
        let current = resized.as_ref().unwrap_or(&pixels);
        let (vw, vh) = current.dimensions();
        let Encoded { format, main, webp } = current.encode(icc.as_deref())?;
        let smaller_webp = webp.filter(|w| w.len() < main.len());
        variants.push(Variant {
            width: vw,
            height: vh,
            format,
            bytes: main,
        });
        if let Some(webp) = smaller_webp {
            variants.push(Variant {
                width: vw,
                height: vh,
                format: Format::Webp,
                bytes: webp,
            });
        }
        if resized.is_some() {
            source = resized;
        }
    }
    let blurhash = blurhash_of(source.as_ref().unwrap_or(&pixels))?;
    let hash = content_hash(&variants[0].bytes);
    Ok(Processed {
        hash,
        original: kind,
        width,
        height,
        blurhash,
        variants,
    })
}

/// A blurhash of 4 × 3 components, computed from a 32-pixel-wide thumbnail.
fn blurhash_of(pixels: &Pixels) -> Result<String, Refusal> {
    let dims = pixels.dimensions();
    let (w, h) = (32, scaled_height(dims, 32).min(128));
    let small = pixels.rgba_thumbnail(w, h);
    blurhash::encode(4, 3, w, h, small.as_raw()).map_err(broken)
}

/// The content address of some bytes.
pub fn content_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// A remote commenter's avatar: the centre square, [`AVATAR_SIDE`] pixels, JPEG without metadata. Returns the
/// content hash and the bytes.
pub fn avatar(bytes: &[u8], bounds: Bounds) -> Result<(String, Vec<u8>), Refusal> {
    let kind = identify(bytes, bounds)?;
    let Decoded { image, .. } = decode(bytes, kind, bounds)?;
    let (w, h) = (image.width(), image.height());
    let side = w.min(h);
    let square = image.crop_imm((w - side) / 2, (h - side) / 2, side, side);
    let small = square
        .resize_exact(AVATAR_SIDE, AVATAR_SIDE, FilterType::Lanczos3)
        .into_rgb8();
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .write_image(
            small.as_raw(),
            AVATAR_SIDE,
            AVATAR_SIDE,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(broken)?;
    Ok((content_hash(&out), out))
}

/// A simple-format WebP (`RIFF…WEBPVP8 …`) rewritten in the extended format with an `ICCP` chunk, so that the
/// colours of a Display P3 photo survive. libwebp's simple encoder cannot embed a profile itself.
fn with_icc_profile(simple: &[u8], icc: &[u8], width: u32, height: u32, alpha: bool) -> Vec<u8> {
    // The bitstream chunk(s) after the 12-byte RIFF header; anything unexpected is left as it is, without profile.
    let Some(chunks) = simple.get(12..) else {
        return simple.to_vec();
    };
    if !(chunks.starts_with(b"VP8 ") || chunks.starts_with(b"VP8L")) {
        return simple.to_vec();
    }
    let chunk = |fourcc: &[u8; 4], data: &[u8]| -> Vec<u8> {
        let mut c = Vec::with_capacity(data.len() + 9);
        c.extend_from_slice(fourcc);
        c.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_le_bytes());
        c.extend_from_slice(data);
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    };
    let mut vp8x = [0u8; 10];
    // Flags: ICC profile (0x20), and alpha (0x10) when the bitstream has it.
    vp8x[0] = 0x20 | if alpha { 0x10 } else { 0 };
    vp8x[4..7].copy_from_slice(&width.saturating_sub(1).to_le_bytes()[..3]);
    vp8x[7..10].copy_from_slice(&height.saturating_sub(1).to_le_bytes()[..3]);
    let mut body = b"WEBP".to_vec();
    body.extend(chunk(b"VP8X", &vp8x));
    body.extend(chunk(b"ICCP", icc));
    body.extend_from_slice(chunks);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: Bounds = Bounds {
        max_bytes: 20 << 20,
        max_pixels: 50_000_000,
    };

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 90)
            .write_image(img.as_raw(), width, height, image::ExtendedColorType::Rgb8)
            .expect("encodes");
        out
    }

    #[test]
    fn identifies_by_bytes() {
        assert_eq!(identify(b"", BOUNDS), Err(Refusal::Empty));
        assert_eq!(
            identify(b"\0\0\0\x18ftypheic\0\0\0\0", BOUNDS),
            Err(Refusal::Heic)
        );
        assert_eq!(
            identify(b"\0\0\0\x18ftypavif\0\0\0\0", BOUNDS),
            Err(Refusal::Avif)
        );
        assert_eq!(
            identify(b"\xef\xbb\xbf <?xml version='1.0'?><svg>", BOUNDS),
            Err(Refusal::Svg)
        );
        assert_eq!(identify(b"<svg onload=x>", BOUNDS), Err(Refusal::Svg));
        assert_eq!(identify(b"hello", BOUNDS), Err(Refusal::NotAnImage));
        let small = Bounds {
            max_bytes: 3,
            ..BOUNDS
        };
        assert_eq!(
            identify(b"abcd", small),
            Err(Refusal::TooLarge { limit: 3 })
        );
    }

    #[test]
    fn variants_are_never_upscaled() {
        assert_eq!(widths_for(4000), vec![480, 960, 1600]);
        assert_eq!(widths_for(1600), vec![480, 960, 1600]);
        assert_eq!(widths_for(1000), vec![480, 960, 1000]);
        assert_eq!(widths_for(300), vec![300]);
    }

    #[test]
    fn processes_into_proportional_variants() {
        let p = process(&jpeg(2000, 1000), BOUNDS).expect("processes");
        assert_eq!((p.width, p.height), (2000, 1000));
        let sizes: Vec<(u32, u32)> = p
            .variants
            .iter()
            .filter(|v| v.format == Format::Jpeg)
            .map(|v| (v.width, v.height))
            .collect();
        assert_eq!(sizes, vec![(1600, 800), (960, 480), (480, 240)]);
        assert_eq!(p.hash.len(), 32);
        assert!(!p.blurhash.is_empty());
        // Deterministic: the same upload has the same address.
        assert_eq!(
            process(&jpeg(2000, 1000), BOUNDS).expect("again").hash,
            p.hash
        );
    }

    #[test]
    fn truncated_images_are_refused() {
        let whole = jpeg(64, 64);
        let cut = &whole[..whole.len() / 3];
        assert!(matches!(process(cut, BOUNDS), Err(Refusal::Broken(_))));
    }

    #[test]
    fn jpeg_completeness() {
        let whole = jpeg(300, 200);
        assert!(jpeg_is_complete(&whole));
        for cut in [whole.len() - 1, whole.len() / 2, 40, 3] {
            assert!(!jpeg_is_complete(&whole[..cut]), "cut at {cut}");
        }
        let mut polyglot = whole.clone();
        polyglot.extend_from_slice(b"<script>alert(1)</script>");
        assert!(jpeg_is_complete(&polyglot));
    }

    #[test]
    fn icc_profile_survives_in_webp() {
        let img = RgbImage::from_pixel(16, 16, image::Rgb([200, 10, 10]));
        let simple = webp::Encoder::from_rgb(img.as_raw(), 16, 16).encode(80.0);
        let icc = b"not really a profile, but bytes to carry".to_vec();
        let extended = with_icc_profile(&simple, &icc, 16, 16, false);
        let mut decoder = image::codecs::webp::WebPDecoder::new(Cursor::new(&extended))
            .expect("extended WebP parses");
        assert_eq!(decoder.icc_profile().expect("reads"), Some(icc));
        DynamicImage::from_decoder(decoder).expect("decodes");
    }
}
