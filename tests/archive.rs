//! Export and restore: `steppe export` and `/admin/export` write one zip with a manifest and checksums;
//! `steppe import archive` brings the blog back in a fresh install — on the same address with the same actor, key,
//! Articles, followers, comments, images and owner; on another with its own key, the old actor as an alias and the
//! old Article ids kept. Damaged, changed, newer and Markdown-only archives, and non-empty installs, are refused with
//! nothing written.

use std::{
    io::{Read, Write},
    path::{Path, PathBuf},
};

use reqwest::{
    StatusCode,
    multipart::{Form, Part},
};
use serde_json::Value;

use crate::{
    comments::{activity, note, send},
    fleet::Fleet,
    harness::{OWNER, PASSWORD, TestApp, csrf_token, jpeg, texts},
    remote::Remote,
};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A JSON document of `app`, its base URL written as BASE.
async fn document(app: &TestApp, path: &str) -> String {
    document_of(app, path, app.config.base_url()).await
}

/// Like [`document`], with `original`'s base URL written as BASE too (a restored blog serves addresses stored
/// with the address it had, which in these tests is another port).
async fn document_of(app: &TestApp, path: &str, original: &str) -> String {
    app.activity_json(path)
        .await
        .to_string()
        .replace(app.config.base_url().trim_end_matches('/'), "BASE")
        .replace(original.trim_end_matches('/'), "BASE")
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// A blog with something of everything: posts with tags (one edited), a page, an avatar, a follower, a threaded
/// comment from another server, a like, a block and a changed title.
async fn a_full_blog() -> (TestApp, Remote, Fleet) {
    let app = TestApp::spawn().await;
    let (_, article) = crate::comments::post_with_article(&app).await;
    let editor = app
        .publish("Second post", "Kazakhstan, NGOs", "Words **here**.")
        .await;
    app.save_post(
        &editor,
        &[
            ("title", "Second post"),
            ("tags", "Kazakhstan, NGOs"),
            ("body", "Words **here**, edited."),
        ],
        "publish",
    )
    .await;
    app.save_post(
        "/admin/posts/new?kind=page",
        &[
            ("title", "About"),
            ("body", "About this blog."),
            ("kind", "page"),
        ],
        "publish",
    )
    .await;
    let token = csrf_token(&app.page("/admin/settings").await.1);
    let form = Form::new()
        .text("csrf", token)
        .text("title", "Steppe notes")
        .part(
            "avatar_file",
            Part::bytes(jpeg(300, 200, None)).file_name("me.jpg"),
        );
    let r = app
        .client
        .post(app.url("/admin/settings"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let fleet = Fleet::spawn(1).await;
    fleet.follow(&app.db, 2, true).await;
    let remote = Remote::spawn("reader").await;
    let first = note(&remote, "1", &article, "<p>First!</p>");
    assert_eq!(
        send(&app, &remote, &activity(&remote, "Create", "c1", first)).await,
        StatusCode::ACCEPTED
    );
    let answer = note(
        &remote,
        "2",
        &remote.note_id("1"),
        "<p>Answering myself.</p>",
    );
    assert_eq!(
        send(&app, &remote, &activity(&remote, "Create", "c2", answer)).await,
        StatusCode::ACCEPTED
    );
    let like = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/likes/1", remote.base), "type": "Like",
        "actor": remote.actor_id(), "object": article,
    });
    assert_eq!(send(&app, &remote, &like).await, StatusCode::ACCEPTED);
    let r = app
        .submit(
            "/admin/blocks",
            "/admin/blocks",
            &[("value", "spam.example")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    (app, remote, fleet)
}

fn entries(path: &Path) -> Vec<String> {
    let zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    zip.file_names().map(|n| n.unwrap().to_string()).collect()
}

fn entry(path: &Path, name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut text = String::new();
    zip.by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// A fresh install to restore into (started, so it has made its own key, then stopped while restoring).
async fn fresh() -> TestApp {
    TestApp::spawn().await
}

fn export(app: &TestApp, dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let output = dir.join(name);
    let mut args = vec!["export", "--output", output.to_str().unwrap()];
    args.extend_from_slice(extra);
    let done = app.cli(dir, None, &args);
    assert!(done.status.success(), "{done:?}");
    assert!(
        stdout(&done).contains("archive written to"),
        "{}",
        stdout(&done)
    );
    output
}

fn restore(
    into: &TestApp,
    dir: &Path,
    archive: &Path,
    public_url: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec!["import", "archive", archive.to_str().unwrap()];
    args.extend_from_slice(extra);
    into.cli(dir, Some(public_url), &args)
}

#[tokio::test]
async fn an_archive_restores_the_same_blog_at_the_same_address() {
    let (app, remote, _fleet) = a_full_blog().await;
    let dir = tempfile::tempdir().unwrap();
    let archive = export(&app, dir.path(), "blog.zip", &[]);

    // What is in it: the manifest first, the checksums last, the posts as Markdown, the images, the rows.
    let names = entries(&archive);
    assert_eq!(names.first().map(String::as_str), Some("manifest.json"));
    assert_eq!(names.last().map(String::as_str), Some("checksums.json"));
    let manifest: Value = serde_json::from_str(&entry(&archive, "manifest.json")).unwrap();
    assert_eq!(manifest["format"], "steppe-archive");
    assert_eq!(manifest["contains_secrets"], true);
    assert!(
        manifest["secret_files"]
            .as_array()
            .unwrap()
            .contains(&Value::from("data/actor_keys.jsonl"))
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("media/") && n.ends_with(".jpg")),
        "{names:?}"
    );
    let second = names
        .iter()
        .find(|n| n.starts_with("posts/") && n.ends_with("-second-post.md"))
        .expect("the post as Markdown");
    let markdown = entry(&archive, second);
    assert!(
        markdown.starts_with("---\ntitle: \"Second post\"\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains("tags: [\"Kazakhstan\", \"NGOs\"]"),
        "{markdown}"
    );
    assert!(
        markdown.ends_with("---\n\nWords **here**, edited.\n"),
        "{markdown}"
    );
    assert!(names.contains(&"pages/about.md".to_string()), "{names:?}");
    assert!(entry(&archive, "data/comments.jsonl").contains(&remote.note_id("2")));

    // Restored into a fresh install told it is at the same address.
    let mut restored = fresh().await;
    let same = app.config.base_url().trim_end_matches('/').to_string();
    let done = restore(&restored, dir.path(), &archive, &same, &[]);
    assert!(done.status.success(), "{done:?}");
    assert!(stdout(&done).contains("same address"), "{}", stdout(&done));
    restored.restart().await;

    // Followers notice nothing: the actor (its key), the Articles and the collections are the same documents.
    let original = app.config.base_url().to_string();
    assert_eq!(
        document_of(&restored, "/users/blog", &original).await,
        document(&app, "/users/blog").await
    );
    assert_eq!(
        document(&restored, "/users/blog/followers").await,
        document(&app, "/users/blog/followers").await
    );
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT article_id FROM posts WHERE status = 'published' ORDER BY id")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(ids.len(), 3);
    for id in &ids {
        for path in [format!("/articles/{id}"), format!("/articles/{id}/replies")] {
            assert_eq!(
                document(&restored, &path).await,
                document(&app, &path).await,
                "{path}"
            );
        }
    }
    // The same pages: the post with its threaded comments and like, the page, the avatar's bytes.
    for path in [
        "/posts/comments-welcome",
        "/posts/second-post",
        "/about",
        "/tags/ngos",
    ] {
        let (status, html) = restored.page(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let (_, original) = app.page(path).await;
        let host = |a: &TestApp| {
            a.config
                .base_url()
                .trim_start_matches("http://")
                .to_string()
        };
        let shown =
            |html: &str, a: &TestApp| texts(html, "main").concat().replace(&host(a), "HOST");
        assert_eq!(shown(&html, &restored), shown(&original, &app), "{path}");
    }
    let avatar: Value = serde_json::from_str(&document(&app, "/users/blog").await).unwrap();
    let avatar = avatar["icon"]["url"].as_str().unwrap().replace("BASE", "");
    let bytes = |a: &TestApp, p: String| {
        let url = a.url(&p);
        let client = a.client.clone();
        async move { client.get(url).send().await.unwrap().bytes().await.unwrap() }
    };
    assert_eq!(
        bytes(&restored, avatar.clone()).await,
        bytes(&app, avatar).await
    );
    for table in [
        "comments",
        "reactions",
        "followers",
        "blocks",
        "post_revisions",
        "post_tags",
    ] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        assert_eq!(
            count(&restored, &sql).await,
            count(&app, &sql).await,
            "{table}"
        );
    }
    // The owner logs in with the same password; search finds the restored posts.
    let r = restored
        .submit(
            "/admin",
            "/admin/login",
            &[("username", OWNER), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, found) = restored.page("/search?q=edited").await;
    assert!(found.contains("Second post"), "{found}");

    // Restoring again into an install that now holds the blog: refused; with --merge, nothing is added twice.
    let again = restore(&restored, dir.path(), &archive, &same, &[]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already holds a blog"),
        "{}",
        stderr(&again)
    );
    let merged = restore(&restored, dir.path(), &archive, &same, &["--merge"]);
    assert!(merged.status.success(), "{merged:?}");
    assert!(
        stdout(&merged).contains("restored 0 rows"),
        "{}",
        stdout(&merged)
    );
    assert_eq!(
        count(&restored, "SELECT COUNT(*) FROM posts").await,
        count(&app, "SELECT COUNT(*) FROM posts").await
    );
    restored.finish().await;
    app.finish().await;
}

#[tokio::test]
async fn an_archive_restored_at_another_address_is_ready_for_a_move() {
    let (app, _remote, _fleet) = a_full_blog().await;
    let dir = tempfile::tempdir().unwrap();
    let archive = export(&app, dir.path(), "blog.zip", &[]);
    let mut restored = fresh().await;
    let own_key = document(&restored, "/users/blog").await;
    let elsewhere = "https://new.example";
    let done = restore(&restored, dir.path(), &archive, elsewhere, &[]);
    assert!(done.status.success(), "{done:?}");
    let out = stdout(&done);
    assert!(out.contains("new address"), "{out}");
    assert!(out.contains("left out: followers"), "{out}");
    restored.restart().await;

    let actor: Value = serde_json::from_str(&document(&restored, "/users/blog").await).unwrap();
    let own: Value = serde_json::from_str(&own_key).unwrap();
    assert_eq!(
        actor["publicKey"]["publicKeyPem"], own["publicKey"]["publicKeyPem"],
        "its own key"
    );
    assert_eq!(
        actor["alsoKnownAs"],
        serde_json::json!([app.url("/users/blog")])
    );
    assert_eq!(count(&restored, "SELECT COUNT(*) FROM followers").await, 0);
    assert_eq!(
        count(&restored, "SELECT COUNT(*) FROM posts").await,
        count(&app, "SELECT COUNT(*) FROM posts").await
    );
    // The old Article ids are old addresses of the posts (replies and likes aimed at them land).
    let old: Vec<String> =
        sqlx::query_scalar("SELECT article_id FROM posts WHERE status = 'published'")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    for id in old {
        let address = app.url(&format!("/articles/{id}"));
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM old_addresses WHERE address = $1")
            .bind(&address)
            .fetch_one(&restored.db.pool)
            .await
            .unwrap();
        assert_eq!(n, 1, "{address}");
    }
    let r = restored
        .submit(
            "/admin",
            "/admin/login",
            &[("username", OWNER), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, notes) = restored.page("/admin/notifications").await;
    assert!(notes.contains("Move this blog"), "{notes}");
    let (status, html) = restored.page("/posts/second-post").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("edited"));
    restored.finish().await;
    app.finish().await;
}

/// Rewrites the zip at `from` into `to`, passing each entry through `change` (`None` leaves it out).
fn rewrite(from: &Path, to: &Path, change: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    for i in 0..zip.len() {
        let mut e = zip.by_index(i).unwrap();
        let name = e.name().unwrap().to_string();
        let mut bytes = Vec::new();
        e.read_to_end(&mut bytes).unwrap();
        if let Some(bytes) = change(&name, bytes) {
            out.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
                .unwrap();
            out.write_all(&bytes).unwrap();
        }
    }
    out.finish().unwrap();
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn damaged_changed_newer_and_posts_only_archives_are_refused_with_nothing_written() {
    let (app, _remote, _fleet) = a_full_blog().await;
    let dir = tempfile::tempdir().unwrap();
    let archive = export(&app, dir.path(), "blog.zip", &[]);
    let posts_only = export(&app, dir.path(), "posts.zip", &["--posts-only"]);
    assert!(!entries(&posts_only).iter().any(|n| n.starts_with("data/")));

    let bytes = std::fs::read(&archive).unwrap();
    let truncated = dir.path().join("truncated.zip");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let changed = dir.path().join("changed.zip");
    rewrite(&archive, &changed, |name, bytes| {
        Some(if name == "data/posts.jsonl" {
            String::from_utf8(bytes)
                .unwrap()
                .replace("Second post", "Forged post")
                .into_bytes()
        } else {
            bytes
        })
    });
    let missing = dir.path().join("missing.zip");
    rewrite(&archive, &missing, |name, bytes| {
        (name != "data/comments.jsonl").then_some(bytes)
    });
    // A newer format, with its checksum made to match: refused for what it is.
    let newer = dir.path().join("newer.zip");
    let manifest = entry(&archive, "manifest.json").replace("\"version\": 1", "\"version\": 99");
    rewrite(&archive, &newer, |name, bytes| match name {
        "manifest.json" => Some(manifest.clone().into_bytes()),
        "checksums.json" => {
            let mut sums: Value = serde_json::from_slice(&bytes).unwrap();
            sums["files"]["manifest.json"] = serde_json::json!({
                "sha256": sha256(manifest.as_bytes()), "bytes": manifest.len()
            });
            Some(sums.to_string().into_bytes())
        }
        _ => Some(bytes),
    });
    let not_zip = dir.path().join("notes.zip");
    std::fs::write(&not_zip, "just some text").unwrap();

    let target = fresh().await;
    let same = app.config.base_url().trim_end_matches('/').to_string();
    for (file, expected) in [
        (&truncated, "not a whole zip archive"),
        (&not_zip, "not a whole zip archive"),
        (&changed, "data/posts.jsonl does not match its checksum"),
        (&missing, "data/comments.jsonl is missing"),
        (&newer, "made by a newer Steppe"),
        (&posts_only, "holds only posts as Markdown"),
    ] {
        let done = restore(&target, dir.path(), file, &same, &[]);
        assert!(!done.status.success(), "{}", file.display());
        assert!(
            stderr(&done).contains(expected),
            "{}: {}",
            file.display(),
            stderr(&done)
        );
        for table in ["posts", "comments", "followers", "media", "users"] {
            assert_eq!(
                count(&target, &format!("SELECT COUNT(*) FROM {table}")).await,
                0,
                "{table} after {}",
                file.display()
            );
        }
    }
    // An existing output file is never overwritten.
    let output = archive.to_str().unwrap();
    let again = app.cli(dir.path(), None, &["export", "--output", output]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("exists already"));
    target.finish().await;
    app.finish().await;
}

#[tokio::test]
async fn the_export_page_downloads_posts_freely_and_the_archive_after_the_password() {
    let (app, _remote, _fleet) = a_full_blog().await;
    let (status, page) = app.page("/admin/export").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Secret"), "{page}");

    let r = app.get("/admin/export/posts.zip").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"posts-")
    );
    let dir = tempfile::tempdir().unwrap();
    let posts = dir.path().join("posts.zip");
    std::fs::write(&posts, r.bytes().await.unwrap()).unwrap();
    let names = entries(&posts);
    assert!(
        names.iter().any(|n| n.ends_with("-second-post.md")),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.starts_with("data/")), "{names:?}");

    let r = app
        .submit(
            "/admin/export",
            "/admin/export/archive",
            &[("password", "not it")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("The password is not right.")
    );
    let r = app
        .submit(
            "/admin/export",
            "/admin/export/archive",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let full = dir.path().join("full.zip");
    std::fs::write(&full, r.bytes().await.unwrap()).unwrap();
    let names = entries(&full);
    assert!(names.contains(&"data/actor_keys.jsonl".to_string()));
    assert_eq!(names.last().map(String::as_str), Some("checksums.json"));

    // What the browser saved restores like the command's archive.
    let restored = fresh().await;
    let same = app.config.base_url().trim_end_matches('/').to_string();
    let done = restore(&restored, dir.path(), &full, &same, &[]);
    assert!(done.status.success(), "{done:?}");
    assert_eq!(
        count(&restored, "SELECT COUNT(*) FROM comments").await,
        count(&app, "SELECT COUNT(*) FROM comments").await
    );
    // Not for strangers.
    let stranger = reqwest::Client::new();
    let r = stranger
        .get(app.url("/admin/export/posts.zip"))
        .send()
        .await
        .unwrap();
    assert_ne!(r.headers()["content-type"], "application/zip");
    assert!(r.text().await.unwrap().contains("Log in"));
    restored.finish().await;
    app.finish().await;
}

/// An archive carries values, not an engine's storage: one written on the run's database (PostgreSQL when
/// STEPPE_TEST_DATABASE_URL says so) restores into SQLite, the default install.
#[tokio::test]
async fn an_archive_from_either_engine_restores_into_sqlite() {
    let (app, _remote, _fleet) = a_full_blog().await;
    let dir = tempfile::tempdir().unwrap();
    let archive = export(&app, dir.path(), "blog.zip", &[]);
    let sqlite = format!("sqlite:{}", dir.path().join("restored.db").display());
    let mut restored = TestApp::spawn_on(&sqlite, None).await;
    let same = app.config.base_url().to_string();
    let done = restore(&restored, dir.path(), &archive, &same, &[]);
    assert!(done.status.success(), "{done:?}");
    restored.restart().await;
    for table in [
        "posts",
        "comments",
        "reactions",
        "followers",
        "post_revisions",
        "media",
        "users",
    ] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        assert_eq!(
            count(&restored, &sql).await,
            count(&app, &sql).await,
            "{table}"
        );
    }
    let original = app.config.base_url().to_string();
    assert_eq!(
        document_of(&restored, "/users/blog", &original).await,
        document(&app, "/users/blog").await
    );
    restored.finish().await;
    app.finish().await;
}

/// The archive streams: exporting a media library of 240 MiB through the download raises the server's peak memory
/// (VmHWM of the spawned binary) by far less than the media (measured: about 41 MiB, the same for 480 MiB: buffers
/// and the allocator's arenas, not the files).
#[tokio::test]
async fn exporting_a_large_media_library_takes_little_memory() {
    use crate::{
        exhaustion::{Spawned, memory_kib},
        harness::{form_token, post_form},
    };
    let server = Spawned::start("").await;
    let base = server.base.clone();
    let owner = server.owner().await;
    // Sixty images of 4 MiB each, as the media library records them (the export copies bytes, it decodes nothing).
    const FILES: usize = 60;
    const SIZE: usize = 4 * 1024 * 1024;
    let db = steppe::db::Db::connect(&server.db_url, 1).await.unwrap();
    std::fs::create_dir_all(&server.media_dir).unwrap();
    let mut bytes = vec![0u8; SIZE];
    for n in 0..FILES {
        let id = format!("{:032x}", n + 1);
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i.wrapping_mul(31).wrapping_add(n * 7) % 251) as u8;
        }
        std::fs::write(server.media_dir.join(format!("{id}-1600.jpg")), &bytes).unwrap();
        sqlx::query(
            "INSERT INTO media (id, original_name, original_type, original_bytes, width, height, blurhash, alt, \
             variants, created_at) VALUES ($1, 'photo.jpg', 'image/jpeg', $2, 1600, 1200, '', NULL, $3, 1)",
        )
        .bind(&id)
        .bind(SIZE as i64)
        .bind(format!(r#"[{{"width":1600,"height":1200,"format":"jpeg","bytes":{SIZE}}}]"#))
        .execute(&db.pool)
        .await
        .unwrap();
    }
    let before = memory_kib(server.pid, "VmRSS:");
    let token = form_token(&owner, &format!("{base}/admin/export"), &[]).await;
    let mut r = post_form(
        &owner,
        &format!("{base}/admin/export/archive"),
        &[],
        &[("csrf", &token), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut received: usize = 0;
    while let Some(chunk) = r.chunk().await.unwrap() {
        received += chunk.len();
    }
    let peak = memory_kib(server.pid, "VmHWM:");
    let media_kib = (FILES * SIZE / 1024) as u64;
    eprintln!(
        "export memory: resident {before} KiB before, peak {peak} KiB after streaming {received} bytes \
         ({media_kib} KiB of media)"
    );
    assert!(received > FILES * SIZE, "{received} bytes");
    assert!(
        peak <= before + 64 * 1024,
        "peak {peak} KiB from {before} KiB while exporting {media_kib} KiB"
    );
}
