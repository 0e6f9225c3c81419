//! `steppe backup`: a consistent copy while the blog takes writes, checked and restored (a new server on the copy
//! serves the same actor, key and Articles); an existing file is never overwritten; PostgreSQL points to pg_dump.

use std::process::Stdio;

use reqwest::StatusCode;

use crate::harness::TestApp;

const BIN: &str = env!("CARGO_BIN_EXE_steppe");

fn backup(config: &std::path::Path, output: &std::path::Path) -> std::process::Output {
    std::process::Command::new(BIN)
        .args([
            "--config",
            config.to_str().unwrap(),
            "backup",
            "--output",
            output.to_str().unwrap(),
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A JSON document of `app` at `path`, with the instance's base URL written as BASE (two instances differ there).
async fn document(app: &TestApp, path: &str) -> String {
    app.activity_json(path)
        .await
        .to_string()
        .replace(app.config.base_url(), "BASE")
}

async fn post_ids(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT id FROM posts ORDER BY id")
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_backup_taken_while_writing_restores_the_same_blog() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[site]\npublic_url = \"https://blog.example\"\ntitle = \"Backed up\"\n[database]\nurl = \"{}\"\n",
            app.db_url
        ),
    )
    .unwrap();
    let output = dir.path().join("blog-backup.db");
    if app.db_url.starts_with("postgres") {
        let refused = backup(&config, &output);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("pg_dump"));
        assert!(!output.exists());
        app.finish().await;
        return;
    }
    app.setup_owner().await;
    for n in 0..3 {
        app.publish(&format!("Before the backup {n}"), "NGOs", "Kept.")
            .await;
    }
    let before = post_ids(&app).await;

    // The owner keeps publishing while the copy is taken.
    let writer = {
        let client = app.client.clone();
        let base = app.base.clone();
        tokio::spawn(async move {
            for n in 0..15 {
                let token =
                    crate::harness::form_token(&client, &format!("{base}/admin/posts/new"), &[])
                        .await;
                let title = format!("During the backup {n}");
                let r = crate::harness::post_form(
                    &client,
                    &format!("{base}/admin/posts/new"),
                    &[],
                    &[
                        ("csrf", token.as_str()),
                        ("title", &title),
                        ("body", "Written while copying."),
                        ("action", "publish"),
                    ],
                )
                .await;
                assert!(r.status().is_redirection(), "{}", r.status());
            }
        })
    };
    let config_path = config.clone();
    let output_path = output.clone();
    let done = tokio::task::spawn_blocking(move || backup(&config_path, &output_path))
        .await
        .unwrap();
    writer.await.unwrap();
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(done.status.success(), "{done:?}");
    assert!(stdout.contains("backup written to"), "{stdout}");
    assert!(stdout.contains("copy those too"), "{stdout}");

    // Never over an existing file.
    let again = backup(&config, &output);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    // Restored: a server on the copy serves the same actor (the same key) and the same Articles.
    let restored = TestApp::spawn_on(&format!("sqlite:{}", output.display()), None).await;
    let kept = post_ids(&restored).await;
    let after = post_ids(&app).await;
    assert!(kept.len() >= before.len() && kept.len() <= after.len());
    assert_eq!(
        &after[..kept.len()],
        &kept[..],
        "the copy is the blog as of one moment"
    );
    assert_eq!(
        document(&restored, "/users/blog").await,
        document(&app, "/users/blog").await
    );
    for id in &before {
        let path = format!("/articles/{id}");
        assert_eq!(
            document(&restored, &path).await,
            document(&app, &path).await
        );
    }
    let (status, home) = restored.page("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains("Before the backup 0"));
    restored.finish().await;

    // A database that is not there is an error, not an empty copy.
    std::fs::write(
        &config,
        "[site]\npublic_url = \"https://blog.example\"\ntitle = \"x\"\n[database]\nurl = \"sqlite:/no/such/blog.db\"\n",
    )
    .unwrap();
    let missing = backup(&config, &dir.path().join("other.db"));
    assert!(!missing.status.success());
    assert!(!std::path::Path::new("/no/such/blog.db").exists());
    app.finish().await;
}
