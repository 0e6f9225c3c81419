//! Moving followers: the blog's old accounts published as `alsoKnownAs` (and announced with an `Update`), and "Move
//! this blog" — the checks on the new account, the signed `Move` that every follower's inbox receives, the notice on
//! every page, new followers told, the seven-day rule and the undo.

use reqwest::StatusCode;
use serde_json::Value;

use crate::{
    fleet::{Fleet, counts},
    harness::{TestApp, attrs, texts},
    publishing::follow,
    remote::Remote,
};

const AP: &str = "application/activity+json";

async fn actor(app: &TestApp) -> Value {
    app.activity_json("/users/blog").await
}

/// Waits until `remote` has received an activity for which `pick` holds.
async fn wait_for(remote: &Remote, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        if let Some(r) = remote.received().into_iter().find(|r| pick(&r.activity)) {
            assert!(r.verified.is_ok(), "{what}: signature {:?}", r.verified);
            return r.activity;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("never received {what}: {:?}", remote.received());
}

#[tokio::test]
async fn old_accounts_are_published_as_aliases_and_announced() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let reader = Remote::spawn("reader").await;
    follow(&app, &reader).await;
    let old = Remote::spawn("oldblog").await;

    let r = app
        .submit(
            "/admin/settings",
            "/admin/settings/aliases",
            &[("account", &old.handle())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        actor(&app).await["alsoKnownAs"],
        serde_json::json!([old.actor_id()])
    );
    // Followers' servers learn it from an Update of the profile, signed.
    let update = wait_for(&reader, "Update of the profile", |a| {
        a["type"] == "Update" && a["object"]["type"] == "Person"
    })
    .await;
    assert_eq!(
        update["object"]["alsoKnownAs"],
        serde_json::json!([old.actor_id()])
    );
    assert_eq!(update["object"]["id"], app.url("/users/blog"));

    // The page shows the account as its server names it, and what to do next on the old server.
    let (_, html) = app.page("/admin/settings").await;
    let listed = texts(&html, "ul.aliases li").join(" ");
    assert!(listed.contains("Reader oldblog"), "{listed}");
    assert!(listed.contains(&old.handle()), "{listed}");
    let steps = texts(&html, "#move-here-steps").join(" ");
    assert!(steps.contains("Move to a different account"), "{steps}");
    assert!(steps.contains("wp activitypub move"), "{steps}");

    // By actor URL too, and the same account twice is listed once.
    let r = app
        .submit(
            "/admin/settings",
            "/admin/settings/aliases",
            &[("account", &old.actor_id())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        actor(&app).await["alsoKnownAs"].as_array().unwrap().len(),
        1
    );

    // Accounts that cannot be found, the blog itself, and text that is no account: a clear error, typing kept.
    for (typed, expected) in [
        ("@nobody@127.0.0.1:9", "Could not find @nobody@127.0.0.1:9"),
        ("just words", "Give the account as @name@server"),
        (&app.url("/users/blog"), "That is this blog itself."),
    ] {
        let r = app
            .submit(
                "/admin/settings",
                "/admin/settings/aliases",
                &[("account", typed)],
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
        let html = r.text().await.unwrap();
        let errors = texts(&html, "#alias-errors li").join(" ");
        assert!(errors.contains(expected), "{typed}: {errors}");
        assert_eq!(
            attrs(&html, "#alias-account", "value"),
            vec![typed.to_string()]
        );
    }
    assert_eq!(
        actor(&app).await["alsoKnownAs"].as_array().unwrap().len(),
        1
    );

    // Removed: the actor no longer lists it.
    let r = app
        .submit(
            "/admin/settings",
            "/admin/settings/aliases/remove",
            &[("id", &old.actor_id())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(actor(&app).await.get("alsoKnownAs").is_none());
    app.finish().await;
}

#[tokio::test]
async fn moving_out_sends_a_verified_move_to_every_follower() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let fleet = Fleet::spawn(3).await;
    fleet.follow(&app.db, 2, true).await;
    fleet.follow_range(&app.db, 2..3, false).await;
    let new_home = Remote::spawn("newhome").await;
    let ours = app.url("/users/blog");

    // The new account does not list the blog yet: refused, with what to fix; nothing sent.
    let r = app
        .submit(
            "/admin/settings",
            "/admin/settings/move",
            &[("account", &new_home.handle()), ("confirm", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    let errors = texts(&html, "#move-errors li").join(" ");
    assert!(errors.contains("does not list this blog"), "{errors}");
    assert!(errors.contains("Create an account alias"), "{errors}");
    assert!(actor(&app).await.get("movedTo").is_none());

    // Listed now, but the owner did not confirm.
    new_home.set_also_known_as(std::slice::from_ref(&ours));
    let r = app
        .submit(
            "/admin/settings",
            "/admin/settings/move",
            &[("account", &new_home.handle())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(actor(&app).await.get("movedTo").is_none());

    // Confirmed: moved.
    let r = app
        .submit(
            "/admin/settings",
            "/admin/settings/move",
            &[("account", &new_home.handle()), ("confirm", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(actor(&app).await["movedTo"], new_home.actor_id());

    // Every inbox (one shared inbox per host, and the personal-only followers' own) gets one Move, verified.
    let got = fleet
        .wait_until(20, |got| counts(got, "Move").len() == 6)
        .await;
    for g in got.iter().filter(|g| g.activity_type == "Move") {
        assert_eq!(g.verified.as_deref(), Ok(ours.as_str()), "{g:?}");
    }
    assert!(counts(&got, "Move").values().all(|n| *n == 1));
    let body = fleet.bodies("Move");
    let move_ = body.first().expect("a Move body");
    assert_eq!(move_["actor"], ours);
    assert_eq!(move_["object"], ours);
    assert_eq!(move_["target"], new_home.actor_id());

    // Every page says where the blog went; the Deliveries page shows the Move.
    for path in ["/", "/admin/settings"] {
        let (_, html) = app.page(path).await;
        assert_eq!(
            attrs(&html, ".moved-notice a", "href"),
            vec![new_home.actor_id()],
            "{path}"
        );
    }
    // The follow box sends readers to the new account.
    let (_, home) = app.page("/").await;
    assert!(
        texts(&home, ".follow-moved")
            .concat()
            .contains(&new_home.handle())
    );
    assert_eq!(texts(&home, ".fediverse-handle"), vec![new_home.handle()]);
    let (_, deliveries) = app.page("/admin/deliveries").await;
    assert!(deliveries.contains("Blog moved to"), "{deliveries}");

    // A Follow after the move is accepted and answered with the Move as well.
    let late = Remote::spawn("late").await;
    follow(&app, &late).await;
    let told = wait_for(&late, "Move", |a| a["type"] == "Move").await;
    assert_eq!(told["target"], new_home.actor_id());

    // A second move within seven days is refused, naming the date.
    let other = Remote::spawn("other").await;
    other.set_also_known_as(std::slice::from_ref(&ours));
    let r = app
        .submit(
            "/admin/settings",
            "/admin/settings/move",
            &[("account", &other.handle()), ("confirm", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        texts(&r.text().await.unwrap(), "#move-errors li")
            .join(" ")
            .contains("less than seven days ago")
    );

    // Undone: the actor and the pages no longer say it; followers' servers get the Update; the seven days still count.
    let r = app
        .submit("/admin/settings", "/admin/settings/move/undo", &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(actor(&app).await.get("movedTo").is_none());
    let (_, home) = app.page("/").await;
    assert!(texts(&home, ".moved-notice").is_empty());
    fleet
        .wait_until(20, |got| counts(got, "Update").len() == 6)
        .await;
    let (_, settings) = app.page("/admin/settings").await;
    assert!(
        settings.contains("the next move is possible from"),
        "{settings}"
    );
    let r = app
        .submit(
            "/admin/settings",
            "/admin/settings/move",
            &[("account", &other.handle()), ("confirm", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.finish().await;
}

#[tokio::test]
async fn a_move_target_that_moved_on_or_cannot_be_found_is_refused() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let ours = app.url("/users/blog");
    let gone = Remote::spawn("gone").await;
    gone.set_also_known_as(std::slice::from_ref(&ours));
    gone.set_moved_to(Some("http://127.0.0.1:9/users/elsewhere".into()));
    for (typed, expected) in [
        (gone.handle(), "has itself moved away"),
        ("@nobody@127.0.0.1:9".to_string(), "Could not find"),
        (ours.clone(), "That is this blog itself."),
    ] {
        let r = app
            .submit(
                "/admin/settings",
                "/admin/settings/move",
                &[("account", &typed), ("confirm", "1")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
        let errors = texts(&r.text().await.unwrap(), "#move-errors li").join(" ");
        assert!(errors.contains(expected), "{typed}: {errors}");
    }
    assert!(actor(&app).await.get("movedTo").is_none());
    let (_, home) = app.page("/").await;
    assert!(texts(&home, ".moved-notice").is_empty());
    app.finish().await;
}

#[tokio::test]
async fn readers_can_be_sent_to_the_new_blog() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    app.publish("Still here", "NGOs", "Words.").await;
    for (typed, expected) in [
        ("javascript:alert(1)", "not an https:// address"),
        ("https://new.example/?a=1", "without ? or #"),
        (app.config.base_url(), "this blog's own address"),
    ] {
        let r = app
            .submit(
                "/admin/settings",
                "/admin/settings/redirect",
                &[("address", typed)],
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
        let errors = texts(&r.text().await.unwrap(), "#redirect-errors li").join(" ");
        assert!(errors.contains(expected), "{typed}: {errors}");
    }
    assert_eq!(app.get("/posts/still-here").await.status(), StatusCode::OK);

    let r = app
        .submit(
            "/admin/settings",
            "/admin/settings/redirect",
            &[("address", "https://new.example/")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    for (path, to) in [
        ("/posts/still-here", "https://new.example/posts/still-here"),
        ("/tags/ngos?page=2", "https://new.example/tags/ngos?page=2"),
        ("/", "https://new.example/"),
        ("/feed.xml", "https://new.example/feed.xml"),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY, "{path}");
        assert_eq!(r.headers()["location"], to, "{path}");
    }
    // Fediverse servers, the owner and crawlers' robots.txt are not sent away.
    let r = app
        .client
        .get(app.url("/users/blog"))
        .header("accept", AP)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.get("/robots.txt").await.status(), StatusCode::OK);
    assert_eq!(app.page("/admin/settings").await.0, StatusCode::OK);

    let r = app
        .submit(
            "/admin/settings",
            "/admin/settings/redirect",
            &[("address", "")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get("/posts/still-here").await.status(), StatusCode::OK);
    app.finish().await;
}
