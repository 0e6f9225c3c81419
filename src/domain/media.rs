//! Images the owner gives the blog (the fediverse avatar and header): recognised by their bytes, never by name.

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
    fn media_names() {
        assert!(is_media_name("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.png"));
        assert!(!is_media_name("../etc/passwd"));
        assert!(!is_media_name("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.svg"));
        assert!(!is_media_name(
            "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.png.png"
        ));
    }
}
