//! Images in posts, through the admin forms: uploads with and without script, descriptions required to publish, the
//! featured image in link cards and the Article, responsive markup, metadata stripped and orientation applied, bad
//! files refused with the typed text intact and nothing stored, dedup, deletion refused while used, serving headers,
//! commenters' avatars copied to this host, and the S3 store against a real S3-compatible server.

use std::path::Path;

use image::ImageDecoder;
use reqwest::{
    StatusCode,
    multipart::{Form, Part},
};
use serde_json::Value;

use crate::{
    comments::{activity, note, post_with_article, send},
    harness::{TestApp, attrs, csrf_token, exif_with_gps, jpeg, texts, with_icc_profile},
    remote::Remote,
};

const AP: &str = "application/activity+json";

/// The editor's fields as a multipart form, with its CSRF token.
async fn editor_form(app: &TestApp, editor: &str, fields: &[(&str, &str)]) -> Form {
    let token = csrf_token(&app.page(editor).await.1);
    let mut form = Form::new().text("csrf", token);
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    form
}

async fn post_multipart(app: &TestApp, path: &str, form: Form) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

fn file(bytes: Vec<u8>, name: &str) -> Part {
    Part::bytes(bytes).file_name(name.to_string())
}

/// Every file under the media folder (variants and originals).
fn stored_files(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

fn media_dir(app: &TestApp) -> std::path::PathBuf {
    std::path::PathBuf::from(&app.config.media.dir)
}

/// The image ids (`alt_<id>` fields) the editor page lists.
fn image_ids(html: &str) -> Vec<String> {
    attrs(html, ".image-row textarea", "name")
        .into_iter()
        .filter_map(|n| n.strip_prefix("alt_").map(str::to_string))
        .collect()
}

/// The text in the editor's body field.
fn body_text(html: &str) -> String {
    texts(html, "textarea#body").concat()
}

async fn article_of(app: &TestApp, post_path: &str) -> Value {
    let html = app.page(post_path).await.1;
    let article = attrs(
        &html,
        "link[rel=alternate][type=\"application/activity+json\"]",
        "href",
    )
    .pop()
    .expect("the Article link");
    let r = app
        .client
        .get(&article)
        .header("accept", AP)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

#[tokio::test]
async fn an_image_uploaded_in_the_editor_is_described_featured_and_federated() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    // A phone photo: 2000 × 1000 as stored, "rotate 90° clockwise" in its EXIF, and where it was taken.
    // Its colour profile (Display P3 on an iPhone; here any bytes in a profile's place) must survive.
    let profile = b"a colour profile, kept as it is, byte for byte".to_vec();
    let photo = with_icc_profile(&jpeg(2000, 1000, Some(&exif_with_gps(6))), &profile);
    let typed = "Our shelter opened today.\n\nMore soon.";
    let form = editor_form(
        &app,
        "/admin/posts/new",
        &[
            ("title", "Shelter"),
            ("tags", "NGOs"),
            ("body", typed),
            ("action", "upload"),
        ],
    )
    .await
    .part("images", file(photo.clone(), "IMG_0001.jpg"));
    let r = post_multipart(&app, "/admin/posts/new", form).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    // The typed text is intact and the image's Markdown is added after it.
    let body = body_text(&html);
    assert!(body.starts_with(typed), "{body}");
    let ids = image_ids(&html);
    assert_eq!(ids.len(), 1, "{html}");
    let id = ids[0].clone();
    assert!(body.contains(&format!("![](/media/{id}-")), "{body}");
    assert!(texts(&html, ".notice").concat().contains("Describe it"));

    // Publishing without a description is refused, naming the file; the text stays.
    let mut fields = vec![
        ("title", "Shelter"),
        ("tags", "NGOs"),
        ("body", body.as_str()),
    ];
    fields.push(("featured", id.as_str()));
    let form = editor_form(&app, "/admin/posts/new", &fields)
        .await
        .text("action", "publish");
    let r = post_multipart(&app, "/admin/posts/new", form).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        texts(&html, ".errors").concat().contains("IMG_0001.jpg"),
        "{html}"
    );
    assert_eq!(body_text(&html), body);

    // Described, it publishes.
    let alt = "Twelve beds in a bright room";
    let alt_field = format!("alt_{id}");
    fields.push((alt_field.as_str(), alt));
    let form = editor_form(&app, "/admin/posts/new", &fields)
        .await
        .text("action", "publish");
    let r = post_multipart(&app, "/admin/posts/new", form).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );

    // The page: featured image on top, the picture in the text responsive, link-card tags.
    let (status, page) = app.page("/posts/shelter").await;
    assert_eq!(status, StatusCode::OK);
    let og = attrs(&page, "meta[property=\"og:image\"]", "content");
    assert_eq!(og.len(), 1);
    assert!(
        og[0].starts_with(&app.url(&format!("/media/{id}-"))),
        "{og:?}"
    );
    assert_eq!(attrs(&page, "meta[name=\"twitter:image\"]", "content"), og);
    assert_eq!(
        attrs(&page, "meta[property=\"og:image:alt\"]", "content"),
        [alt]
    );
    assert_eq!(attrs(&page, ".featured-image img", "alt"), [alt]);
    let in_text = ".entry-content img";
    assert_eq!(attrs(&page, in_text, "alt"), [alt]);
    let srcset = attrs(&page, in_text, "srcset").concat();
    for w in [" 480w", " 960w", " 1000w"] {
        assert!(srcset.contains(w), "{srcset}");
    }
    // Oriented: the stored picture is 1000 wide and 2000 high.
    assert_eq!(attrs(&page, in_text, "width"), ["1000"]);
    assert_eq!(attrs(&page, in_text, "height"), ["2000"]);
    assert_eq!(attrs(&page, in_text, "sizes").len(), 1);
    assert!(
        !attrs(
            &page,
            ".entry-content picture source[type=\"image/webp\"]",
            "srcset"
        )
        .is_empty()
    );
    // The home page lists the post with its image.
    assert_eq!(
        attrs(&app.page("/").await.1, ".entry-image img", "loading"),
        ["lazy"]
    );

    // The Article: image, and the attachment with what Mastodon keeps.
    let article = article_of(&app, "/posts/shelter").await;
    let image = &article["image"];
    assert_eq!(image["type"], "Image");
    assert_eq!(image["name"], alt);
    let attachment = article["attachment"].as_array().expect("attachment");
    assert_eq!(
        attachment.len(),
        1,
        "the featured image is the text's image: once"
    );
    let a = &attachment[0];
    assert_eq!(a["mediaType"], "image/jpeg");
    assert_eq!(
        (a["width"].as_u64(), a["height"].as_u64()),
        (Some(1000), Some(2000))
    );
    assert_eq!(a["name"], alt);
    assert!(a["blurhash"].as_str().is_some_and(|b| b.len() >= 6));
    let context = article["@context"].to_string();
    assert!(
        context.contains("\"blurhash\":\"toot:blurhash\""),
        "{context}"
    );

    // Every served variant: the right type, no EXIF (no GPS), oriented.
    let mut urls: Vec<String> = srcset
        .split(", ")
        .map(|s| s.split(' ').next().unwrap().to_string())
        .collect();
    urls.extend(
        attrs(&page, ".entry-content source", "srcset")
            .concat()
            .split(", ")
            .map(|s| s.split(' ').next().unwrap().to_string()),
    );
    assert!(urls.len() >= 2);
    for url in &urls {
        let r = app.client.get(url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        assert_eq!(
            r.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let bytes = r.bytes().await.unwrap();
        assert!(!bytes.windows(6).any(|w| w == b"Exif\0\0"), "EXIF in {url}");
        assert!(!bytes.windows(3).any(|w| w == b"GPS"), "GPS in {url}");
        let decoded = image::load_from_memory(&bytes).expect("decodes");
        assert!(decoded.height() > decoded.width(), "oriented: {url}");
        if url.ends_with(".jpg") {
            let mut d =
                image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(&bytes)).unwrap();
            assert_eq!(d.exif_metadata().unwrap(), None);
        }
        // Revalidation costs nothing.
        let again = app
            .client
            .get(url)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }
    // The original is kept but never served, and unknown names are 404 without touching the store.
    assert!(
        stored_files(&media_dir(&app))
            .iter()
            .any(|f| f.contains("originals"))
    );
    for path in [
        format!("/media/originals%2F{id}.jpg"),
        format!("/media/{id}.jpg"),
        format!("/media/{id}-123.jpg"),
        "/media/..%2Fsteppe.db".to_string(),
    ] {
        assert_eq!(
            app.get(&path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    app.finish().await;
}

#[tokio::test]
async fn bad_files_are_refused_with_the_text_intact_and_nothing_stored() {
    let app = TestApp::spawn_with("[media]\nmax_upload_bytes = 200000\n").await;
    app.setup_owner().await;
    let before = stored_files(&media_dir(&app));
    // A PNG of 30,000 × 30,000 pixels (a decompression bomb: 2.7 GB decoded); its header is read and refused
    // before anything is decoded, so its data can be a single row's worth.
    let bomb = png_claiming(30000, 30000);
    let whole = jpeg(640, 480, None);
    let truncated = whole[..whole.len() / 2].to_vec();
    // A JPEG whose header says 4000 × 3000 but that holds no image data.
    let mut lying = whole[..whole.len().min(700)].to_vec();
    if let Some(sof) = lying.windows(2).position(|w| w == [0xFF, 0xC0]) {
        lying[sof + 5..sof + 7].copy_from_slice(&3000u16.to_be_bytes());
        lying[sof + 7..sof + 9].copy_from_slice(&4000u16.to_be_bytes());
    }
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>".to_vec();
    let over = jpeg(1400, 1400, None)
        .into_iter()
        .chain(std::iter::repeat_n(0u8, 200_000))
        .collect();
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (bomb, "bomb.png", "megapixels"),
        (truncated, "cut.jpg", "could not be read"),
        (lying, "lying.jpg", "could not be read"),
        (heic, "IMG_0002.HEIC", "convert it to JPEG"),
        (svg, "drawing.png", "SVG"),
        (Vec::new(), "empty.jpg", "empty"),
        (over, "huge.jpg", "larger than"),
        (
            b"MZ\x90\0 not an image".to_vec(),
            "../../../etc/passwd",
            "not a JPEG",
        ),
    ];
    let typed = "Words I typed and must not lose.";
    for (bytes, name, expected) in cases {
        let form = editor_form(
            &app,
            "/admin/posts/new",
            &[("title", "Kept"), ("body", typed), ("action", "draft")],
        )
        .await
        .part("images", file(bytes, name));
        let r = post_multipart(&app, "/admin/posts/new", form).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        let html = r.text().await.unwrap();
        let errors = texts(&html, ".errors").concat();
        assert!(errors.contains(expected), "{name}: {errors}");
        assert!(!errors.contains("../"), "{errors}");
        assert_eq!(body_text(&html), typed, "{name}");
        assert_eq!(attrs(&html, "input#title", "value"), ["Kept"]);
    }
    assert_eq!(stored_files(&media_dir(&app)), before, "nothing stored");
    let (_, media_page) = app.page("/admin/media").await;
    assert!(
        attrs(&media_page, ".media-item", "id").is_empty(),
        "nothing recorded"
    );
    assert_eq!(
        app.page("/admin").await.1.matches("Kept").count(),
        0,
        "no post saved"
    );

    // A polyglot: a real JPEG with HTML after its end is accepted, and what is served is only the picture.
    let mut polyglot = jpeg(64, 64, None);
    polyglot.extend_from_slice(b"<html><script>alert(document.cookie)</script></html>");
    let form = editor_form(
        &app,
        "/admin/posts/new",
        &[("body", "x"), ("action", "upload")],
    )
    .await
    .part("images", file(polyglot, "../../polyglot.jpg"));
    let html = post_multipart(&app, "/admin/posts/new", form)
        .await
        .text()
        .await
        .unwrap();
    let id = image_ids(&html)
        .pop()
        .expect("the polyglot's picture is accepted");
    assert!(
        texts(&html, ".image-row-name")
            .concat()
            .contains("polyglot.jpg")
    );
    assert!(!texts(&html, ".image-row-name").concat().contains(".."));
    for f in stored_files(&media_dir(&app)) {
        if f.contains(&id) && !f.contains("originals") {
            let bytes = std::fs::read(&f).unwrap();
            assert!(!bytes.windows(7).any(|w| w == b"<script"), "{f}");
        }
    }
    app.finish().await;
}

/// A valid PNG header (IHDR) for `width` × `height` RGB pixels, then an IDAT with one row of zeros (a zlib stream of
/// stored blocks) and IEND: what a decoder reads its dimensions from.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        let mut typed = kind.to_vec();
        typed.extend_from_slice(data);
        out.extend_from_slice(&typed);
        out.extend_from_slice(&crc32(&typed).to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    let row = vec![0u8; 1000];
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend_from_slice(&1000u16.to_le_bytes());
    zlib.extend_from_slice(&(!1000u16).to_le_bytes());
    zlib.extend_from_slice(&row);
    // Adler-32 of 1000 zero bytes: a stays 1, b adds 1 a thousand times.
    zlib.extend_from_slice(&((1000u32 << 16) | 1).to_be_bytes());
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// CRC-32 (PNG chunks), so that the bomb's chunks are valid and only its size is refused.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn the_script_endpoint_dedups_and_deleting_a_used_image_is_refused() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let token = csrf_token(&app.page("/admin/media").await.1);
    let upload = |bytes: Vec<u8>| {
        let form = Form::new()
            .text("csrf", token.clone())
            .part("file", file(bytes, "steppe.jpg"));
        app.client
            .post(app.url("/admin/media/upload"))
            .header("accept", "application/json")
            .multipart(form)
            .send()
    };
    let photo = jpeg(1200, 900, None);
    let first: Value = upload(photo.clone()).await.unwrap().json().await.unwrap();
    let second: Value = upload(photo.clone()).await.unwrap().json().await.unwrap();
    let id = first["images"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        second["images"][0]["id"],
        id.as_str(),
        "the same picture is stored once"
    );
    let markdown = first["images"][0]["markdown"].as_str().unwrap().to_string();
    assert_eq!(markdown, format!("![](/media/{id}-1200.jpg)"));
    let refused = upload(b"<svg/>".to_vec()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused: Value = refused.json().await.unwrap();
    assert!(refused["errors"][0].as_str().unwrap().contains("SVG"));
    // A GIF becomes a still of its first frame.
    let gif: Value = upload(include_bytes!("../fuzz/corpus/image_upload/seed.gif").to_vec())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let gif_md = gif["images"][0]["markdown"].as_str().unwrap();
    assert!(
        gif_md.ends_with("-2.jpg)") || gif_md.ends_with("-2.png)"),
        "{gif}"
    );

    // Described on the media page, then used by a published post.
    let r = app
        .submit(
            "/admin/media",
            &format!("/admin/media/{id}/alt"),
            &[("alt", "The steppe in May")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let editor = app
        .publish("Spring", "", &format!("It is green.\n\n{markdown}"))
        .await;
    let (_, media_page) = app.page("/admin/media").await;
    assert!(
        texts(&media_page, ".media-uses")
            .concat()
            .contains("Spring")
    );
    assert!(
        attrs(&media_page, ".markdown-copy", "value")
            .concat()
            .contains(&id)
    );

    // Deleting it is refused while the post shows it.
    let r = app
        .submit("/admin/media", &format!("/admin/media/{id}/delete"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(
        texts(&r.text().await.unwrap(), ".errors")
            .concat()
            .contains("Spring")
    );
    assert!(
        stored_files(&media_dir(&app))
            .iter()
            .any(|f| f.contains(&id))
    );

    // A new description re-renders the published post and tells followers (an Update is queued).
    let updates_before = count_updates(&app).await;
    let r = app
        .submit(
            "/admin/media",
            &format!("/admin/media/{id}/alt"),
            &[("alt", "Green steppe, May")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        attrs(
            &app.page("/posts/spring").await.1,
            ".entry-content img",
            "alt"
        ),
        ["Green steppe, May"]
    );
    assert_eq!(
        article_of(&app, "/posts/spring").await["attachment"][0]["name"],
        "Green steppe, May"
    );
    assert_eq!(count_updates(&app).await, updates_before + 1);

    // Once the post no longer shows it, it can be deleted, files and all.
    app.save_post(
        &editor,
        &[("title", "Spring"), ("body", "It is green.")],
        "publish",
    )
    .await;
    let r = app
        .submit("/admin/media", &format!("/admin/media/{id}/delete"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        !stored_files(&media_dir(&app))
            .iter()
            .any(|f| f.contains(&id))
    );
    assert_eq!(
        app.get(&format!("/media/{id}-1200.jpg")).await.status(),
        StatusCode::NOT_FOUND
    );
    app.finish().await;
}

/// Activities of kind "edit" queued for followers (the Deliveries page's label for Update).
async fn count_updates(app: &TestApp) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM outbox WHERE kind = 'edit'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn commenters_avatars_are_copied_and_served_from_this_host() {
    let app = TestApp::spawn().await;
    let (path, article) = post_with_article(&app).await;
    let alice = Remote::spawn("alice").await;
    let create = activity(
        &alice,
        "Create",
        "c1",
        note(&alice, "1", &article, "<p>Lovely.</p>"),
    );
    assert_eq!(send(&app, &alice, &create).await, StatusCode::ACCEPTED);
    // The copy is made in the background; the page never points at Alice's server meanwhile.
    let mut avatar = Vec::new();
    for _ in 0..100 {
        let html = app.page(&path).await.1;
        assert!(
            !html.contains(&format!("{}/avatar.png", alice.base)),
            "hot-linked avatar"
        );
        avatar = attrs(&html, ".comment-avatar", "src");
        if !avatar.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(avatar.len(), 1, "the copied avatar shows");
    assert!(avatar[0].starts_with(&app.url("/media/")), "{avatar:?}");
    let r = app.client.get(&avatar[0]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let square = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert_eq!((square.width(), square.height()), (96, 96));
    // Fetched once, however many times the page is shown.
    for _ in 0..3 {
        app.page(&path).await;
    }
    assert_eq!(alice.avatar_fetches(), 1);

    // Alice changes her avatar: her profile's Update points her comments at a new copy.
    let mut profile: Value = alice
        .get_signed(&alice.actor_id())
        .await
        .json()
        .await
        .unwrap();
    profile["icon"]["url"] = Value::String(format!("{}/avatar2.png", alice.base));
    let update = activity(&alice, "Update", "u1", profile);
    assert_eq!(send(&app, &alice, &update).await, StatusCode::ACCEPTED);
    let mut copied = false;
    for _ in 0..100 {
        if alice.avatar_fetches() == 2 {
            let now = attrs(&app.page(&path).await.1, ".comment-avatar", "src");
            if now.len() == 1 && now[0].starts_with(&app.url("/media/")) {
                copied = true;
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(copied, "the new avatar is copied and shown");
    alice.stop().await;
    app.finish().await;
}

/// The S3 path: a `moto` server (PyPI, installed by `.ci/run`) on loopback stands in for the bucket.
#[tokio::test]
async fn images_are_stored_in_an_s3_compatible_bucket() {
    let s3 = crate::s3::S3Server::start().await;
    let app = TestApp::spawn_with(&format!(
        "[media]\nstorage = \"s3\"\n[media.s3]\nbucket = \"{}\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\n\
         access_key_id = \"test\"\nsecret_access_key = \"test\"\n",
        s3.bucket, s3.endpoint
    ))
    .await;
    app.setup_owner().await;
    let before = stored_files(&media_dir(&app));
    let token = csrf_token(&app.page("/admin/media").await.1);
    let form = Form::new()
        .text("csrf", token)
        .part("file", file(jpeg(1000, 500, None), "bucket.jpg"));
    let r = app
        .client
        .post(app.url("/admin/media/upload"))
        .header("accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let answer: Value = r.json().await.unwrap();
    let id = answer["images"][0]["id"].as_str().unwrap().to_string();
    // In the bucket, not on the local disk.
    let keys = s3.keys().await;
    assert!(
        keys.iter().any(|k| k == &format!("{id}-1000.jpg")),
        "{keys:?}"
    );
    assert!(
        keys.iter().any(|k| k == &format!("originals/{id}.jpg")),
        "{keys:?}"
    );
    assert_eq!(stored_files(&media_dir(&app)), before);
    // Served through Steppe from the bucket.
    let r = app.get(&format!("/media/{id}-480.jpg")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let small = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert_eq!((small.width(), small.height()), (480, 240));
    app.finish().await;
}

/// One 12-megapixel photo, and a decompression bomb, uploaded to a spawned binary: resident memory grows by less than
/// three times the photo's decoded size (measured from `/proc`; about 1.6× here, request buffers included; the
/// `image` crate's own resize took it to 3.3×), and the bomb adds nothing.
#[tokio::test]
async fn processing_memory_is_bounded() {
    use crate::{
        exhaustion::{Spawned, memory_kib},
        harness::form_token,
    };
    let server = Spawned::start("").await;
    let base = server.base.clone();
    let owner = server.owner().await;
    let (width, height) = (4000u32, 3000u32);
    let photo = jpeg(width, height, None);
    let upload = |bytes: Vec<u8>, name: &'static str| {
        let owner = owner.clone();
        let base = base.clone();
        async move {
            let token = form_token(&owner, &format!("{base}/admin/media"), &[]).await;
            let form = Form::new()
                .text("csrf", token)
                .part("file", file(bytes, name));
            owner
                .post(format!("{base}/admin/media/upload"))
                .header("accept", "application/json")
                .multipart(form)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let before = memory_kib(server.pid, "VmRSS:");
    assert_eq!(
        upload(png_claiming(30000, 30000), "bomb.png").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let after_bomb = memory_kib(server.pid, "VmHWM:");
    assert_eq!(upload(photo, "photo.jpg").await, StatusCode::OK);
    let peak = memory_kib(server.pid, "VmHWM:");
    let decoded_kib = u64::from(width * height * 3) / 1024;
    eprintln!(
        "upload memory: resident {before} KiB before, peak {after_bomb} KiB after the bomb, {peak} KiB after a \
         {width} × {height} photo ({decoded_kib} KiB decoded)"
    );
    assert!(
        after_bomb <= before + 8 * 1024,
        "the bomb took {after_bomb} KiB from {before} KiB"
    );
    let bound = before + 3 * decoded_kib;
    assert!(
        peak <= bound,
        "peak {peak} KiB from {before} KiB: over {bound} KiB"
    );
}

/// With `media.public_url`, `/media/…` sends browsers to the bucket's public address; other names stay 404.
#[tokio::test]
async fn a_public_bucket_address_is_redirected_to() {
    let app = TestApp::spawn_with("[media]\npublic_url = \"https://media.example.org/\"\n").await;
    let name = "0123456789abcdef0123456789abcdef-480.jpg";
    let r = app.get(&format!("/media/{name}")).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(
        r.headers()["location"],
        format!("https://media.example.org/{name}").as_str()
    );
    assert_eq!(
        app.get("/media/not-a-name.jpg").await.status(),
        StatusCode::NOT_FOUND
    );
    app.finish().await;
}
