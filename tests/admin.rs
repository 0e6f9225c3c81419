//! The owner's account: one-time setup, login with one message for every refusal, throttling, sessions that
//! survive a restart, logout.

use reqwest::StatusCode;

use crate::harness::{OWNER, OWNER_NAME, PASSWORD, TestApp, csrf_token, texts};

#[tokio::test]
async fn setup_form_is_shown_once_and_logs_the_owner_in() {
    let app = TestApp::spawn().await;
    let (status, html) = app.page("/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&html, "h1"), ["Set up your blog"]);

    // A short password is refused and the typed name is kept.
    let r = app
        .submit(
            "/admin",
            "/admin/setup",
            &[
                ("username", "Abolitionist"),
                ("display_name", OWNER_NAME),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        texts(&html, ".errors li")
            .iter()
            .any(|e| e.contains("at least 10 characters")),
        "{html}"
    );
    assert!(html.contains(r#"value="abolitionist""#) && html.contains(OWNER_NAME));

    app.setup_owner().await;
    let (status, html) = app.page("/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&html, "h1"), ["Posts"]);
    assert!(html.contains(OWNER_NAME));

    // The setup form is gone for good: not shown to a visitor, refused if posted.
    let visitor = TestApp::client_without_cookies();
    let html = visitor
        .get(app.url("/admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(texts(&html, "h1"), ["Log in"]);
    let token = csrf_token(&app.page("/admin").await.1);
    let r = app
        .post_raw(
            "/admin/setup",
            &[
                ("csrf", &token),
                ("username", "intruder"),
                ("display_name", "I"),
                ("password", "0123456789ab"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    app.finish().await;
}

impl TestApp {
    pub fn client_without_cookies() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Logs out through the header's button.
    pub async fn log_out(&self) {
        let r = self.submit("/admin", "/admin/logout", &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }

    pub async fn log_in(&self, username: &str, password: &str) -> reqwest::Response {
        self.submit(
            "/admin",
            "/admin/login",
            &[("username", username), ("password", password)],
        )
        .await
    }
}

#[tokio::test]
async fn login_refuses_with_one_message_and_throttles() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    app.log_out().await;
    assert_eq!(texts(&app.page("/admin").await.1, "h1"), ["Log in"]);

    let wrong_password = app.log_in(OWNER, "not the password").await;
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    let wrong_password = texts(&wrong_password.text().await.unwrap(), ".errors li");
    let unknown_user = app.log_in("nobody", PASSWORD).await;
    assert_eq!(unknown_user.status(), StatusCode::UNAUTHORIZED);
    let unknown_user = texts(&unknown_user.text().await.unwrap(), ".errors li");
    assert_eq!(wrong_password, unknown_user);
    assert_eq!(wrong_password, ["Wrong username or password."]);

    // Five failures for the owner's name (one above, four here) lock that name, even with the right password.
    for _ in 0..4 {
        assert_eq!(
            app.log_in(OWNER, "still wrong!").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let r = app.log_in(OWNER, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.text().await.unwrap().contains("Too many failed logins"));
    assert_eq!(
        texts(&app.page("/admin").await.1, "h1"),
        ["Log in"],
        "still logged out"
    );
    app.finish().await;
}

#[tokio::test]
async fn throttles_per_address_across_usernames() {
    let app = TestApp::spawn_with("[limits]\nlogin_failures_per_ip = 3\n").await;
    app.setup_owner().await;
    app.log_out().await;
    for name in ["a", "b", "c"] {
        assert_eq!(
            app.log_in(name, "whatever-password").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.log_in(OWNER, PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    app.finish().await;
}

#[tokio::test]
async fn session_survives_restart_and_logout_ends_it() {
    let mut app = TestApp::spawn().await;
    app.setup_owner().await;
    let r = app.get("/admin/posts/new").await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers().get_all("set-cookie").iter().count();
    assert_eq!(cookie, 0, "no new cookies needed once logged in");

    app.restart().await;
    let (status, html) = app.page("/admin/posts/new").await;
    assert_eq!(status, StatusCode::OK, "still logged in after a restart");
    assert_eq!(texts(&html, "h1"), ["New post"]);

    app.log_out().await;
    let r = app.get("/admin/posts/new").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/admin?next=%2Fadmin%2Fposts%2Fnew"
    );
    app.finish().await;
}

#[tokio::test]
async fn session_cookie_is_http_only_and_lax() {
    let app = TestApp::spawn().await;
    let html = app.page("/admin").await.1;
    let token = csrf_token(&html);
    let r = app
        .post_raw(
            "/admin/setup",
            &[
                ("csrf", &token),
                ("username", OWNER),
                ("display_name", OWNER_NAME),
                ("password", PASSWORD),
            ],
        )
        .await;
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("steppe_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http test site: {cookie}");
    app.finish().await;
}

#[tokio::test]
async fn cookies_are_secure_when_the_site_is_https() {
    let app = TestApp::spawn_https().await;
    let r = app.get("/admin").await;
    let csrf_cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    // The __Host- prefix: browsers take it only from this host, over https, for the whole path, without Domain.
    assert!(
        csrf_cookie.starts_with("__Host-steppe_csrf=")
            && csrf_cookie.contains("; Secure")
            && csrf_cookie.contains("; Path=/")
            && !csrf_cookie.contains("Domain"),
        "{csrf_cookie}"
    );
    let pre_session = csrf_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-steppe_csrf=")
        .to_string();
    let token = csrf_token(&r.text().await.unwrap());
    assert_ne!(
        token, pre_session,
        "the token is derived from the cookie, not a copy of it"
    );
    let setup_url = app.url("/admin/setup");
    let setup = |cookie: String, token: String| {
        let url = setup_url.clone();
        async move {
            TestApp::client_without_cookies()
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("cookie", cookie)
                .body(
                    serde_urlencoded::to_string([
                        ("csrf", token.as_str()),
                        ("username", OWNER),
                        ("display_name", OWNER_NAME),
                        ("password", PASSWORD),
                    ])
                    .unwrap(),
                )
                .send()
                .await
                .unwrap()
        }
    };
    // A cookie without the prefix (as a sibling subdomain could plant) does not count.
    let r = setup(format!("steppe_csrf={pre_session}"), token.clone()).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The client does not send Secure cookies over plain http, so send it by hand as the proxy would pass it on.
    let r = setup(format!("__Host-steppe_csrf={pre_session}"), token).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let session = r.headers()["set-cookie"].to_str().unwrap();
    assert!(session.starts_with("__Host-steppe_session="), "{session}");
    for attr in ["; HttpOnly", "; SameSite=Lax", "; Secure", "; Path=/"] {
        assert!(session.contains(attr), "{attr} missing: {session}");
    }
    app.finish().await;
}

#[tokio::test]
async fn admin_pages_need_the_owner() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let edit = app.publish("Hello", "", "Text").await;
    app.log_out().await;
    for path in [
        "/admin/posts/new",
        edit.as_str(),
        &edit.replace("/edit", "/delete"),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        // To the login form, which comes back to the page after logging in.
        let next: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", path)
            .finish();
        assert_eq!(r.headers()["location"], format!("/admin?{next}").as_str());
    }
    // A visitor with a valid CSRF token still cannot post.
    let r = app
        .submit(
            "/admin",
            "/admin/posts/new",
            &[("title", "X"), ("body", "Y"), ("action", "publish")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posts")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    app.finish().await;
}
