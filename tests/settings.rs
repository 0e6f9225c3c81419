//! The settings page: the blog's fediverse avatar and header, uploaded or by address, as the actor shows them.

use reqwest::{
    StatusCode,
    multipart::{Form, Part},
};

use crate::harness::{TestApp, csrf_token, png_with_alpha, texts};

const AP: &str = "application/activity+json";

impl TestApp {
    async fn settings_form(&self) -> Form {
        let token = csrf_token(&self.page("/admin/settings").await.1);
        Form::new().text("csrf", token)
    }

    async fn post_settings(&self, form: Form) -> reqwest::Response {
        self.client
            .post(self.url("/admin/settings"))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn avatar_upload_and_header_by_address() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let (status, html) = app.page("/admin/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("@blog@{}", app.host())));

    let form = app
        .settings_form()
        .await
        .part(
            "avatar_file",
            Part::bytes(png_with_alpha(48, 48)).file_name("me.png"),
        )
        .text("header_url", "https://images.example/steppe.JPG");
    let r = app.post_settings(form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        texts(
            &app.page("/admin/settings?notice=settings").await.1,
            ".notice"
        )
        .concat()
        .contains("saved")
    );

    let (_, _, actor) = app.get_ap("/users/blog", AP).await;
    assert_eq!(actor["icon"]["type"], "Image");
    assert_eq!(actor["icon"]["mediaType"], "image/png");
    let avatar = actor["icon"]["url"].as_str().unwrap().to_string();
    assert!(
        avatar.starts_with(&app.url("/media/")) && avatar.ends_with(".png"),
        "{avatar}"
    );
    assert_eq!(
        actor["image"],
        serde_json::json!({"type": "Image", "url": "https://images.example/steppe.JPG", "mediaType": "image/jpeg"})
    );
    let r = app.get(&avatar).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    // Re-encoded (no metadata), same picture.
    let served = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
    assert_eq!((served.width(), served.height()), (48, 48));
    assert!(served.color().has_alpha());

    // Removing the avatar; the header stays.
    let form = app.settings_form().await.text("avatar_remove", "1");
    assert_eq!(
        app.post_settings(form).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, _, actor) = app.get_ap("/users/blog", AP).await;
    assert!(actor.get("icon").is_none());
    assert_eq!(actor["image"]["url"], "https://images.example/steppe.JPG");
    app.finish().await;
}

#[tokio::test]
async fn bad_settings_are_refused() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    // Not an image (an SVG could carry scripts): refused, the typed address kept.
    let form = app
        .settings_form()
        .await
        .part(
            "avatar_file",
            Part::bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec()).file_name("x.png"),
        )
        .text("header_url", "javascript:alert(1)");
    let r = app.post_settings(form).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    let errors = texts(&html, ".errors li");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(html.contains("value=\"javascript:alert(1)\""));
    let (_, _, actor) = app.get_ap("/users/blog", AP).await;
    assert!(actor.get("icon").is_none() && actor.get("image").is_none());

    // Without the CSRF token.
    let form = Form::new().part(
        "avatar_file",
        Part::bytes(png_with_alpha(48, 48)).file_name("me.png"),
    );
    assert_eq!(
        app.post_settings(form).await.status(),
        StatusCode::FORBIDDEN
    );
    // Only names Steppe gave uploads are served.
    for path in [
        "/media/..%2Fsteppe.db",
        "/media/x.png",
        "/media/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.png",
    ] {
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    app.finish().await;
}

#[tokio::test]
async fn the_blogs_settings_are_changed_in_the_web_admin() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    for n in 0..3 {
        app.publish(&format!("Post {n}"), "", "x").await;
    }
    let form = app
        .settings_form()
        .await
        .text("title", "Notes from Almaty")
        .text("description", "Small stories")
        .text("language", "kk")
        .text("time_zone", "Asia/Almaty")
        .text("posts_per_page", "2");
    let r = app.post_settings(form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, home) = app.page("/").await;
    assert!(home.contains("<html lang=\"kk\""), "language");
    assert!(home.contains("Notes from Almaty") && home.contains("Small stories"));
    assert_eq!(texts(&home, ".entry-title").len(), 2, "posts per page");
    let actor: serde_json::Value = app
        .client
        .get(app.url("/users/blog"))
        .header("accept", AP)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(actor["name"], "Notes from Almaty");
    // The editor types dates in the new zone.
    let (_, editor) = app.page("/admin/posts/new").await;
    assert!(editor.contains("Asia/Almaty"));
    // Bad values: a clear message each, the typed values kept, nothing changed.
    let form = app
        .settings_form()
        .await
        .text("title", "")
        .text("language", "english please")
        .text("time_zone", "Mars/Olympus")
        .text("posts_per_page", "1000");
    let r = app.post_settings(form).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    let errors = texts(&html, ".errors li");
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(html.contains("value=\"Mars/Olympus\""));
    let (_, home) = app.page("/").await;
    assert!(home.contains("Notes from Almaty"));
    app.finish().await;
}

#[tokio::test]
async fn a_password_change_asks_the_current_one_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    // Another browser logged in too.
    let other = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let token = csrf_token(
        &other
            .get(app.url("/admin"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let r = crate::harness::post_form(
        &other,
        &app.url("/admin/login"),
        &[],
        &[
            ("csrf", &token),
            ("username", crate::harness::OWNER),
            ("password", crate::harness::PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let wrong = app
        .submit(
            "/admin/settings",
            "/admin/settings/password",
            &[
                ("current", "not it at all"),
                ("new", "a new long password"),
                ("repeat", "a new long password"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("The current password is not right.")
    );
    let mismatch = app
        .submit(
            "/admin/settings",
            "/admin/settings/password",
            &[
                ("current", crate::harness::PASSWORD),
                ("new", "a new long password"),
                ("repeat", "another"),
            ],
        )
        .await;
    assert_eq!(mismatch.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .submit(
            "/admin/settings",
            "/admin/settings/password",
            &[
                ("current", crate::harness::PASSWORD),
                ("new", "a new long password"),
                ("repeat", "a new long password"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // This browser stays logged in; the other one is logged out.
    let (status, _) = app.page("/admin/settings").await;
    assert_eq!(status, StatusCode::OK);
    let r = other.get(app.url("/admin/settings")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The new password logs in, the old one no longer does.
    let login = |password: &'static str| {
        let url = app.url("/admin");
        async move {
            let client = reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let token = csrf_token(&client.get(&url).send().await.unwrap().text().await.unwrap());
            crate::harness::post_form(
                &client,
                &format!("{url}/login"),
                &[],
                &[
                    ("csrf", &token),
                    ("username", crate::harness::OWNER),
                    ("password", password),
                ],
            )
            .await
            .status()
        }
    };
    assert_eq!(login("a new long password").await, StatusCode::SEE_OTHER);
    assert_eq!(
        login(crate::harness::PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    app.finish().await;
}
