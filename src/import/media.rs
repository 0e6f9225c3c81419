//! Images of an imported blog: found under `--uploads DIR` (a copy of `wp-content/uploads`) or fetched from the old
//! site through the guarded client (`--fetch-media`), processed like any upload (metadata stripped, variants), and
//! remembered per site so that a second run neither reads nor processes them again. A file name that leads outside
//! the uploads folder is refused; an image that cannot be had keeps its old address, with one line in the summary.

use std::{
    collections::{BTreeSet, HashSet},
    path::{Path, PathBuf},
};

use super::{ImportError, Summary};
use crate::{
    app::AppState,
    db::{self, imports, media::MediaRow},
    federation::client::FetchError,
    media::UploadError,
};

/// Failures remembered in one run (each is tried and reported once); past this, they are tried again.
const MAX_REMEMBERED_FAILURES: usize = 100_000;
/// Upload folders remembered from the attachments (WordPress has one per site; multisite and old layouts add some).
const MAX_BASES: usize = 16;

/// Where the images come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    /// A copy of the old site's `wp-content/uploads`.
    pub uploads: Option<PathBuf>,
    /// Fetch what is not under `uploads` from the old site.
    pub fetch: bool,
}

impl Sources {
    pub fn any(&self) -> bool {
        self.uploads.is_some() || self.fetch
    }
}

/// The old site's upload folders, as addresses without their scheme (`//old.example/wp-content/uploads/`).
#[derive(Debug, Clone, Default)]
pub struct UploadFolders(BTreeSet<String>);

impl UploadFolders {
    /// WordPress's default folder for `site`.
    pub fn for_site(site: &str) -> Self {
        let mut folders = Self::default();
        if let Some(site) = without_scheme(site, "") {
            folders.0.insert(format!(
                "{}/wp-content/uploads/",
                site.trim_end_matches('/')
            ));
        }
        folders
    }

    /// Learns a folder from an attachment: its address ends with its path under the folder (`_wp_attached_file`).
    pub fn learn(&mut self, url: &str, attached_file: &str, site_host: &str) {
        if attached_file.is_empty() || self.0.len() >= MAX_BASES {
            return;
        }
        if let Some(url) = without_scheme(url, site_host)
            && let Some(base) = url.strip_suffix(attached_file)
            && base.ends_with('/')
            && base.len() > 2
        {
            self.0.insert(base.to_string());
        }
    }

    /// The path of `url` under one of the folders (as written, percent-encoding kept), when it is an upload.
    pub fn path_of(&self, url: &str, site_host: &str) -> Option<String> {
        let url = without_scheme(url, site_host)?;
        self.0
            .iter()
            .filter_map(|base| url.strip_prefix(base.as_str()))
            .find(|rest| !rest.is_empty())
            .map(str::to_string)
    }
}

/// `url` as `//host/path` (scheme, query and fragment dropped; host lowercased; WordPress.com's image CDN
/// `i0.wp.com/host/path` read as the address it serves). Site-relative paths are read on `site_host`.
fn without_scheme(url: &str, site_host: &str) -> Option<String> {
    let url = url.trim();
    let rest = if let Some(r) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .or_else(|| url.strip_prefix("//"))
    {
        r.to_string()
    } else if url.starts_with('/') && !site_host.is_empty() {
        format!("{site_host}{url}")
    } else {
        return None;
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    if matches!(
        host.as_str(),
        "i0.wp.com" | "i1.wp.com" | "i2.wp.com" | "i3.wp.com"
    ) {
        return without_scheme(&format!("//{path}"), site_host);
    }
    Some(format!("//{host}/{path}"))
}

/// A WordPress size (`photo-300x200.jpg`) → the original it was cut from (`photo.jpg`), when the name is one.
fn original_of(path: &str) -> Option<String> {
    let (stem, ext) = path.rsplit_once('.')?;
    let (name, size) = stem.rsplit_once('-')?;
    let (w, h) = size.split_once('x')?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit());
    (digits(w) && digits(h) && !name.is_empty() && !name.ends_with('/'))
        .then(|| format!("{name}.{ext}"))
}

/// `rel` as a path inside the uploads folder: each segment percent-decoded; `Err` when a segment would leave the
/// folder (`..`, a separator, a drive) or the path is empty.
pub fn safe_relative(rel: &str) -> Result<PathBuf, String> {
    let mut out = PathBuf::new();
    for segment in rel.split('/') {
        if segment.is_empty() {
            continue;
        }
        let decoded = super::percent_decode(segment);
        if decoded == "."
            || decoded == ".."
            || decoded.contains(['/', '\\', '\0', ':'])
            || decoded.starts_with('~')
        {
            return Err(format!(
                "its file name {:?} leads outside the uploads folder; refused",
                rel.chars().take(200).collect::<String>()
            ));
        }
        out.push(decoded);
    }
    if out.as_os_str().is_empty() {
        return Err("it has no file name".into());
    }
    Ok(out)
}

/// The images of one import run.
pub struct Images<'a> {
    state: &'a AppState,
    site: String,
    site_host: String,
    folders: UploadFolders,
    /// The uploads folder, resolved (symbolic links followed), so that every file is checked to be inside it.
    uploads: Option<PathBuf>,
    fetch: bool,
    dry_run: bool,
    failed: HashSet<String>,
    /// Images new to the media library from this run (in a dry run: found under the uploads folder, or to fetch).
    pub imported: u64,
    /// Image references left at the old site's address by this run.
    pub kept: u64,
}

impl<'a> Images<'a> {
    pub fn new(
        state: &'a AppState,
        site: &str,
        folders: UploadFolders,
        sources: &Sources,
        dry_run: bool,
    ) -> Result<Self, ImportError> {
        let uploads = match &sources.uploads {
            Some(dir) => Some(dir.canonicalize().map_err(|e| {
                ImportError::Invalid(format!(
                    "the uploads folder {} cannot be read: {e}",
                    dir.display()
                ))
            })?),
            None => None,
        };
        if let Some(dir) = &uploads
            && !dir.is_dir()
        {
            return Err(ImportError::Invalid(format!(
                "{} is not a folder (give a copy of wp-content/uploads)",
                dir.display()
            )));
        }
        let site_host = super::site_host(site);
        let mut folders = folders;
        folders.0.extend(UploadFolders::for_site(site).0);
        Ok(Self {
            state,
            site: site.to_string(),
            site_host,
            folders,
            uploads,
            fetch: sources.fetch,
            dry_run,
            failed: HashSet::new(),
            imported: 0,
            kept: 0,
        })
    }

    /// Whether any image can be brought in (else every image keeps its old address).
    pub fn has_source(&self) -> bool {
        self.uploads.is_some() || self.fetch
    }

    /// The path under the old uploads folder of an image address of the old site.
    pub fn path_of(&self, url: &str) -> Option<String> {
        self.folders.path_of(url, &self.site_host)
    }

    /// The stored upload for the image at `url`, bringing it in when it is not there yet. `None` when it is not one
    /// of the old site's uploads, or it could not be had (said once in `summary`, as `label: …`). `attached_file` is
    /// the attachment's own path under the folder, for attachments whose address says nothing of it. A dry run
    /// only looks in the uploads folder, and counts what it would bring in.
    pub async fn image(
        &mut self,
        url: &str,
        attached_file: Option<&str>,
        alt: &str,
        label: &str,
        summary: &mut Summary,
    ) -> Result<Option<MediaRow>, ImportError> {
        let Some(rel) = self
            .path_of(url)
            .or_else(|| attached_file.filter(|f| !f.is_empty()).map(str::to_string))
        else {
            self.kept += 1;
            return Ok(None);
        };
        // Known by its own path, or by the original a WordPress size was cut from.
        for known in [Some(rel.clone()), original_of(&rel)].into_iter().flatten() {
            if let Some(id) = imports::media_for(&self.state.db, &self.site, &known).await?
                && let Some(row) = db::media::find(&self.state.db, &id).await?
            {
                if known != rel && !self.dry_run {
                    imports::record_media(&self.state.db, &self.site, &rel, &row.id).await?;
                }
                return Ok(Some(self.describe(row, alt).await?));
            }
        }
        if !self.has_source() || self.failed.contains(&rel) {
            self.kept += 1;
            return Ok(None);
        }
        if self.dry_run {
            self.kept += 1;
            if self.failed.len() < MAX_REMEMBERED_FAILURES && self.failed.insert(rel.clone()) {
                match self.look(&rel, false) {
                    Ok(Some(_)) => self.imported += 1,
                    Ok(None) if self.fetch => self.imported += 1,
                    Ok(None) => summary
                        .skipped
                        .push(format!("{label}: file {rel} not found under --uploads")),
                    Err(why) => summary.skipped.push(format!("{label}: {why}")),
                }
            }
            return Ok(None);
        }
        let (used, bytes) = match self.find(url, &rel).await {
            Ok(found) => found,
            Err(why) => {
                self.fail(rel, format!("{label}: {why}"), summary);
                return Ok(None);
            }
        };
        let name = super::percent_decode(rel.rsplit('/').next().unwrap_or(&rel));
        let row = match self
            .state
            .media
            .upload_new(&self.state.db, &name, bytes)
            .await
        {
            Ok((row, new)) => {
                if new {
                    self.imported += 1;
                }
                row
            }
            Err(UploadError::Refused(why)) => {
                self.fail(rel, format!("{label}: {name}: {why}"), summary);
                return Ok(None);
            }
            Err(UploadError::Db(e)) => return Err(e.into()),
            Err(e) => {
                return Err(ImportError::Invalid(format!(
                    "the image {name} of {label} could not be stored: {e}"
                )));
            }
        };
        imports::record_media(&self.state.db, &self.site, &rel, &row.id).await?;
        if used != rel {
            imports::record_media(&self.state.db, &self.site, &used, &row.id).await?;
        }
        Ok(Some(self.describe(row, alt).await?))
    }

    /// Gives a stored upload the description WordPress had, unless it has one.
    async fn describe(&self, mut row: MediaRow, alt: &str) -> Result<MediaRow, ImportError> {
        let alt = alt.trim();
        if row.alt.is_none() && !alt.is_empty() && !self.dry_run {
            let alt: String = alt.chars().take(1500).collect();
            db::media::set_alt(&self.state.db, &row.id, Some(&alt)).await?;
            row.alt = Some(alt);
        }
        Ok(row)
    }

    fn fail(&mut self, rel: String, line: String, summary: &mut Summary) {
        self.kept += 1;
        summary.skipped.push(line);
        if self.failed.len() < MAX_REMEMBERED_FAILURES {
            self.failed.insert(rel);
        }
    }

    /// Looks for `rel` in the uploads folder: the original of a WordPress size first, then the size itself.
    /// `read`: also read it (else `Some` of nothing says it is there).
    fn look(&self, rel: &str, read: bool) -> Result<Option<(String, Vec<u8>)>, String> {
        let Some(dir) = &self.uploads else {
            return Ok(None);
        };
        for candidate in original_of(rel).into_iter().chain([rel.to_string()]) {
            if let Some(bytes) =
                read_under(dir, &candidate, self.state.media.bounds.max_bytes, read)?
            {
                return Ok(Some((candidate, bytes)));
            }
        }
        Ok(None)
    }

    /// The file's path under the folder and its bytes, from the uploads folder, else fetched from the old site (the
    /// original of a WordPress size first, then the size itself); `Err` says why there are none.
    async fn find(&self, url: &str, rel: &str) -> Result<(String, Vec<u8>), String> {
        safe_relative(rel)?;
        if let Some(found) = self.look(rel, true)? {
            return Ok(found);
        }
        if !self.fetch {
            return Err(format!("file {rel} not found under --uploads"));
        }
        let mut why = format!("{url} could not be fetched");
        for candidate in original_of(rel).into_iter().chain([rel.to_string()]) {
            let Some(address) = self.address_of(url, rel, &candidate) else {
                continue;
            };
            match self
                .state
                .client
                .fetch_image(&address, self.state.media.bounds.max_bytes)
                .await
            {
                Ok(bytes) => return Ok((candidate, bytes)),
                Err(FetchError::TooLarge) => {
                    why = format!("{address} is larger than media.max_upload_bytes");
                }
                Err(e) => why = format!("{address} could not be fetched: {e}"),
            }
        }
        Err(why)
    }

    /// Where to fetch `candidate` (a path under the same folder as `rel`, which `url` is at): over https, or over
    /// the scheme the client allows (plain http in tests on one machine).
    fn address_of(&self, url: &str, rel: &str, candidate: &str) -> Option<String> {
        let at = without_scheme(url, &self.site_host)?;
        let base = at.strip_suffix(rel)?;
        safe_relative(candidate).ok()?;
        Some(format!("{}:{base}{candidate}", self.state.client.scheme()))
    }
}

/// Reads `rel` under `dir` (already resolved), refusing names and links that lead outside it. `Ok(None)`: no such
/// file. Without `read`, `Some` of nothing says that the file is there.
fn read_under(
    dir: &Path,
    rel: &str,
    max_bytes: usize,
    read: bool,
) -> Result<Option<Vec<u8>>, String> {
    let path = dir.join(safe_relative(rel)?);
    let resolved = match path.canonicalize() {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("file {rel} cannot be read: {e}")),
    };
    if !resolved.starts_with(dir) {
        return Err(format!(
            "file {rel} is a link that leads outside the uploads folder; refused"
        ));
    }
    let meta = std::fs::metadata(&resolved).map_err(|e| format!("file {rel}: {e}"))?;
    if !meta.is_file() {
        return Ok(None);
    }
    if meta.len() > u64::try_from(max_bytes).unwrap_or(u64::MAX) {
        return Err(format!(
            "file {rel} is larger than media.max_upload_bytes ({} bytes)",
            meta.len()
        ));
    }
    if !read {
        return Ok(Some(Vec::new()));
    }
    std::fs::read(&resolved)
        .map(Some)
        .map_err(|e| format!("file {rel} cannot be read: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_paths_of_addresses() {
        let mut folders = UploadFolders::for_site("https://Old.example");
        folders.learn(
            "http://files.old.example/blogs.dir/2/files/2011/03/a.jpg",
            "2011/03/a.jpg",
            "old.example",
        );
        let path = |u: &str| folders.path_of(u, "old.example");
        assert_eq!(
            path("https://old.example/wp-content/uploads/2020/05/y.jpg?w=300#x").as_deref(),
            Some("2020/05/y.jpg")
        );
        assert_eq!(
            path("http://OLD.example/wp-content/uploads/2020/05/y.jpg").as_deref(),
            Some("2020/05/y.jpg")
        );
        assert_eq!(
            path("/wp-content/uploads/2020/05/y.jpg").as_deref(),
            Some("2020/05/y.jpg")
        );
        assert_eq!(
            path("https://i2.wp.com/old.example/wp-content/uploads/y.jpg?resize=1").as_deref(),
            Some("y.jpg")
        );
        assert_eq!(
            path("https://files.old.example/blogs.dir/2/files/2011/04/b.png").as_deref(),
            Some("2011/04/b.png")
        );
        assert_eq!(
            path("https://elsewhere.example/wp-content/uploads/y.jpg"),
            None
        );
        assert_eq!(path("data:image/png;base64,xx"), None);
        assert_eq!(path("https://old.example/wp-content/uploads/"), None);
    }

    #[test]
    fn sizes_lead_to_their_originals() {
        assert_eq!(
            original_of("2020/05/yurt-300x200.jpg").as_deref(),
            Some("2020/05/yurt.jpg")
        );
        assert_eq!(original_of("2020/05/yurt.jpg"), None);
        assert_eq!(original_of("2020/05/x-large.jpg"), None);
        assert_eq!(original_of("2020/05/-300x200.jpg"), None);
    }

    #[test]
    fn names_that_leave_the_folder_are_refused() {
        assert!(safe_relative("2020/05/a.jpg").is_ok());
        assert_eq!(
            safe_relative("2020//05/%C3%A9t%C3%A9.jpg").expect("test"),
            PathBuf::from("2020/05/été.jpg")
        );
        for bad in [
            "../secret.jpg",
            "2020/../../secret.jpg",
            "%2e%2e/secret.jpg",
            "..%2fsecret.jpg",
            "a/..%5c..%5csecret.jpg",
            "C:%5cwindows.jpg",
            "",
            "/",
        ] {
            assert!(safe_relative(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn links_out_of_the_folder_are_refused() {
        let root = tempfile::tempdir().expect("test");
        let uploads = root.path().join("uploads");
        std::fs::create_dir_all(uploads.join("2020")).expect("test");
        std::fs::write(root.path().join("secret.jpg"), b"secret").expect("test");
        std::fs::write(uploads.join("2020/a.jpg"), b"a").expect("test");
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.path().join("secret.jpg"), uploads.join("2020/l.jpg"))
            .expect("test");
        let dir = uploads.canonicalize().expect("test");
        assert_eq!(
            read_under(&dir, "2020/a.jpg", 10, true).expect("test"),
            Some(b"a".to_vec())
        );
        assert_eq!(
            read_under(&dir, "2020/none.jpg", 10, true).expect("test"),
            None
        );
        assert!(read_under(&dir, "../secret.jpg", 10, true).is_err());
        #[cfg(unix)]
        assert!(
            read_under(&dir, "2020/l.jpg", 10, true)
                .expect_err("refused")
                .contains("outside")
        );
        assert!(
            read_under(&dir, "2020/a.jpg", 0, true)
                .expect_err("refused")
                .contains("larger")
        );
    }
}
