//! Media benchmark (not a test): a 12-megapixel JPEG (generated here, a photo-like gradient with noise) processed by
//! Steppe into all its variants, against the ceiling: the same decode, the same resizes (1600, 960, 480 px, each
//! from the one before, Lanczos3, with fast_image_resize) and the same encodes (JPEG q84 and lossy WebP q80) done
//! directly with the crates, in the same run; and the same done with the `image` crate's resize, which is what
//! showed fast_image_resize to be faster. Prints the time per image of each, their ratio, and the peak resident memory of this process
//! during each (VmHWM, reset through /proc/self/clear_refs), against the decoded image's size.
//!
//! `cargo bench --bench media` (option after `--`: `--runs N`, per side, default 5; the median is reported).

use std::{io::Cursor, time::Instant};

use image::{
    ImageEncoder, ImageReader, RgbImage,
    codecs::jpeg::JpegEncoder,
    imageops::{self, FilterType},
};
use steppe::media::process::{Bounds, process};

type BoxError = Box<dyn std::error::Error>;

const WIDTH: u32 = 4000;
const HEIGHT: u32 = 3000;

fn photo() -> Result<Vec<u8>, BoxError> {
    // A cheap deterministic noise, so that the encoders see texture rather than flat colour.
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let img = RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = (seed & 31) as u32;
        image::Rgb([
            ((x * 255 / WIDTH + n) % 256) as u8,
            ((y * 255 / HEIGHT + n) % 256) as u8,
            (((x + y) / 40 + n) % 256) as u8,
        ])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90).write_image(
        img.as_raw(),
        WIDTH,
        HEIGHT,
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}

/// How the ceiling resizes: `fast_image_resize` (what Steppe uses) or the `image` crate's own resize.
#[derive(Clone, Copy)]
enum Resize {
    Fast,
    ImageCrate,
}

fn resize(how: Resize, from: &RgbImage, width: u32, height: u32) -> Result<RgbImage, BoxError> {
    match how {
        Resize::ImageCrate => Ok(imageops::resize(from, width, height, FilterType::Lanczos3)),
        Resize::Fast => {
            use fast_image_resize::{PixelType, ResizeAlg, ResizeOptions, Resizer, images};
            let source =
                images::ImageRef::new(from.width(), from.height(), from.as_raw(), PixelType::U8x3)?;
            let mut target = images::Image::new(width, height, PixelType::U8x3);
            let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(
                fast_image_resize::FilterType::Lanczos3,
            ));
            Resizer::new().resize(&source, &mut target, &options)?;
            RgbImage::from_raw(width, height, target.into_vec()).ok_or_else(|| "no image".into())
        }
    }
}

/// The ceiling: decode, resize, encode, with nothing else.
fn direct(bytes: &[u8], how: Resize) -> Result<usize, BoxError> {
    let decoded = ImageReader::with_format(Cursor::new(bytes), image::ImageFormat::Jpeg)
        .decode()?
        .into_rgb8();
    let mut total = 0;
    let mut source: Option<RgbImage> = None;
    for width in [1600u32, 960, 480] {
        let from = source.as_ref().unwrap_or(&decoded);
        let height = from.height() * width / from.width();
        let resized = resize(how, from, width, height)?;
        let mut jpeg = Vec::new();
        JpegEncoder::new_with_quality(&mut jpeg, 84).write_image(
            resized.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )?;
        let webp = webp::Encoder::from_rgb(resized.as_raw(), width, height).encode(80.0);
        total += jpeg.len() + webp.len();
        source = Some(resized);
    }
    Ok(total)
}

fn ours(bytes: &[u8]) -> Result<usize, BoxError> {
    let processed = process(
        bytes,
        Bounds {
            max_bytes: 20 << 20,
            max_pixels: 50_000_000,
        },
    )?;
    Ok(processed.variants.iter().map(|v| v.bytes.len()).sum())
}

/// A field of /proc/self/status, in KiB.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Runs `f` `runs` times; returns the median seconds and the peak resident memory above the resident memory before,
/// in MiB.
fn measure(runs: usize, f: impl Fn() -> Result<usize, BoxError>) -> Result<(f64, f64), BoxError> {
    let mut times = Vec::new();
    let mut peak_above = 0u64;
    for _ in 0..runs {
        // "5" resets the peak (VmHWM) to the current resident size.
        std::fs::write("/proc/self/clear_refs", "5")?;
        let before = status_kib("VmRSS:");
        let start = Instant::now();
        let bytes = f()?;
        times.push(start.elapsed().as_secs_f64());
        peak_above = peak_above.max(status_kib("VmHWM:").saturating_sub(before));
        assert!(bytes > 0);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], peak_above as f64 / 1024.0))
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let bytes = photo()?;
    let decoded_mib = f64::from(WIDTH * HEIGHT * 3) / (1024.0 * 1024.0);
    println!(
        "media: a {WIDTH} × {HEIGHT} JPEG ({:.1} MB; {decoded_mib:.1} MiB decoded), {runs} runs each, medians",
        bytes.len() as f64 / 1e6
    );
    // Warm up (allocator, page faults of the code).
    direct(&bytes, Resize::Fast)?;
    ours(&bytes)?;
    let (t_image, m_image) = measure(runs, || direct(&bytes, Resize::ImageCrate))?;
    let (t_direct, m_direct) = measure(runs, || direct(&bytes, Resize::Fast))?;
    let (t_ours, m_ours) = measure(runs, || ours(&bytes))?;
    let line = |label: &str, t: f64, m: f64| {
        println!(
            "  {label:<52} {:>6.0} ms per image, peak memory +{m:.0} MiB ({:.2}× decoded)",
            t * 1000.0,
            m / decoded_mib
        );
    };
    line(
        "direct, image crate's resize (for comparison)",
        t_image,
        m_image,
    );
    line("ceiling: direct, fast_image_resize", t_direct, m_direct);
    line(
        "steppe: process (all variants, blurhash, hash)",
        t_ours,
        m_ours,
    );
    println!(
        "  ratio steppe / ceiling: time {:.2}×, memory {:.2}×; fast_image_resize / image crate: time {:.2}×",
        t_ours / t_direct,
        m_ours / m_direct.max(1.0),
        t_direct / t_image
    );
    Ok(())
}
