//! The writing desk never loses text: autosaves (never federated), revisions (listed, compared, restored, pruned),
//! and forms that come back after a stale token or an expired session.

use reqwest::StatusCode;

use crate::harness::{OWNER, PASSWORD, TestApp, csrf_token, texts};

async fn outbox_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// Sends the editor's text as its script does, with the token of the editor page.
async fn autosave(
    app: &TestApp,
    editor: &str,
    url: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let (_, html) = app.page(editor).await;
    let token = csrf_token(&html);
    let mut all = vec![("csrf", token.as_str())];
    all.extend_from_slice(fields);
    app.post_raw(url, &all).await
}

fn textarea(html: &str, id: &str) -> String {
    texts(html, &format!("textarea#{id}"))
        .pop()
        .unwrap_or_default()
}

#[tokio::test]
async fn autosave_keeps_text_and_never_federates() {
    let mut app = TestApp::spawn().await;
    app.setup_owner().await;
    let editor = app.publish("Steppe notes", "", "The first words.").await;
    let id = editor.split('/').nth(3).unwrap().to_string();
    let before = outbox_count(&app).await;
    let r = autosave(
        &app,
        &editor,
        &format!("/admin/posts/{id}/autosave"),
        &[
            ("title", "Steppe notes"),
            ("body", "The first words, and more typed since."),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let json: serde_json::Value = r.json().await.unwrap();
    assert!(
        json["label"].as_str().unwrap().starts_with("Autosaved at "),
        "{json}"
    );
    assert_eq!(
        outbox_count(&app).await,
        before,
        "an autosave sends nothing"
    );
    // The published post is unchanged.
    let (_, page) = app.page("/posts/steppe-notes").await;
    assert!(!page.contains("and more typed since"));
    // It survives a restart, and the editor offers it.
    app.restart().await;
    let (status, html) = app.page(&editor).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        textarea(&html, "body"),
        "The first words, and more typed since."
    );
    assert!(
        html.contains("autosaved at"),
        "the editor says where the text comes from"
    );
    // The saved version stays one click away.
    let (_, saved) = app.page(&format!("{editor}?saved=1")).await;
    assert_eq!(textarea(&saved, "body"), "The first words.");
    // Saving (Update) supersedes the autosave and sends one Update.
    let r = app
        .submit(
            &editor,
            &editor,
            &[
                ("title", "Steppe notes"),
                ("body", "The first words, and more typed since."),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(outbox_count(&app).await, before + 1);
    let (_, html) = app.page(&editor).await;
    assert!(!html.contains("autosaved at"));
    app.finish().await;
}

#[tokio::test]
async fn a_new_posts_autosave_comes_back_until_it_is_saved() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let r = autosave(
        &app,
        "/admin/posts/new",
        "/admin/posts/autosave",
        &[("title", "Half-written"), ("body", "Where was I")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, html) = app.page("/admin/posts/new").await;
    assert_eq!(textarea(&html, "body"), "Where was I");
    let editor = app
        .save_post(
            "/admin/posts/new",
            &[("title", "Half-written"), ("body", "Where was I")],
            "draft",
        )
        .await;
    assert!(editor.ends_with("/edit"));
    let (_, html) = app.page("/admin/posts/new").await;
    assert_eq!(
        textarea(&html, "body"),
        "",
        "a saved post's autosave is gone"
    );
    // Without a session the script hears 401, and nothing is kept.
    let token = csrf_token(&html);
    let r = TestApp::client_without_cookies()
        .post(app.url("/admin/posts/autosave"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={token}&body=stranger"))
        .send()
        .await
        .unwrap();
    assert!(matches!(
        r.status(),
        StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED
    ));
    app.finish().await;
}

#[tokio::test]
async fn revisions_are_listed_compared_restored_and_pruned() {
    let app = TestApp::spawn_with("[editor]\nrevisions_kept = 3\n").await;
    app.setup_owner().await;
    let editor = app
        .save_post(
            "/admin/posts/new",
            &[("title", "Drafting"), ("body", "Version 1\n\nSame line")],
            "draft",
        )
        .await;
    for n in 2..=5 {
        let body = format!("Version {n}\n\nSame line");
        app.save_post(&editor, &[("title", "Drafting"), ("body", &body)], "draft")
            .await;
    }
    let (_, html) = app.page(&editor).await;
    let links: Vec<String> = crate::harness::attrs(&html, ".revisions a", "href");
    assert_eq!(links.len(), 3, "pruned to revisions_kept: {links:?}");
    // The oldest kept is version 3; compared with the saved version 5.
    let oldest = links.last().unwrap();
    let (status, diff) = app.page(oldest).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&diff, ".diff-removed"), vec!["− Version 3"]);
    assert_eq!(texts(&diff, ".diff-added"), vec!["+ Version 5"]);
    let restore = crate::harness::attrs(&diff, "a.button", "href")
        .pop()
        .unwrap();
    let (_, form) = app.page(&restore).await;
    assert_eq!(textarea(&form, "body"), "Version 3\n\nSame line");
    assert!(form.contains("Nothing is changed until you save it"));
    // Loading it changed nothing.
    let (_, saved) = app.page(&editor).await;
    assert_eq!(textarea(&saved, "body"), "Version 5\n\nSame line");
    // Another post's revision is not found under this one.
    let other = app
        .save_post(
            "/admin/posts/new",
            &[("title", "Other"), ("body", "x")],
            "draft",
        )
        .await;
    let rev = oldest.rsplit('/').next().unwrap();
    let (status, _) = app
        .page(&format!(
            "{}/revisions/{rev}",
            other.trim_end_matches("/edit")
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.finish().await;
}

#[tokio::test]
async fn a_stale_token_shows_the_form_again_with_the_text() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let r = app
        .post_raw(
            "/admin/posts/new",
            &[
                ("csrf", "stale"),
                ("title", "Long afternoon"),
                ("body", "Three hours of writing"),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = r.text().await.unwrap();
    assert_eq!(textarea(&html, "body"), "Three hours of writing");
    assert!(html.contains("nothing was"), "{html}");
    // The page carries a fresh token: sending it again works.
    let token = csrf_token(&html);
    let r = app
        .post_raw(
            "/admin/posts/new",
            &[
                ("csrf", &token),
                ("title", "Long afternoon"),
                ("body", "Three hours of writing"),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let posts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posts")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(posts, 1);
    app.finish().await;
}

#[tokio::test]
async fn a_form_sent_after_the_session_ended_comes_back_after_login() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let editor = app
        .save_post(
            "/admin/posts/new",
            &[("title", "Kept"), ("body", "Old")],
            "draft",
        )
        .await;
    let (_, html) = app.page(&editor).await;
    let token = csrf_token(&html);
    // The session ends while the editor is open.
    sqlx::query("DELETE FROM sessions")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let fields = [
        ("csrf", token.as_str()),
        ("title", "Kept"),
        ("body", "Everything I wrote this evening"),
        ("action", "draft"),
    ];
    // A post from another site (no Origin of ours) is not kept.
    let r = app.post_raw(&editor, &fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recovered_forms")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(kept, 0);
    // The owner's browser says the form comes from the blog.
    let r = app
        .client
        .post(app.url(&editor))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", app.base.trim_end_matches('/'))
        .body(serde_urlencoded::to_string(fields).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/admin?notice=session-ended&next="), "{to}");
    let (_, login) = app.page(&to).await;
    assert!(login.contains("the text you sent is kept"));
    let next = crate::harness::attrs(&login, "input[name=next]", "value")
        .pop()
        .unwrap();
    assert_eq!(next, editor);
    let r = app
        .post_raw(
            "/admin/login",
            &[
                ("csrf", &csrf_token(&login)),
                ("username", OWNER),
                ("password", PASSWORD),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(r.headers()["location"], editor.as_str());
    let (_, html) = app.page(&editor).await;
    assert_eq!(textarea(&html, "body"), "Everything I wrote this evening");
    assert!(html.contains("when your session had ended"));
    // Taken once: the next visit shows the saved text.
    let (_, again) = app.page(&editor).await;
    assert_eq!(textarea(&again, "body"), "Old");
    // A login never sends the browser to another host.
    let login = TestApp::client_without_cookies()
        .get(app.url("/admin?next=//evil.example/admin/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains("Log in"));
    assert!(crate::harness::attrs(&login, "input[name=next]", "value").is_empty());
    app.finish().await;
}

#[tokio::test]
async fn the_post_list_is_filtered_searched_and_paginated() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    for n in 0..27 {
        let body = if n == 7 {
            "A needle, 100% sharp".to_string()
        } else {
            format!("Hay {n}")
        };
        app.save_post(
            "/admin/posts/new",
            &[("title", &format!("Draft {n}")), ("body", &body)],
            "draft",
        )
        .await;
    }
    app.publish("Out in the world", "", "Published text").await;
    app.save_post(
        "/admin/posts/new",
        &[
            ("title", "Coming soon"),
            ("body", "Later"),
            ("published_at", "2099-05-01T09:30"),
        ],
        "publish",
    )
    .await;
    let (_, html) = app.page("/admin").await;
    assert_eq!(
        texts(&html, ".filters a"),
        [
            "All (29)",
            "Drafts (27)",
            "Scheduled (1)",
            "Published (1)",
            "Pages (0)"
        ]
    );
    // Sorted by publication date: the scheduled post (2099) first.
    let titles = texts(&html, ".post-table tbody td:first-child a");
    assert_eq!(titles.len(), 25);
    assert_eq!(titles[0], "Coming soon");
    let older = crate::harness::attrs(&html, ".pager a[rel=next]", "href")
        .pop()
        .unwrap();
    let (_, second) = app.page(&older).await;
    assert_eq!(texts(&second, ".post-table tbody tr").len(), 4);
    let (_, scheduled) = app.page("/admin?show=scheduled").await;
    let rows = texts(&scheduled, ".post-table tbody tr");
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].contains("Scheduled") && rows[0].contains("2099-05-01 09:30 UTC"),
        "{rows:?}"
    );
    let (_, found) = app.page("/admin?q=NEEDLE").await;
    assert_eq!(
        texts(&found, ".post-table tbody td:first-child a"),
        ["Draft 7"]
    );
    // LIKE's wildcards are taken literally.
    let (_, found) = app.page("/admin?q=100%25").await;
    assert_eq!(
        texts(&found, ".post-table tbody td:first-child a"),
        ["Draft 7"]
    );
    let (_, none) = app.page("/admin?q=_").await;
    assert!(texts(&none, ".post-table tbody tr").is_empty());
    let (_, published) = app.page("/admin?show=published&q=world").await;
    assert_eq!(
        texts(&published, ".post-table tbody td:first-child a"),
        ["Out in the world"]
    );
    // Nonsense parameters show the first page of everything.
    let (status, _) = app.page("/admin?page=-3&show=%00").await;
    assert_eq!(status, StatusCode::OK);
    app.finish().await;
}

/// The seed blog writes apostrophes as backticks: the editor asks before they become code spans, and escaping keeps
/// them as written.
#[tokio::test]
async fn backticks_between_letters_are_kept_as_written() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let fixture = crate::harness::fixture_posts()
        .into_iter()
        .find(|p| p.text.contains("don`t") && p.text.contains("I`m"))
        .expect("a seed post with backtick apostrophes");
    let body = fixture.text.clone();
    let fields = [("title", fixture.title.as_str()), ("body", body.as_str())];
    let mut publish = fields.to_vec();
    publish.push(("action", "publish"));
    let r = app
        .submit("/admin/posts/new", "/admin/posts/new", &publish)
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "asked first");
    let html = r.text().await.unwrap();
    assert!(!texts(&html, "#stray-backticks code").is_empty());
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posts")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing saved until the owner chooses");
    // Escaping them keeps the text as written, then it publishes.
    let mut escape = fields.to_vec();
    escape.push(("action", "escape-backticks"));
    let r = app
        .submit("/admin/posts/new", "/admin/posts/new", &escape)
        .await;
    let escaped = textarea(&r.text().await.unwrap(), "body");
    assert!(escaped.contains("\\`"));
    let editor = app
        .save_post(
            "/admin/posts/new",
            &[
                ("title", fixture.title.as_str()),
                ("body", escaped.as_str()),
            ],
            "publish",
        )
        .await;
    let slug: String = sqlx::query_scalar("SELECT slug FROM posts")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let (_, page) = app.page(&format!("/posts/{slug}")).await;
    let text = texts(&page, ".entry-content").concat();
    for word in ["don`t", "I`m"] {
        if fixture.text.contains(word) {
            assert!(text.contains(word), "{word} is shown as written");
        }
    }
    let code = texts(&page, ".entry-content code");
    assert!(code.is_empty(), "no code spans: {code:?}");
    // Code spans still work for those who write them, and "keep" saves as Markdown.
    let r = app
        .submit(
            &editor,
            &editor,
            &[
                ("title", "Code"),
                ("body", "Run `cargo` then it`s done"),
                ("backticks", "keep"),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    app.finish().await;
}

/// The live preview renders with the page's own renderer, and shows what Mastodon makes of the post.
#[tokio::test]
async fn the_live_preview_matches_the_page_and_shows_the_mastodon_view() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let body = "Intro *words*.\n\n> A quote\n\nMore.";
    let fields = [
        ("title", "Preview me"),
        ("summary", "What it is about"),
        ("tags", "NGOs"),
        ("body", body),
    ];
    let r = autosave(&app, "/admin/posts/new", "/admin/posts/preview", &fields).await;
    assert_eq!(r.status(), StatusCode::OK);
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(json["title"], "Preview me");
    assert_eq!(json["words"], 5);
    let mastodon = json["mastodon_html"].as_str().unwrap();
    assert!(mastodon.contains("What it is about") && mastodon.contains("/posts/preview-me"));
    assert!(
        mastodon.contains("&#34;type&#34;: &#34;Article&#34;")
            || mastodon.contains("&quot;type&quot;: &quot;Article&quot;"),
        "the Article as sent: {mastodon}"
    );
    // Nothing was saved; once published, the page shows exactly the previewed HTML.
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posts")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
    app.publish("Preview me", "NGOs", body).await;
    let (_, page) = app.page("/posts/preview-me").await;
    assert!(page.contains(json["html"].as_str().unwrap().trim()));
    // Without JavaScript the Preview button shows the same Mastodon view.
    let mut preview = fields.to_vec();
    preview.push(("action", "preview"));
    let r = app
        .submit("/admin/posts/new", "/admin/posts/new", &preview)
        .await;
    let html = r.text().await.unwrap();
    assert_eq!(texts(&html, ".preview .mastodon-title"), ["Preview me"]);
    app.finish().await;
}
