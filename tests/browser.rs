//! In a real browser (Debian's chromium through chromedriver, driven over WebDriver): a blogger sets the blog up,
//! writes with the live preview, keeps their text through a reload and an expired session, uploads an image,
//! schedules a post and sees it published, and imports the seed blog's WordPress export from the admin; a reader
//! opens the post, uses "Leave a comment" (and mistypes their address), follows from the follow box, searches, and
//! opens an archive and the tag list. axe-core checks each page at WCAG 2.2 AA, and screenshots of each step, at
//! desktop and phone widths, go to `target/browser-screenshots/`.
//!
//! Runs when `chromedriver` is on the PATH (CI installs it and sets CI=true, which makes a missing driver or
//! axe-core a failure). axe-core comes from `target/axe/node_modules/axe-core/axe.min.js` (`.ci/run` installs it with
//! npm) or `STEPPE_AXE_JS`.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::Value;
use thirtyfour::{ChromiumLikeCapabilities, prelude::*};

use crate::{harness::TestApp, remote::Remote};

struct Browser {
    driver: Option<WebDriver>,
    chromedriver: Child,
    shots: PathBuf,
    axe: Option<String>,
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

fn find_program(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| PathBuf::from(dir).join(name))
        .find(|p| p.is_file())
}

impl Browser {
    /// A headless chromium, or `None` (with a note) when chromedriver is not installed outside CI.
    async fn start() -> Option<Self> {
        let Some(chromedriver) = find_program("chromedriver") else {
            assert!(!in_ci(), "CI must install chromium and chromium-driver");
            eprintln!(
                "browser tests skipped: chromedriver is not installed (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if reqwest::get(format!("{url}/status")).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut caps = DesiredCapabilities::chrome();
        if let Some(chromium) = find_program("chromium") {
            caps.set_binary(chromium.to_str().unwrap()).unwrap();
        }
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            "--hide-scrollbars",
        ] {
            caps.add_arg(arg).unwrap();
        }
        // Leaving a page with unsaved text asks; the test answers yes.
        caps.set("unhandledPromptBehavior", "accept").unwrap();
        let driver = WebDriver::new(&url, caps).await.expect("a browser session");
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let shots = root.join("target/browser-screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        let axe_path = std::env::var_os("STEPPE_AXE_JS")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target/axe/node_modules/axe-core/axe.min.js"));
        let axe = std::fs::read_to_string(&axe_path).ok();
        if axe.is_none() {
            assert!(
                !in_ci(),
                "CI must install axe-core at {}",
                axe_path.display()
            );
            eprintln!(
                "accessibility checks skipped: no axe-core at {}",
                axe_path.display()
            );
        }
        Some(Self {
            driver: Some(driver),
            chromedriver: child,
            shots,
            axe,
        })
    }

    fn d(&self) -> &WebDriver {
        self.driver.as_ref().unwrap()
    }

    async fn go(&self, url: &str) {
        self.d().goto(url).await.unwrap();
    }

    async fn find(&self, css: &str) -> WebElement {
        self.d()
            .find(By::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    async fn url(&self) -> String {
        self.d().current_url().await.unwrap().to_string()
    }

    /// Waits (at most 20 s) until the text of `css` contains `wanted`.
    async fn wait_text(&self, css: &str, wanted: &str) {
        let mut last = String::new();
        for _ in 0..200 {
            if let Ok(e) = self.d().find(By::Css(css)).await {
                last = e.text().await.unwrap_or_default();
                // The text as shown: CSS may have changed its case.
                if last.to_lowercase().contains(&wanted.to_lowercase()) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never said {wanted:?}; last: {last:?}");
    }

    /// Screenshots of the page at desktop and phone widths.
    async fn shot(&self, name: &str) {
        for (suffix, width, height) in [("desktop", 1280, 900), ("phone", 390, 844)] {
            self.d().set_window_rect(0, 0, width, height).await.unwrap();
            tokio::time::sleep(Duration::from_millis(150)).await;
            self.d()
                .screenshot(&self.shots.join(format!("{name}-{suffix}.png")))
                .await
                .unwrap();
        }
        self.d().set_window_rect(0, 0, 1280, 900).await.unwrap();
    }

    /// axe-core's WCAG 2.2 AA violations on the page (in the light colour scheme).
    async fn violations(&self) -> Vec<Value> {
        let Some(axe) = &self.axe else {
            return Vec::new();
        };
        self.d().execute(axe.as_str(), Vec::new()).await.unwrap();
        let result = self
            .d()
            .execute(
                "return axe.run(document, { runOnly: { type: 'tag', values: \
                 ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } }).then(function (r) { \
                 return { passes: r.passes.length, violations: r.violations.map(function (v) { return { id: v.id, \
                 impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(function (n) { \
                 return n.target.join(' ') + ' — ' + n.failureSummary; }) }; }) }; });",
                Vec::new(),
            )
            .await
            .unwrap();
        let result = result.json();
        // axe really ran: it passed some rules on every page.
        assert!(
            result["passes"].as_u64().unwrap_or(0) > 0,
            "axe did not run: {result}"
        );
        result["violations"].as_array().cloned().unwrap_or_default()
    }

    async fn assert_accessible(&self, what: &str) {
        let found = self.violations().await;
        assert!(
            found.is_empty(),
            "{what}: axe found WCAG 2.2 AA violations:\n{}",
            serde_json::to_string_pretty(&found).unwrap()
        );
    }

    async fn stop(mut self) {
        if let Some(driver) = self.driver.take() {
            let _ = driver.quit().await;
        }
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.chromedriver.kill();
    }
}

/// "2026-12-01T15:14:05" in UTC, `seconds` from now.
fn utc_in(seconds: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(steppe::db::now() + seconds).unwrap();
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]"
    ))
    .unwrap()
}

#[tokio::test]
async fn a_blogger_and_a_reader_in_a_real_browser() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn_with("site.comment_threads_per_page = 3\n").await;
    let remote = Remote::spawn("reader").await;

    // Setup.
    b.go(&app.url("/admin")).await;
    b.shot("01-setup").await;
    b.assert_accessible("the setup form").await;
    b.fill("#username", "owner").await;
    b.fill("#display_name", "The Owner").await;
    b.fill("#password", "steppe-and-snow-2011").await;
    b.click("form button[type=submit]").await;
    b.wait_text("h1", "Posts").await;

    // Write, with the live preview beside the text.
    b.click("a[href='/admin/posts/new']").await;
    b.wait_text("h1", "New post").await;
    b.fill("#title", "A winter day").await;
    b.fill("#tags", "Winter").await;
    b.fill(
        "#body",
        "Snow fell on the steppe today, and the *wind* was still.",
    )
    .await;
    b.wait_text("#live-body", "Snow fell on the steppe").await;
    b.wait_text("#word-count", "11 words").await;
    b.wait_text("#live-mastodon", "How it looks on Mastodon")
        .await;
    b.shot("02-editor-live-preview").await;
    b.assert_accessible("the editor").await;

    // Autosave, then a reload: the text is back from the server.
    b.wait_text("#editor-status", "Autosaved at").await;
    b.d().refresh().await.unwrap();
    b.wait_text("h1", "New post").await;
    assert!(b.value("#body").await.contains("the *wind* was still"));
    b.shot("03-editor-after-reload").await;

    // The session ends while writing: the script says so, the browser keeps a copy, and after logging in again the
    // editor offers it back.
    sqlx::query("DELETE FROM sessions")
        .execute(&app.db.pool)
        .await
        .unwrap();
    b.find("#body")
        .await
        .send_keys(" Written after the session ended.")
        .await
        .unwrap();
    b.wait_text("#editor-status", "session has ended").await;
    b.go(&app.url("/admin/posts/new")).await;
    b.wait_text("h1", "Log in").await;
    b.fill("#username", "owner").await;
    b.fill("#password", "steppe-and-snow-2011").await;
    b.click("form button[type=submit]").await;
    b.wait_text("h1", "New post").await;
    assert!(
        b.url().await.ends_with("/admin/posts/new"),
        "back to the editor"
    );
    b.wait_text("#local-copy", "This browser kept a copy").await;
    b.shot("04-editor-local-copy").await;
    b.click("#local-copy-restore").await;
    assert!(
        b.value("#body")
            .await
            .contains("Written after the session ended.")
    );

    // Rich text pasted from a word processor becomes Markdown, every character kept.
    b.d()
        .execute(
            "var body = document.getElementById('body'); body.focus(); \
             body.setSelectionRange(body.value.length, body.value.length); \
             var data = new DataTransfer(); \
             data.setData('text/html', arguments[0]); data.setData('text/plain', 'plain'); \
             body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));",
            vec![Value::String(
                "<meta charset=utf-8><p class=MsoNormal>A <b>bold</b> move, I <i>don`t</i> mind: \
                 <a href=\"https://example.org/a\">a link</a> and 5*3.</p><ul><li>one</li><li>two</li></ul>"
                    .into(),
            )],
        )
        .await
        .unwrap();
    let pasted = b.value("#body").await;
    for expected in [
        "A **bold** move, I *don\\`t* mind: [a link](https://example.org/a) and 5\\*3.",
        "- one\n- two",
    ] {
        assert!(pasted.contains(expected), "{expected:?} in {pasted:?}");
    }

    // An image, uploaded and described.
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("steppe.png");
    std::fs::write(&png, crate::harness::png_with_alpha(640, 400)).unwrap();
    b.find("#images")
        .await
        .send_keys(png.to_str().unwrap())
        .await
        .unwrap();
    b.click("button[value=upload]").await;
    b.wait_text(".notice", "The image is uploaded").await;
    b.fill(".image-row textarea", "Snow over a flat horizon")
        .await;

    // Scheduled a few seconds ahead; it appears on the blog by itself.
    b.d()
        .execute(
            // Seconds ahead keeps the test short; the field's own steps are whole minutes.
            "var f = document.getElementById('published_at'); f.step = 'any'; f.value = arguments[0];",
            vec![Value::String(utc_in(4))],
        )
        .await
        .unwrap();
    b.click("button[name=action][value=publish]").await;
    b.wait_text(".notice", "Scheduled").await;
    b.wait_text("#post-status", "Scheduled for").await;
    b.shot("05-scheduled").await;
    b.go(&app.url("/admin?show=scheduled")).await;
    b.wait_text(".post-table", "A winter day").await;
    b.assert_accessible("the post list").await;
    b.shot("06-post-list").await;
    let mut published = false;
    for _ in 0..150 {
        if app.get("/posts/a-winter-day").await.status() == reqwest::StatusCode::OK {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "the scheduler published the post");
    b.go(&app.url("/admin/comments")).await;
    b.assert_accessible("the comments queue").await;
    b.shot("07-comments-queue").await;
    // A reply another server forwarded, given up because its origin never answered: listed on the Deliveries page.
    let now = steppe::db::now();
    sqlx::query(
        "INSERT INTO inbox_queue (object_key, signer, kind, body, received_at, next_attempt_at, attempts, \
         last_error, failed_at) VALUES ($1, $2, 'Create', '{}', $3, $3, 6, $4, $5)",
    )
    .bind("https://social.example/notes/1")
    .bind("https://relay.example/actor")
    .bind(now - 2 * 24 * 3600)
    .bind("unavailable for now: cannot get the note https://social.example/notes/1 for now")
    .bind(now - 60)
    .execute(&app.db.pool)
    .await
    .unwrap();
    for (path, name) in [
        ("/admin/deliveries", "07b-deliveries"),
        ("/admin/followers", "07c-followers"),
        ("/admin/settings", "07d-settings"),
        ("/admin/export", "07f-export"),
    ] {
        b.go(&app.url(path)).await;
        b.assert_accessible(path).await;
        b.shot(name).await;
    }
    // The received activities' section, further down the Deliveries page.
    b.go(&app.url("/admin/deliveries#received")).await;
    b.wait_text("table.received-failed", "relay.example").await;
    b.shot("07e-deliveries-received").await;
    // Moving in: the seed blog's WordPress export, uploaded from the import page, then its summary.
    // Seven comments on the winter post, stored directly (the import below makes every cached page stale, so the
    // reader sees them); three threads a page here.
    let post_id: String = sqlx::query_scalar("SELECT id FROM posts WHERE slug = 'a-winter-day'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    for i in 0..7i64 {
        let comment = steppe::db::comments::NewComment {
            id: format!("https://social.example/notes/{i}"),
            post_id: post_id.clone(),
            parent_id: (i == 6).then(|| "https://social.example/notes/5".to_string()),
            author_id: format!("https://social.example/users/reader{i}"),
            author_host: "social.example".into(),
            author_name: format!("Reader {i}"),
            author_handle: format!("@reader{i}@social.example"),
            author_url: format!("https://social.example/@reader{i}"),
            author_avatar: None,
            content_html: format!("<p>Comment number {i} on the winter day.</p>"),
            source_text: None,
            summary: None,
            attachments_html: String::new(),
            url: None,
            visibility: "public".into(),
            status: "shown".into(),
            published_at: 1_700_000_000 + i,
        };
        steppe::db::comments::insert(&app.db, &comment)
            .await
            .unwrap();
    }
    b.go(&app.url("/admin/import")).await;
    b.assert_accessible("the import form").await;
    b.shot("07e-import-form").await;
    let seed =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-blog.wxr.xml");
    b.find("#file")
        .await
        .send_keys(seed.to_str().unwrap())
        .await
        .unwrap();
    b.click("form[action='/admin/import'] button[type=submit]")
        .await;
    b.wait_text(".import-summary", "2 posts").await;
    b.assert_accessible("the import summary").await;
    b.shot("07f-import-summary").await;

    // A reader.
    b.d().delete_all_cookies().await.unwrap();
    b.go(&app.url("/")).await;
    b.wait_text("main", "A winter day").await;
    b.assert_accessible("the home page").await;
    b.shot("08-home").await;
    b.go(&app.url("/tags/winter")).await;
    b.wait_text("main", "A winter day").await;
    b.assert_accessible("a tag page").await;
    b.go(&app.url("/posts/a-winter-day")).await;
    b.wait_text("h1", "A winter day").await;
    let text = b.text(".entry-content").await;
    assert!(text.contains("Written after the session ended."));
    assert!(
        text.contains("A bold move, I don`t mind: a link and 5*3."),
        "{text}"
    );
    let alt = b
        .find(".entry-content img")
        .await
        .attr("alt")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(alt, "Snow over a flat horizon");
    b.assert_accessible("a post").await;
    b.shot("09-post").await;
    // The post shows the newest page of comments and links the older ones.
    b.go(&app.url("/posts/a-winter-day")).await;
    b.wait_text("#comments-title", "Comments (7)").await;
    assert!(b.text(".comment-list").await.contains("Comment number 6"));
    b.assert_accessible("a post with pages of comments").await;
    b.d()
        .execute(
            "document.getElementById('comments').scrollIntoView()",
            Vec::new(),
        )
        .await
        .unwrap();
    b.shot("09b-post-comment-pages").await;
    b.click("nav.comment-pages a.older").await;
    b.wait_text(".comment-list", "Comment number 0").await;
    let handle = format!("@reader@{}", remote.base.trim_start_matches("http://"));
    b.fill("#handle", &handle).await;
    b.click("#leave-a-comment button").await;
    for _ in 0..100 {
        if b.url().await.starts_with(&remote.base) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let at = b.url().await;
    assert!(
        at.starts_with(&format!("{}/authorize_interaction?uri=", remote.base)),
        "the reader is sent to their own server: {at}"
    );

    // A mistyped address comes back on the post, at the form, with the address kept.
    b.go(&app.url("/posts/a-winter-day")).await;
    b.fill("#handle", "reader at their server").await;
    b.click("#leave-a-comment button").await;
    b.wait_text("#handle-error", "Enter your fediverse address")
        .await;
    assert_eq!(b.value("#handle").await, "reader at their server");
    b.assert_accessible("a post with a comment-form error")
        .await;
    b.shot("10-comment-error").await;
    // The follow box: the Copy button appears with the script; the form sends the reader to follow.
    let copy = b.find(".site-footer .copy-handle").await;
    assert!(
        copy.is_displayed().await.unwrap(),
        "Copy is shown with JavaScript"
    );
    b.fill("#follow-footer-handle", &handle).await;
    b.click(".site-footer .follow-form button").await;
    for _ in 0..100 {
        if b.url().await.starts_with(&remote.base) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let at = b.url().await;
    assert!(
        at.starts_with(&format!(
            "{}/authorize_interaction?uri=acct%3Ablog%40",
            remote.base
        )),
        "the reader is sent to follow from their own server: {at}"
    );
    // Search, the archive and the tag list.
    b.go(&app.url("/")).await;
    b.fill("#site-search-q", "winter session").await;
    b.click(".site-search button").await;
    b.wait_text("h1", "Search results").await;
    assert!(
        b.text(".search-result .entry-title")
            .await
            .contains("A winter day")
    );
    assert_eq!(
        b.text(".search-excerpt mark").await.to_lowercase(),
        "session"
    );
    b.assert_accessible("search results").await;
    b.shot("11-search").await;
    b.click(".archive-list a[title]").await;
    b.wait_text("h1", "Posts from").await;
    b.assert_accessible("a monthly archive").await;
    b.go(&app.url("/tags")).await;
    b.wait_text(".tag-list", "winter").await;
    b.assert_accessible("the tag list").await;
    b.go(&app.url("/follow?handle=nobody")).await;
    b.wait_text(".notice.error", "fediverse address").await;
    b.assert_accessible("the follow page with an error").await;
    b.shot("12-follow-error").await;
    b.stop().await;
    remote.stop().await;
    app.finish().await;
}
