//! `steppe import wxr`: the seed export and a richer one imported into a running blog (counts, dates, tags,
//! rendering, every old address, comment threads, a federated comment later edited by its author, replies to an old
//! ActivityPub id), a second run that changes nothing, an interrupted run resumed, no delivery without --announce,
//! bad files refused with a clear error, and the command line's summary.

use std::process::Stdio;

use reqwest::StatusCode;
use serde_json::json;

use crate::{
    comments::{activity, note, send},
    harness::{TestApp, attrs, exif_with_gps, jpeg, texts},
    remote::Remote,
};
use steppe::import::{self, Options, Quiet, Summary, media::Sources};

const SEED: &str = include_str!("fixtures/seed-blog.wxr.xml");
const RICH: &str = include_str!("fixtures/rich-blog.wxr.xml");

/// Imports `text` into `app`'s database the way the command line does (its own process state on the same
/// database), then makes the running server's cached pages stale.
async fn import_text(app: &TestApp, text: &str, options: &Options) -> Result<Summary, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.xml");
    std::fs::write(&path, text).unwrap();
    let mut config = app.config.clone();
    config.delivery.workers = 0;
    let state = steppe::app::AppState::new(config).await.unwrap();
    let result = import::run(&state, &path, options, &Quiet).await;
    app.db.bump_content_version();
    result.map_err(|e| e.to_string())
}

fn rich_for(remote: &Remote) -> String {
    let host = remote.base.trim_start_matches("http://").to_string();
    RICH.replace("{NOTE}", &remote.note_id("77"))
        .replace("{REMOTE_HOST}", &host)
        .replace("{REMOTE}", &remote.base)
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

async fn location(app: &TestApp, path: &str) -> (StatusCode, String) {
    let r = app.get(path).await;
    let status = r.status();
    let to = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, to)
}

#[tokio::test]
async fn the_seed_blog_moves_in_with_its_tags_dates_and_comment() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let summary = import_text(&app, SEED, &Options::default()).await.unwrap();
    assert_eq!(
        (summary.posts, summary.pages, summary.drafts),
        (2, 0, 0),
        "{summary:?}"
    );
    assert_eq!(summary.comments, 1);
    assert_eq!(
        summary.tags, 3,
        "NGOs, human trafficking, Kazakhstan: {summary:?}"
    );
    assert_eq!(summary.site, "https://kazakhstan-abolitionist.example");

    let (status, html) = app.page("/tags/ngos").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("A Kazakh’s View of Human Trafficking in Kazakhstan"));
    assert!(html.contains("From a Discouraged Abolitionist in Kazakhstan"));

    let (status, html) = app
        .page("/posts/a-kazakhs-view-of-human-trafficking-in-kazakhstan")
        .await;
    assert_eq!(status, StatusCode::OK);
    // The text as written: backtick apostrophes, curly quotes, non-breaking spaces; paragraphs as WordPress made them.
    assert!(html.contains("I don`t blame world NGOs"), "backticks kept");
    assert!(html.contains("“I hope that those responsible"));
    assert!(html.contains("<p>You never know where curiosity may take you."));
    assert!(
        html.contains("2011-03-02T09:14:00"),
        "the original date: {html}"
    );
    let (_, html) = app
        .page("/posts/from-a-discouraged-abolitionist-in-kazakhstan")
        .await;
    assert!(html.contains("Prevention and education matter more than statistics."));
    assert!(html.contains("Reader One"));

    // Old addresses.
    for (old, new) in [
        (
            "/2011/03/a-kazakhs-view-of-human-trafficking-in-kazakhstan/",
            "/posts/a-kazakhs-view-of-human-trafficking-in-kazakhstan",
        ),
        (
            "/?p=102",
            "/posts/from-a-discouraged-abolitionist-in-kazakhstan",
        ),
        ("/tag/ngos/", "/tags/ngos"),
        ("/category/kazakhstan/", "/tags/kazakhstan"),
    ] {
        assert_eq!(
            location(&app, old).await,
            (StatusCode::MOVED_PERMANENTLY, new.to_string()),
            "{old}"
        );
    }
    // The month archive is the blog's own page at WordPress's address.
    assert_eq!(app.page("/2011/03/").await.0, StatusCode::OK);
    // Search finds imported posts (their entries are written at the end of the run), each once.
    let (_, html) = app.page("/search?q=statistics").await;
    assert!(
        html.contains("/posts/from-a-discouraged-abolitionist-in-kazakhstan"),
        "not found by search"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM post_search").await, 2);
    app.finish().await;
}

#[tokio::test]
async fn a_rich_export_imports_whole_and_old_addresses_lead_to_it() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    // A Steppe post already has the slug "hello".
    app.publish("Hello", "", "Steppe's own hello.").await;
    let alice = Remote::spawn("alice").await;
    let export = rich_for(&alice);
    let queued = count(&app, "SELECT COUNT(*) FROM outbox").await;
    let options = Options {
        zone: steppe::domain::dates::Zone::named("Asia/Almaty").unwrap(),
        ..Options::default()
    };
    let summary = import_text(&app, &export, &options).await.unwrap();
    assert_eq!(
        (
            summary.posts,
            summary.pages,
            summary.drafts,
            summary.scheduled
        ),
        (3, 1, 3, 1),
        "{summary:#?}"
    );
    assert_eq!(
        (summary.comments, summary.federated_comments),
        (4, 1),
        "{summary:#?}"
    );
    let lines = summary.lines().join("\n");
    for expected in [
        "post 16: in the trash",
        "post 18: its date",
        "post 31: an auto-draft",
        "comment 104 on post 10: spam",
        "comment 105 on post 10: not approved",
        "1 pingbacks and trackbacks",
        "post 17: password-protected",
        "post 15: private on WordPress",
        "comment 103 on post 10: its parent 999 is not in the export",
        "the slug hello is taken; imported as hello-2",
        "[unknown_plugin_widget] in 1",
        "1 sticky posts",
        "read in Asia/Almaty",
    ] {
        assert!(lines.contains(expected), "{expected:?} not in\n{lines}");
    }
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM outbox").await,
        queued,
        "nothing sent without --announce"
    );

    // The classic post: paragraphs, line breaks, the caption, the gallery, the split CDATA, the <pre>.
    let (status, html) = app.page("/posts/classic-post").await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "<p>First line<br>\nsecond line of the first paragraph, I don`t mind.</p>",
        "“curly quotes”",
        "<figcaption>The yurt at dusk</figcaption>",
        "alt=\"A felt yurt\"",
        "A literal end of CDATA: ]]&gt; kept.",
        "[unknown_plugin_widget size=\"big\"]",
        "<pre>code line 1\n\ncode line 3</pre>",
        "2020-05-14T04:30:00",
    ] {
        assert!(html.contains(expected), "{expected:?} not in the page");
    }
    assert!(!html.contains("<!--more"));
    // Categories and tags with one slug are one tag; "Uncategorized" is not a tag.
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM tags WHERE slug = 'kazakhstan'").await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM tags WHERE slug = 'uncategorized'"
        )
        .await,
        0
    );
    let (_, tag) = app.page("/tags/ngos").await;
    assert!(tag.contains("Its Paragraphs") && tag.contains("Blocks and Dangers"));
    // The excerpt on lists is the text before <!--more-->.
    let (_, home) = app.page("/").await;
    assert!(
        home.contains("Second paragraph with"),
        "more excerpt on the home page"
    );
    assert!(
        !home.contains("Private Thoughts")
            && !home.contains("Members Only")
            && !home.contains("From the Future")
    );

    // Comments, threaded; spam, unapproved and pingbacks left out; text sanitised.
    let names = texts(&html, ".comment-name");
    assert_eq!(names, ["Nadia", "Aigerim", "Orphan", "Alice"], "{names:?}");
    assert_eq!(
        attrs(&html, "li.comment.depth-1", "id").len(),
        1,
        "Aigerim's reply is threaded"
    );
    assert!(
        !html.contains("alert(1)") && !html.contains("Cheap Pills") && !html.contains("pingback")
    );
    assert!(html.contains("Greetings from the fediverse"));
    // A comment with HTML in it keeps its paragraphs, as WordPress showed them.
    assert!(html.contains("<p>First comment.</p>"), "comment paragraphs");
    assert!(html.contains("Second paragraph."));
    assert!(
        attrs(&html, "a.comment-author", "href").contains(&"https://nadia.example/".to_string())
    );

    // Hostile block markup is sanitised, the blocks unwrapped.
    let (_, blocks) = app.page("/posts/blocks").await;
    assert!(
        blocks.contains("<h2>A heading</h2>") || blocks.contains("<h2 class"),
        "{blocks}"
    );
    for bad in [
        "alert(",
        "<iframe",
        "onclick",
        "javascript:",
        "wp:paragraph",
    ] {
        assert!(!blocks.contains(bad), "{bad} on the page");
    }
    // The page is a page, in the navigation.
    let (status, about) = app.page("/about").await;
    assert_eq!(status, StatusCode::OK);
    assert!(about.contains("I write about the steppe."));

    // Every old address form.
    for (old, new) in [
        ("/2020/05/classic-post/", "/posts/classic-post"),
        ("/2020/05/classic-post", "/posts/classic-post"),
        ("/2020/05/14/classic-post/", "/posts/classic-post"),
        ("/classic-post/", "/posts/classic-post"),
        ("/classic-post", "/posts/classic-post"),
        ("/2020/05/classic-post/feed/", "/posts/classic-post"),
        ("/?p=10", "/posts/classic-post"),
        ("/?page_id=12", "/about"),
        ("/about/", "/about"),
        ("/2020/06/hello/", "/posts/hello-2"),
        ("/tag/ngos/", "/tags/ngos"),
        ("/tag/ngos/feed/", "/tags/ngos/feed.xml"),
        ("/category/kazakhstan/", "/tags/kazakhstan"),
        ("/feed/", "/feed.rss"),
        ("/comments/feed/", "/feed.xml"),
        ("/author/aigerim/", "/"),
    ] {
        assert_eq!(
            location(&app, old).await,
            (StatusCode::MOVED_PERMANENTLY, new.to_string()),
            "{old}"
        );
    }
    // Drafts' old addresses do not reveal them; unknown ones are 404.
    assert_eq!(app.get("/?p=15").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/nothing-here/").await.status(),
        StatusCode::NOT_FOUND
    );
    // ActivityPub clients asking for an old id are sent to the Article.
    let r = app
        .client
        .get(app.url("/?p=10"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let article = r.headers()["location"].to_str().unwrap().to_string();
    assert!(article.contains("/articles/"), "{article}");

    // A reply from the fediverse to the post's old (WordPress-AP) id lands on the imported post.
    let reply = note(
        &alice,
        "78",
        "https://old.example/?p=10",
        "<p>Replying to the old id</p>",
    );
    assert_eq!(
        send(&app, &alice, &activity(&alice, "Create", "c78", reply)).await,
        StatusCode::ACCEPTED
    );
    // A like of the old permalink counts on the post.
    send(
        &app,
        &alice,
        &activity(
            &alice,
            "Like",
            "l1",
            json!("https://old.example/2020/05/classic-post/"),
        ),
    )
    .await;
    // The federated comment, edited by its author: its server confirms the Note is theirs.
    let mut edited = note(
        &alice,
        "77",
        "https://old.example/?p=10",
        "<p>Greetings, edited</p>",
    );
    edited["updated"] = json!("2026-11-02T10:00:00Z");
    alice.host_note(&edited);
    assert_eq!(
        send(&app, &alice, &activity(&alice, "Update", "u77", edited)).await,
        StatusCode::ACCEPTED
    );
    app.db.bump_content_version();
    let (_, html) = app.page("/posts/classic-post").await;
    assert!(
        html.contains("Replying to the old id"),
        "reply to the old id shown"
    );
    assert!(html.contains("Greetings, edited"), "edit applied");
    assert!(!html.contains("Greetings from the fediverse"));
    assert_eq!(texts(&html, ".reactions"), ["1 like"]);

    // A second run changes nothing.
    let posts = count(&app, "SELECT COUNT(*) FROM posts").await;
    let comments = count(&app, "SELECT COUNT(*) FROM comments").await;
    let again = import_text(&app, &export, &options).await.unwrap();
    assert_eq!(
        (again.posts, again.pages, again.drafts, again.updated),
        (0, 0, 0, 0),
        "{again:#?}"
    );
    assert_eq!(again.unchanged, 8);
    assert_eq!(again.comments, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM posts").await, posts);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM comments").await, comments);
    // The federated comment keeps its author's edit.
    let (_, html) = app.page("/posts/classic-post").await;
    assert!(html.contains("Greetings, edited"));

    // A newer export updates what changed.
    let newer = export.replace(
        "I write about the steppe.",
        "I write about the steppe and its people.",
    );
    let updated = import_text(&app, &newer, &options).await.unwrap();
    assert_eq!(updated.updated, 1, "{updated:#?}");
    assert!(app.page("/about").await.1.contains("and its people"));
    alice.stop().await;
    app.finish().await;
}

/// Stops the import after `n` items, as a killed process would (between two posts' transactions).
struct StopAfter(std::sync::atomic::AtomicUsize);

impl import::Progress for StopAfter {
    fn start(&self, _: u64) {}
    fn advance(&self, _: u64, _: &str) -> bool {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) > 1
    }
    fn finish(&self) {}
}

#[tokio::test]
async fn an_interrupted_import_leaves_whole_posts_and_a_rerun_completes_it() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let alice = Remote::spawn("alice").await;
    let export = rich_for(&alice);
    // A file cut short is refused before anything is stored (the first pass reads it whole).
    let cut = export.find("<title>Blocks and Dangers</title>").unwrap() + 40;
    let err = import_text(&app, &export[..cut], &Options::default())
        .await
        .unwrap_err();
    assert!(err.contains("truncated"), "{err}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM posts").await, 0);

    // Stopped after the attachment and the first post: that post is there with all its comments.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.xml");
    std::fs::write(&path, &export).unwrap();
    let mut config = app.config.clone();
    config.delivery.workers = 0;
    let state = steppe::app::AppState::new(config).await.unwrap();
    let stop = StopAfter(std::sync::atomic::AtomicUsize::new(2));
    let err = import::run(&state, &path, &Options::default(), &stop)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("run the import again"), "{err}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM posts").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM comments").await, 4);
    let resumed = import::run(&state, &path, &Options::default(), &Quiet)
        .await
        .unwrap();
    assert_eq!((resumed.posts, resumed.unchanged), (2, 1), "{resumed:#?}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM posts").await, 8);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM comments").await, 4);
    alice.stop().await;
    app.finish().await;
}

/// Opens post `id` in the editor and saves it unchanged, sending every field as a browser would (checked boxes
/// and radios only, no files): the source the editor showed, and the stored HTML after.
async fn save_unchanged(app: &TestApp, id: &str) -> (String, String) {
    let editor = format!("/admin/posts/{id}/edit");
    let (status, html) = app.page(&editor).await;
    assert_eq!(status, StatusCode::OK);
    let document = scraper::Html::parse_document(&html);
    let fields_sel =
        scraper::Selector::parse("form#editor-form input[name], form#editor-form textarea[name]")
            .unwrap();
    let mut fields: Vec<(String, String)> = Vec::new();
    for e in document.select(&fields_sel) {
        let v = e.value();
        let name = v.attr("name").unwrap_or_default().to_string();
        let kind = v.attr("type").unwrap_or("text");
        if matches!(kind, "file" | "submit" | "button")
            || name == "csrf"
            || (matches!(kind, "checkbox" | "radio") && v.attr("checked").is_none())
        {
            continue;
        }
        let value = if v.name() == "textarea" {
            e.text().collect()
        } else {
            v.attr("value")
                .unwrap_or(if kind == "checkbox" { "on" } else { "" })
                .to_string()
        };
        fields.push((name, value));
    }
    let body = fields
        .iter()
        .find(|(k, _)| k == "body")
        .map(|(_, v)| v.clone())
        .expect("the editor has a body");
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.save_post(&editor, &refs, "publish").await;
    let after: String = sqlx::query_scalar("SELECT body_html FROM posts WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    (body, after)
}

#[tokio::test]
async fn imported_html_survives_the_editor_unchanged() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    import_text(&app, SEED, &Options::default()).await.unwrap();
    let (id, before): (String, String) = sqlx::query_as(
        "SELECT id, body_html FROM posts WHERE slug = 'a-kazakhs-view-of-human-trafficking-in-kazakhstan'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    let (source, after) = save_unchanged(&app, &id).await;
    assert!(
        source.starts_with("<p>You never know"),
        "the source is the imported HTML: {source}"
    );
    assert_eq!(after, before, "saved unchanged, it renders the same");
    // Saving rewrote the post's search entry rather than adding a second one.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM post_search").await, 2);
    app.finish().await;
}

#[tokio::test]
async fn bad_exports_are_refused_with_a_reason_and_store_nothing() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let cases = [
        ("this is not xml", "not"),
        (
            "<rss><channel><title>Feed</title><item><title>x</title></item></channel></rss>",
            "wxr_version",
        ),
        (
            "<rss><channel><wp:wxr_version>7.0</wp:wxr_version><item/></channel></rss>",
            "unknown WXR version",
        ),
        (
            "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]><rss>&b;</rss>",
            "DTD",
        ),
        (&SEED[..SEED.len() / 2], "truncated"),
    ];
    for (text, reason) in cases {
        let err = import_text(&app, text, &Options::default())
            .await
            .unwrap_err();
        assert!(err.contains(reason), "{reason:?} not in {err:?}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM posts").await, 0);
    app.finish().await;
}

const BIN: &str = env!("CARGO_BIN_EXE_steppe");

#[tokio::test]
async fn the_command_line_reports_a_dry_run_then_imports_once() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[site]\npublic_url = \"https://blog.example\"\ntitle = \"Moved in\"\n[database]\nurl = \"{}\"\n[media]\ndir = \"{}\"\n",
            app.db_url,
            dir.path().join("media").display()
        ),
    )
    .unwrap();
    let export = dir.path().join("seed.xml");
    std::fs::write(&export, SEED).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--config",
            config.to_str().unwrap(),
            "import",
            "wxr",
            export.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        std::process::Command::new(BIN)
            .args(&args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let dry = run(&["--dry-run"]);
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.status.success(), "{dry:?}");
    assert!(
        out.contains("dry run (nothing stored)") && out.contains("2 posts"),
        "{out}"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM posts").await, 0);

    let first = run(&["--timezone", "Asia/Almaty"]);
    let out = String::from_utf8_lossy(&first.stdout);
    assert!(first.status.success(), "{first:?}");
    assert!(
        out.contains("imported https://kazakhstan-abolitionist.example: 2 posts"),
        "{out}"
    );
    assert!(out.contains("read in Asia/Almaty"), "{out}");
    // Not a terminal: progress as plain lines on standard error.
    assert!(String::from_utf8_lossy(&first.stderr).contains("100%"));
    let second = run(&["--timezone", "Asia/Almaty"]);
    let out = String::from_utf8_lossy(&second.stdout);
    assert!(
        out.contains("0 posts") && out.contains("2 already imported and unchanged"),
        "{out}"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM posts").await, 2);

    let no_folder = run(&["--uploads", "/no/such/folder"]);
    assert!(!no_folder.status.success());
    assert!(String::from_utf8_lossy(&no_folder.stderr).contains("is not a folder"));
    let bad = run(&["--timezone", "Mars/Olympus"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a time zone"));
    app.finish().await;
}

#[tokio::test]
async fn the_owner_imports_from_the_web_admin() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let (status, html) = app.page("/admin/import").await;
    assert_eq!(status, StatusCode::OK);
    let token = crate::harness::csrf_token(&html);
    let form = |csrf: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.to_string())
            .text("timezone", "Asia/Almaty")
            .part(
                "file",
                reqwest::multipart::Part::bytes(SEED.as_bytes().to_vec()).file_name("seed.xml"),
            )
    };
    // A forged form writes nothing and starts nothing.
    let forged = app
        .client
        .post(app.url("/admin/import"))
        .multipart(form("forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let r = app
        .client
        .post(app.url("/admin/import"))
        .multipart(form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The page shows the progress while it runs (refreshing itself), then the summary.
    let mut html = String::new();
    for _ in 0..200 {
        html = app.page("/admin/import").await.1;
        if !html.contains("Importing…") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let summary = texts(&html, ".import-summary li");
    assert!(
        summary[0].contains("imported https://kazakhstan-abolitionist.example: 2 posts"),
        "{summary:?}"
    );
    assert!(
        summary.iter().any(|l| l.contains("read in Asia/Almaty")),
        "{summary:?}"
    );
    app.db.bump_content_version();
    assert!(
        app.page("/tags/ngos")
            .await
            .1
            .contains("From a Discouraged Abolitionist")
    );
    // Without a file: a clear error, nothing started.
    let token = crate::harness::csrf_token(&html);
    let empty = reqwest::multipart::Form::new()
        .text("csrf", token)
        .text("timezone", "UTC");
    let r = app
        .client
        .post(app.url("/admin/import"))
        .multipart(empty)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Choose the export file"));
    app.finish().await;
}

/// The old WordPress site, still online: serves the files of a folder under `/wp-content/uploads/` and notes each
/// path asked for.
struct OldSite {
    base: String,
    asked: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    server: tokio::task::JoinHandle<()>,
}

impl OldSite {
    async fn spawn(dir: std::path::PathBuf) -> Self {
        use axum::{extract::Path as UrlPath, http::header, response::IntoResponse};
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let noted = asked.clone();
        let app = axum::Router::new().route(
            "/wp-content/uploads/{*path}",
            axum::routing::get(move |UrlPath(path): UrlPath<String>| {
                let noted = noted.clone();
                let dir = dir.clone();
                async move {
                    noted.lock().unwrap().push(path.clone());
                    match std::fs::read(dir.join(&path)) {
                        Ok(bytes) if !path.contains("..") => {
                            ([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response()
                        }
                        _ => StatusCode::NOT_FOUND.into_response(),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base,
            asked,
            server,
        }
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

/// A copy of the old site's `wp-content/uploads` (the yurt photo, with EXIF and a GPS position) inside `root`, and
/// beside it a file that a hostile attachment name points at.
fn uploads_folder(root: &std::path::Path) -> std::path::PathBuf {
    let uploads = root.join("uploads");
    std::fs::create_dir_all(uploads.join("2020/05")).unwrap();
    std::fs::write(
        uploads.join("2020/05/yurt.jpg"),
        jpeg(1600, 1067, Some(&exif_with_gps(1))),
    )
    .unwrap();
    std::fs::write(root.join("secret.jpg"), jpeg(64, 64, None)).unwrap();
    uploads
}

#[tokio::test]
async fn images_come_from_the_uploads_folder_and_the_posts_show_them_from_the_media_library() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let alice = Remote::spawn("alice").await;
    let export = rich_for(&alice);
    let root = tempfile::tempdir().unwrap();
    let options = Options {
        media: Sources {
            uploads: Some(uploads_folder(root.path())),
            fetch: false,
        },
        ..Options::default()
    };
    let summary = import_text(&app, &export, &options).await.unwrap();
    assert_eq!(summary.images, 1, "{summary:#?}");
    let lines = summary.lines().join("\n");
    for expected in [
        "1 images copied into the media library",
        "attachment 21: file 2020/05/missing.png not found under --uploads",
        "attachment 22: its file name \"%2e%2e/secret.jpg\" leads outside the uploads folder; refused",
        "attachment 23 (https://old.example/wp-content/uploads/2020/05/menu.pdf): not an image",
    ] {
        assert!(lines.contains(expected), "{expected:?} not in\n{lines}");
    }
    // One image (the post's size of it and the attachment are one file), described as WordPress had it; the
    // file outside the folder was not read.
    let (hash, alt): (String, Option<String>) = sqlx::query_as("SELECT id, alt FROM media")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(alt.as_deref(), Some("A felt yurt"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM media").await, 1);

    // The post shows it from the media library, responsively, links to it, and has it as its featured image;
    // an image from another site keeps its address.
    let (id, featured): (String, Option<String>) =
        sqlx::query_as("SELECT id, featured_media_id FROM posts WHERE slug = 'classic-post'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(featured.as_deref(), Some(hash.as_str()));
    let shown = format!("SELECT COUNT(*) FROM post_media WHERE post_id = '{id}'");
    assert_eq!(count(&app, &shown).await, 1);
    let (status, html) = app.page("/posts/classic-post").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !html.contains("old.example/wp-content"),
        "old addresses left"
    );
    assert!(html.contains("https://elsewhere.example/wp-content/uploads/sky.png"));
    let document = scraper::Html::parse_document(&html);
    let figure_img = scraper::Selector::parse("figure img").unwrap();
    let img = document
        .select(&figure_img)
        .next()
        .expect("the caption's image");
    assert!(
        img.value()
            .attr("src")
            .unwrap()
            .contains(&format!("/media/{hash}-"))
    );
    assert!(img.value().attr("srcset").is_some(), "responsive");
    assert_eq!(img.value().attr("alt"), Some("A felt yurt"));
    let link = scraper::Selector::parse("figure a").unwrap();
    let href = document
        .select(&link)
        .next()
        .unwrap()
        .value()
        .attr("href")
        .unwrap();
    assert!(href.contains(&format!("/media/{hash}-1600.")), "{href}");
    // Processed like an upload: no EXIF, no GPS position in what is served.
    for src in attrs(&html, "img[srcset]", "src") {
        let path = src
            .split_once("/media/")
            .map(|(_, p)| format!("/media/{p}"))
            .unwrap();
        let bytes = app.get(&path).await.bytes().await.unwrap();
        assert!(
            !bytes.windows(6).any(|w| w == b"Exif\0\0"),
            "EXIF in {path}"
        );
        assert!(!bytes.windows(3).any(|w| w == b"GPS"), "GPS in {path}");
    }

    // A second run reads and processes nothing again.
    let again = import_text(&app, &export, &options).await.unwrap();
    assert_eq!((again.images, again.updated), (0, 0), "{again:#?}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM media").await, 1);

    // Saved unchanged in the editor, it renders the same and keeps its images.
    let before: String = sqlx::query_scalar("SELECT body_html FROM posts WHERE id = $1")
        .bind(&id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let (_, after) = save_unchanged(&app, &id).await;
    assert_eq!(after, before);
    assert_eq!(count(&app, &shown).await, 1);
    let featured: Option<String> =
        sqlx::query_scalar("SELECT featured_media_id FROM posts WHERE id = $1")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(featured.as_deref(), Some(hash.as_str()));
    alice.stop().await;
    app.finish().await;
}

#[tokio::test]
async fn images_left_behind_are_fetched_from_the_old_site_by_a_later_run() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let alice = Remote::spawn("alice").await;
    let root = tempfile::tempdir().unwrap();
    let old = OldSite::spawn(uploads_folder(root.path())).await;
    let export = rich_for(&alice).replace("https://old.example", &old.base);

    // Without a source, images keep their old addresses, and the summary says how to bring them.
    let first = import_text(&app, &export, &Options::default())
        .await
        .unwrap();
    assert_eq!(first.images, 0);
    assert!(
        first.lines().join("\n").contains("give --uploads DIR"),
        "{:#?}",
        first.lines()
    );
    let (_, html) = app.page("/posts/classic-post").await;
    assert!(html.contains(&format!(
        "{}/wp-content/uploads/2020/05/yurt-300x200.jpg",
        old.base
    )));
    assert!(
        old.asked().is_empty(),
        "nothing fetched without --fetch-media"
    );

    // A later run with --fetch-media brings them in: the original of the size WordPress cut, fetched once.
    let fetch = Options {
        media: Sources {
            uploads: None,
            fetch: true,
        },
        ..Options::default()
    };
    let second = import_text(&app, &export, &fetch).await.unwrap();
    assert_eq!((second.images, second.updated), (1, 1), "{second:#?}");
    assert!(
        second.lines().join("\n").contains(
            "/wp-content/uploads/2020/05/missing.png could not be fetched: the server answered 404"
        ),
        "{:#?}",
        second.lines()
    );
    let (_, html) = app.page("/posts/classic-post").await;
    assert!(
        !html.contains(&format!("{}/wp-content", old.base)),
        "old addresses left"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM media").await, 1);
    let asked = old.asked();
    assert_eq!(
        asked
            .iter()
            .filter(|p| p.as_str() == "2020/05/yurt.jpg")
            .count(),
        1,
        "{asked:?}"
    );
    assert!(!asked.iter().any(|p| p.contains("secret")), "{asked:?}");

    // And a third changes nothing, fetching only what is still missing.
    let third = import_text(&app, &export, &fetch).await.unwrap();
    assert_eq!((third.images, third.updated), (0, 0), "{third:#?}");
    let asked_again = old.asked();
    assert!(
        asked_again[asked.len()..]
            .iter()
            .all(|p| p.contains("missing")),
        "{asked_again:?}"
    );
    old.server.abort();
    alice.stop().await;
    app.finish().await;
}
