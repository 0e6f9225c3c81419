//! Images as the blog's rules see them: their types (recognised by their bytes, never by name), the names their
//! variants are served under, the images a post's Markdown shows, and the HTML that shows one responsively.

use std::collections::HashMap;

use super::content::escape_html;

/// An image type Steppe accepts, with its file extension and media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Png,
    Jpeg,
    Gif,
    Webp,
}

impl ImageType {
    /// The type of an image from its first bytes; `None` for anything that is not PNG, JPEG, GIF or WebP.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Self::Gif)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else {
            None
        }
    }

    /// The type a URL's file extension suggests.
    pub fn from_extension(path: &str) -> Option<Self> {
        let ext = path.rsplit('.').next()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "png" => Self::Png,
            "jpg" | "jpeg" => Self::Jpeg,
            "gif" => Self::Gif,
            "webp" => Self::Webp,
            _ => return None,
        })
    }

    /// The type of a media type as [`ImageType::media_type`] writes it.
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        [Self::Png, Self::Jpeg, Self::Gif, Self::Webp]
            .into_iter()
            .find(|t| t.media_type() == media_type)
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Gif => "gif",
            Self::Webp => "webp",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
        }
    }
}

/// A profile image as the actor document embeds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileImage {
    pub url: String,
    pub media_type: Option<String>,
}

/// The avatar (`"avatar"`) or header (`"header"`) image, if the owner set one.
pub fn profile_image(
    values: &std::collections::HashMap<String, String>,
    key: &str,
) -> Option<ProfileImage> {
    Some(ProfileImage {
        url: values.get(&format!("{key}_url"))?.clone(),
        media_type: values.get(&format!("{key}_media_type")).cloned(),
    })
}

/// The encoding of a stored variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jpeg,
    Png,
    Webp,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext {
            "jpg" => Some(Self::Jpeg),
            "png" => Some(Self::Png),
            "webp" => Some(Self::Webp),
            _ => None,
        }
    }
}

/// One stored size of an image, as the database lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VariantInfo {
    pub width: u32,
    pub height: u32,
    pub format: Format,
    pub bytes: u64,
}

/// The name a variant is stored and served under: `<hash>-<width>.<ext>`.
pub fn variant_name(hash: &str, width: u32, format: Format) -> String {
    format!("{hash}-{width}.{}", format.extension())
}

/// Whether `hash` is a content address as Steppe writes them (32 lowercase hex digits).
pub fn is_hash(hash: &str) -> bool {
    hash.len() == 32 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The parts of a variant's name: hash, width and format; `None` for any other name.
pub fn parse_variant_name(name: &str) -> Option<(&str, u32, Format)> {
    let (stem, ext) = name.split_once('.')?;
    let (hash, width) = stem.split_once('-')?;
    let format = Format::from_extension(ext)?;
    let digits_only =
        !width.is_empty() && width.len() <= 5 && width.bytes().all(|b| b.is_ascii_digit());
    if !is_hash(hash) || !digits_only || width.starts_with('0') {
        return None;
    }
    Some((hash, width.parse().ok()?, format))
}

/// An image with its description and sizes: what a page, a list or an Article needs to show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub id: String,
    pub width: u32,
    pub height: u32,
    pub blurhash: String,
    /// `None` until described; `Some("")` when marked decorative.
    pub alt: Option<String>,
    /// Widest first.
    pub variants: Vec<VariantInfo>,
}

/// `sizes` for an image in a post's column (the theme's column is 720 CSS pixels wide at most).
pub const COLUMN_SIZES: &str = "(max-width: 760px) 100vw, 720px";

impl Image {
    /// The address of a variant under `base` (the blog's origin, no trailing slash).
    pub fn url(&self, base: &str, v: &VariantInfo) -> String {
        format!("{base}/media/{}", variant_name(&self.id, v.width, v.format))
    }

    /// The widest variant in the main format (JPEG or PNG): the image the fediverse is given.
    pub fn main(&self) -> Option<&VariantInfo> {
        self.variants.iter().find(|v| v.format != Format::Webp)
    }

    /// The variant closest to `width` (at least it, else the widest) in the main format.
    pub fn near(&self, width: u32) -> Option<&VariantInfo> {
        let main: Vec<&VariantInfo> = self
            .variants
            .iter()
            .filter(|v| v.format != Format::Webp)
            .collect();
        main.iter()
            .rev()
            .find(|v| v.width >= width)
            .or_else(|| main.first())
            .copied()
    }

    fn srcset(&self, base: &str, webp: bool) -> String {
        self.variants
            .iter()
            .filter(|v| (v.format == Format::Webp) == webp)
            .rev()
            .map(|v| format!("{} {}w", self.url(base, v), v.width))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The responsive HTML for this image: a `<picture>` with a WebP source where there are WebP variants, and an
    /// `<img>` with `srcset`, `sizes`, `width`, `height` (so nothing jumps while loading) and `alt`. `fallback_alt`
    /// is used while the owner has given no description.
    pub fn html(&self, base: &str, fallback_alt: &str, sizes: &str, lazy: bool) -> String {
        let Some(src) = self.near(960) else {
            return String::new();
        };
        let alt = self.alt.as_deref().unwrap_or(fallback_alt);
        let (width, height) = self
            .main()
            .map_or((self.width, self.height), |v| (v.width, v.height));
        let webp = self.srcset(base, true);
        let img = format!(
            "<img src=\"{}\" srcset=\"{}\" sizes=\"{sizes}\" width=\"{width}\" height=\"{height}\" alt=\"{}\"{}>",
            self.url(base, src),
            self.srcset(base, false),
            escape_html(alt),
            if lazy {
                " loading=\"lazy\" decoding=\"async\""
            } else {
                ""
            },
        );
        if webp.is_empty() {
            img
        } else {
            format!(
                "<picture><source type=\"image/webp\" srcset=\"{webp}\" sizes=\"{sizes}\">{img}</picture>"
            )
        }
    }
}

/// The images a post's Markdown shows that are this blog's uploads, in order, each once: their ids and the alt text
/// typed in the Markdown (or in an `<img>` tag's `alt`, for HTML, as imported posts are). `base` is the blog's
/// origin: absolute addresses on it count as well as `/media/…`.
pub fn referenced(markdown: &str, base: &str) -> Vec<(String, String)> {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd};
    let mut found: Vec<(String, String)> = Vec::new();
    let mut current: Option<(String, String)> = None;
    for event in Parser::new_ext(markdown, super::content::markdown_options()) {
        match event {
            Event::Start(Tag::Image { dest_url, .. }) => {
                current = media_id_of(&dest_url, base).map(|id| (id.to_string(), String::new()));
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, alt)) = current.as_mut() {
                    alt.push_str(&t);
                }
            }
            Event::End(TagEnd::Image) => {
                if let Some((id, alt)) = current.take()
                    && !found.iter().any(|(f, _)| *f == id)
                {
                    found.push((id, alt.trim().to_string()));
                }
            }
            Event::Html(t) | Event::InlineHtml(t) => {
                for tag in img_tags(&t) {
                    if let Some(id) = media_id_of(&tag.src, base)
                        && !found.iter().any(|(f, _)| f == id)
                    {
                        found.push((id.to_string(), tag.alt.unwrap_or_default()));
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// An `<img>` tag found in HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImgTag {
    /// Where the tag is in the text (from `<` to `>`).
    pub range: std::ops::Range<usize>,
    /// `src`, entities decoded.
    pub src: String,
    /// `alt`, entities decoded.
    pub alt: Option<String>,
    /// Whether it has a `srcset` (it is responsive already).
    pub srcset: bool,
    /// Whether it is inside a `<picture>` opened in the same text.
    pub in_picture: bool,
}

/// The `<img>` tags of `html` that have a `src`.
pub fn img_tags(html: &str) -> Vec<ImgTag> {
    let mut out = Vec::new();
    let mut from = 0;
    // Whether a `<picture>` is open where the scan is, kept up to date over each stretch scanned.
    let mut in_picture = false;
    while let Some(found) = find_ascii_ci(&html[from..], "<img") {
        let start = from + found;
        let between = &html[from..start];
        match (
            find_last_ascii_ci(between, "<picture"),
            find_last_ascii_ci(between, "</picture"),
        ) {
            (Some(o), Some(c)) => in_picture = o > c,
            (Some(_), None) => in_picture = true,
            (None, Some(_)) => in_picture = false,
            (None, None) => {}
        }
        let after = start + 4;
        // `<imgx` is another tag.
        if !html[after..].starts_with(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>') {
            from = after;
            continue;
        }
        let Some(end) = tag_end(&html[start..]).map(|e| start + e) else {
            break;
        };
        let attrs = super::content::tag_attributes(&html[after..end - 1]);
        let value = |name: &str| {
            attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| super::content::decode_entities(v))
        };
        if let Some(src) = value("src") {
            out.push(ImgTag {
                range: start..end,
                src,
                alt: value("alt"),
                srcset: value("srcset").is_some(),
                in_picture,
            });
        }
        from = end;
    }
    out
}

/// The end of the tag that starts `html` (just after its `>`), quotes respected.
fn tag_end(html: &str) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, b) in html.bytes().enumerate() {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), b) if b == q => quote = None,
            (None, b'>') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn find_last_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .rposition(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// `html` with each plain `<img>` that shows one of this blog's uploads (one in `images`) replaced by the upload's
/// responsive HTML, as a Markdown image would be; `None` when there is none. Tags that are responsive already (a
/// `srcset`, or inside a `<picture>`) are left as written. `first` is cleared by the first image shown.
pub fn upgrade_html_images(
    html: &str,
    base: &str,
    images: &Images,
    first: &mut bool,
) -> Option<String> {
    let mut out = String::new();
    let mut done = 0;
    for tag in img_tags(html) {
        let image = media_id_of(&tag.src, base).and_then(|id| images.get(id));
        let Some(image) = image.filter(|_| !tag.srcset && !tag.in_picture) else {
            continue;
        };
        out.push_str(&html[done..tag.range.start]);
        out.push_str(&image.html(
            base,
            tag.alt.as_deref().unwrap_or(""),
            COLUMN_SIZES,
            !*first,
        ));
        *first = false;
        done = tag.range.end;
    }
    if done == 0 {
        return None;
    }
    out.push_str(&html[done..]);
    Some(out)
}

/// The id of the upload an image address points at (`/media/<hash>-<width>.<ext>`, relative or on `base`).
pub fn media_id_of<'a>(url: &'a str, base: &str) -> Option<&'a str> {
    let path = url.strip_prefix(base).unwrap_or(url);
    let name = path.strip_prefix("/media/")?;
    parse_variant_name(name).map(|(hash, _, _)| hash)
}

/// Looks images up by id: what [`super::content::render_markdown_with`] needs to show uploads responsively.
pub type Images = HashMap<String, Image>;

/// Whether `name` is a file name Steppe itself gave an upload (`<uuid>.<ext>`): nothing else is served from media.
pub fn is_media_name(name: &str) -> bool {
    let Some((stem, ext)) = name.split_once('.') else {
        return false;
    };
    uuid::Uuid::parse_str(stem).is_ok()
        && stem.len() == 36
        && ImageType::from_extension(name).is_some()
        && !ext.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_images_and_nothing_else() {
        assert_eq!(
            ImageType::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(ImageType::Png)
        );
        assert_eq!(
            ImageType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(ImageType::Jpeg)
        );
        assert_eq!(ImageType::sniff(b"GIF89a..."), Some(ImageType::Gif));
        assert_eq!(
            ImageType::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(ImageType::Webp)
        );
        assert_eq!(ImageType::sniff(b"<svg xmlns=..."), None);
        assert_eq!(ImageType::sniff(b""), None);
    }

    #[test]
    fn img_tags_in_html() {
        let html = r#"<p><IMG alt="A &amp; B" src="/media/x.jpg" width=3></p><imgx src="no"><picture><img src="p.jpg"></picture><img srcset="a 1w" src='q.jpg' alt="x>y">"#;
        let tags = img_tags(html);
        assert_eq!(tags.len(), 3);
        assert_eq!(tags[0].src, "/media/x.jpg");
        assert_eq!(tags[0].alt.as_deref(), Some("A & B"));
        assert_eq!(
            &html[tags[0].range.clone()],
            r#"<IMG alt="A &amp; B" src="/media/x.jpg" width=3>"#
        );
        assert!(tags[1].in_picture && !tags[1].srcset);
        assert!(tags[2].srcset && !tags[2].in_picture);
        assert_eq!(tags[2].alt.as_deref(), Some("x>y"));
        assert!(img_tags("<img src=\"unclosed").is_empty());
    }

    #[test]
    fn media_names() {
        assert!(is_media_name("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.png"));
        assert!(!is_media_name("../etc/passwd"));
        assert!(!is_media_name("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.svg"));
        assert!(!is_media_name(
            "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.png.png"
        ));
    }
}
