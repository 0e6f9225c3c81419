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
