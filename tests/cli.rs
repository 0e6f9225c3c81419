//! The `steppe` binary: `check-config` names the bad key, `migrate`, `admin create-owner` and `admin reset-password`
//! work headless, and the owner created that way logs in through the web form.

use std::{io::Write, process::Stdio};

use reqwest::StatusCode;

use crate::harness::{TestApp, fresh_database, texts};

const BIN: &str = env!("CARGO_BIN_EXE_steppe");

fn write_config(dir: &std::path::Path, db_url: &str) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!("[site]\npublic_url = \"https://blog.example\"\ntitle = \"CLI blog\"\n[database]\nurl = \"{db_url}\"\n"),
    )
    .unwrap();
    path
}

/// Runs the binary with only the environment it is given (plus PATH), so that the developer's STEPPE_ variables
/// do not leak in.
fn steppe(args: &[&str], env: &[(&str, &str)], stdin: &str) -> std::process::Output {
    let mut child = std::process::Command::new(BIN)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn check_config_names_the_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "sqlite:x.db");
    let config = config.to_str().unwrap();
    let ok = steppe(&["--config", config, "check-config"], &[], "");
    assert!(ok.status.success(), "{ok:?}");

    let bad = steppe(
        &["--config", config, "check-config"],
        &[("STEPPE_SERVER__BIND", "everywhere")],
        "",
    );
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("server.bind"), "{stderr}");

    // The shipped config.toml is valid as it is.
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml");
    let ok = steppe(&["--config", shipped, "check-config"], &[], "");
    assert!(ok.status.success(), "{ok:?}");
}

#[tokio::test]
async fn create_owner_headless_then_log_in_on_the_web() {
    let dir = tempfile::tempdir().unwrap();
    let (db_url, cleanup) = fresh_database(&dir).await;
    let config = write_config(dir.path(), &db_url);
    let config = config.to_str().unwrap();

    let migrated = steppe(&["--config", config, "migrate"], &[], "");
    assert!(migrated.status.success(), "{migrated:?}");

    let short = steppe(
        &[
            "--config",
            config,
            "admin",
            "create-owner",
            "--username",
            "cli",
            "--display-name",
            "CLI Owner",
        ],
        &[],
        "short\n",
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 10 characters"));

    let created = steppe(
        &[
            "--config",
            config,
            "admin",
            "create-owner",
            "--username",
            "cli",
            "--display-name",
            "CLI Owner",
        ],
        &[],
        "a long enough password\n",
    );
    assert!(created.status.success(), "{created:?}");
    let again = steppe(
        &[
            "--config",
            config,
            "admin",
            "create-owner",
            "--username",
            "other",
            "--display-name",
            "Other",
        ],
        &[],
        "a long enough password\n",
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // A server on the same database shows the login form (not setup) and accepts the password.
    let app = TestApp::spawn_on(&db_url, cleanup).await;
    let (_, html) = app.page("/admin").await;
    assert_eq!(texts(&html, "h1"), ["Log in"]);
    let r = app.log_in("cli", "a long enough password").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.page("/admin").await;
    assert!(html.contains("CLI Owner"));

    // A forgotten password is reset from the command line: the old one and every session stop working.
    let reset = |user: &'static str, password: &'static str| {
        steppe(
            &[
                "--config",
                config,
                "admin",
                "reset-password",
                "--username",
                user,
            ],
            &[],
            password,
        )
    };
    let short = reset("cli", "short\n");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 10 characters"));
    let nobody = reset("nobody", "a new long password\n");
    assert!(!nobody.status.success());
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("no account"));
    let done = reset("cli", "a new long password\n");
    assert!(done.status.success(), "{done:?}");
    let (_, html) = app.page("/admin").await;
    assert_eq!(texts(&html, "h1"), ["Log in"], "the session ended");
    assert_eq!(
        app.log_in("cli", "a long enough password").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.log_in("cli", "a new long password").await.status(),
        StatusCode::SEE_OTHER
    );
    app.finish().await;
}
