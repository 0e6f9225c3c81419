//! The durable delivery queue against a fleet of test inboxes on loopback: outages, 410 and 400 answers and what
//! the owner sees of them, hanging hosts that must not hold up healthy ones, a graceful stop, a `steppe` process
//! killed mid-delivery, and (on PostgreSQL) `steppe worker` processes sharing the queue.

use std::{
    collections::HashSet,
    process::{Child, Command, Stdio},
    time::Duration,
};

use reqwest::StatusCode;
use steppe::db::Db;

use crate::{
    fleet::{Fleet, Got, Mode, counts},
    harness::{TestApp, attrs, fresh_database, texts},
};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_steppe");

/// Queue settings that make retries and pauses take seconds instead of minutes.
fn fast_retries(workers: usize, per_host: usize, timeout: u64) -> String {
    format!(
        "[delivery]\nworkers = {workers}\nper_host = {per_host}\ntimeout_seconds = {timeout}\n\
         lease_seconds = {lease}\nfirst_retry_seconds = 1\nmax_retry_seconds = 2\npause_host_after_failures = 2\n",
        lease = timeout * 3
    )
}

async fn scalar(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&db.pool).await.unwrap()
}

/// Waits until no delivery row is pending.
async fn settled(db: &Db, seconds: u64) {
    for _ in 0..seconds * 10 {
        if scalar(
            db,
            "SELECT COUNT(*) FROM deliveries WHERE status = 'pending'",
        )
        .await
            == 0
            && scalar(db, "SELECT COUNT(*) FROM outbox WHERE expanded = 0").await == 0
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("deliveries still pending after {seconds} s");
}

fn creates_with(got: &[Got], host: usize, status: u16) -> usize {
    got.iter()
        .filter(|g| g.host == host && g.activity_type == "Create" && g.status == status)
        .count()
}

/// A host that answers 503 and then is down is paused, shows so on the Deliveries page, and is delivered to once
/// it is back; a 410 removes the follower; a 400 fails with its reason shown, and "Retry now" sends it again; a
/// paused host's rows wait while others are delivered, and "Retry now" on the host ends its pause. `/metrics`
/// counts all of it.
#[tokio::test]
async fn outage_gone_and_failed_are_handled_and_shown() {
    let extra = format!(
        "{}\n[metrics]\nbind = \"127.0.0.1:0\"\n",
        fast_retries(8, 2, 2)
    );
    let app = TestApp::spawn_with(&extra).await;
    let mut fleet = Fleet::spawn(4).await;
    fleet.follow(&app.db, 2, true).await;
    fleet.set_mode(0, Mode::Status(503));
    fleet.set_mode(1, Mode::Status(410));
    fleet.set_mode(2, Mode::Status(400));
    app.setup_owner().await;
    let editor = app.publish("Outage", "", "Sent to four servers.").await;

    let got = fleet
        .wait_until(30, |g| {
            creates_with(g, 3, 202) == 1
                && creates_with(g, 1, 410) == 1
                // A 400 is tried down the signing chain (Ed25519 RFC 9421, RSA RFC 9421, draft-cavage), then
                // fails.
                && creates_with(g, 2, 400) == 3
                && creates_with(g, 0, 503) >= 2
        })
        .await;
    assert!(got.iter().all(|g| g.verified.is_ok()), "{got:?}");
    // Two followers on each host, one shared inbox each: one request per host.
    assert_eq!(creates_with(&got, 3, 202), 1);

    // Host 0 keeps failing: it is paused, and then down altogether.
    fleet.stop(0).await;
    let host0 = fleet.hosts[0].addr.to_string();
    let row = format!("tr.host[data-host=\"{host0}\"] td.state");
    let mut seen_paused = false;
    for _ in 0..200 {
        let (status, html) = app.page("/admin/deliveries").await;
        assert_eq!(status, StatusCode::OK);
        if texts(&html, &row)
            .iter()
            .any(|s| s.contains("paused until"))
        {
            seen_paused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen_paused, "the failing host is shown as paused");

    // 410: the followers reached at that inbox are gone.
    assert_eq!(
        scalar(
            &app.db,
            &format!(
                "SELECT COUNT(*) FROM followers WHERE shared_inbox = '{}'",
                fleet.shared_inbox(1)
            )
        )
        .await,
        0
    );
    assert_eq!(scalar(&app.db, "SELECT COUNT(*) FROM followers").await, 6);

    // 400: failed for good, with the reason on the page.
    let (_, html) = app.page("/admin/deliveries").await;
    let reasons = texts(&html, "table.problems td.reason").join("\n");
    assert!(reasons.contains("400 Bad Request"), "{reasons}");
    assert!(reasons.contains("410 Gone"), "{reasons}");
    // The owner hears of the delivery that failed for good.
    let (_, notices) = app.page("/admin/notifications").await;
    let failed = texts(&notices, ".notification-delivery_failed").join("\n");
    assert!(failed.contains("failed for good"), "{failed}");

    // Host 0 comes back; "Retry now" on its row ends the pause.
    fleet.set_mode(0, Mode::Accept);
    fleet.start(0).await;
    let r = app
        .submit(
            "/admin/deliveries",
            "/admin/deliveries/resume",
            &[("host", &host0)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    fleet.wait_until(30, |g| creates_with(g, 0, 202) == 1).await;

    // The 400 is fixed on their side; "Retry now" on the activity sends the failed rows again.
    fleet.set_mode(2, Mode::Accept);
    let (_, html) = app.page("/admin/deliveries").await;
    let activity = attrs(
        &html,
        "form[action=\"/admin/deliveries/retry\"] input[name=activity]",
        "value",
    );
    assert_eq!(activity.len(), 1, "one activity has failures");
    let r = app
        .submit(
            "/admin/deliveries",
            "/admin/deliveries/retry",
            &[("activity", &activity[0])],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    fleet.wait_until(30, |g| creates_with(g, 2, 202) == 1).await;
    settled(&app.db, 30).await;
    assert_eq!(
        scalar(
            &app.db,
            "SELECT COUNT(*) FROM deliveries WHERE status = 'done'"
        )
        .await,
        3
    );
    let (_, html) = app.page("/admin/deliveries").await;
    assert!(
        texts(&html, &row).is_empty(),
        "a host that answers again is no longer listed"
    );

    // Host 3 is paused for a long time (as after many failures): an edit reaches the others while its row waits
    // untried; "Retry now" on the host sends it at once.
    let host3 = fleet.hosts[3].addr.to_string();
    sqlx::query(
        "INSERT INTO delivery_hosts (host, consecutive_failures, paused_until, last_error) \
         VALUES ($1, 9, $2, 'the server answered 503 Service Unavailable')",
    )
    .bind(&host3)
    .bind(steppe::db::now() + 86_400)
    .execute(&app.db.pool)
    .await
    .unwrap();
    app.save_post(
        &editor,
        &[("title", "Outage"), ("tags", ""), ("body", "Edited.")],
        "publish",
    )
    .await;
    let updates = |g: &[Got], host: usize| {
        g.iter()
            .filter(|g| g.host == host && g.activity_type == "Update" && g.status == 202)
            .count()
    };
    fleet
        .wait_until(30, |g| updates(g, 0) == 1 && updates(g, 2) == 1)
        .await;
    let waiting: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, attempts FROM deliveries WHERE host = $1 AND status = 'pending'",
    )
    .bind(&host3)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(waiting, [("pending".to_string(), 0)]);
    let (_, html) = app.page("/admin/deliveries").await;
    let row3 = format!("tr.host[data-host=\"{host3}\"] td.state");
    assert!(
        texts(&html, &row3)
            .iter()
            .any(|s| s.contains("paused until"))
    );
    let r = app
        .submit(
            "/admin/deliveries",
            "/admin/deliveries/resume",
            &[("host", &host3)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    fleet.wait_until(30, |g| updates(g, 3) == 1).await;
    settled(&app.db, 30).await;
    // Nothing failed for good but the 410 row, which is "gone", and which "Retry now" did not send again.
    assert_eq!(
        scalar(
            &app.db,
            "SELECT COUNT(*) FROM deliveries WHERE status = 'failed'"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &app.db,
            "SELECT COUNT(*) FROM deliveries WHERE status = 'gone'"
        )
        .await,
        1
    );
    assert_eq!(creates_with(&fleet.received(), 1, 410), 1);

    let metrics = app.metrics().await;
    assert!(
        metrics.contains("steppe_deliveries_total{outcome=\"delivered\"} 6"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("steppe_deliveries_total{outcome=\"gone\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("steppe_delivery_queue_depth{state=\"failed\"} 1"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("steppe_delivery_host_pauses_total 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("steppe_delivery_send_seconds_count"),
        "{metrics}"
    );
    app.finish().await;
}

/// With one host in twenty hanging (never answering), every healthy inbox is delivered while the hanging host's
/// rows are still waiting on their first timeout: it holds at most `per_host` requests, not the workers.
#[tokio::test]
async fn hanging_hosts_do_not_hold_up_healthy_ones() {
    let app = TestApp::spawn_with(&fast_retries(4, 2, 60)).await;
    let fleet = Fleet::spawn(20).await;
    fleet.set_mode(0, Mode::Hang);
    fleet.follow(&app.db, 5, false).await;
    app.setup_owner().await;
    app.publish("Isolation", "", "Healthy servers first.").await;
    let got = fleet
        .wait_until(60, |g| counts(g, "Create").len() == 95)
        .await;
    assert!(got.iter().all(|g| g.host != 0 && g.verified.is_ok()));
    let host0 = fleet.hosts[0].addr.to_string();
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, attempts FROM deliveries WHERE host = $1")
            .bind(&host0)
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter().all(|(s, a)| s == "pending" && *a == 0),
        "the hanging host's rows are still on their first attempt: {rows:?}"
    );
    app.finish().await;
}

/// A graceful stop (SIGTERM) lets the requests in flight finish and releases the rows claimed but not sent; the
/// next start delivers the rest, each exactly once.
#[tokio::test]
async fn graceful_stop_releases_claimed_rows() {
    let mut app = TestApp::spawn_with(&fast_retries(2, 1, 2)).await;
    let fleet = Fleet::spawn(2).await;
    fleet.set_mode(0, Mode::Slow(Duration::from_millis(200)));
    fleet.set_mode(1, Mode::Slow(Duration::from_millis(200)));
    fleet.follow(&app.db, 15, false).await;
    app.setup_owner().await;
    app.publish("Graceful", "", "Stop and go.").await;
    fleet.wait_until(30, |g| g.len() >= 4).await;
    app.shutdown().await;
    let at_stop = fleet.received().len();
    assert!(at_stop < 30, "stopped part-way ({at_stop})");
    assert_eq!(
        scalar(
            &app.db,
            "SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND locked_until > 0"
        )
        .await,
        0,
        "no row stays leased after a graceful stop"
    );
    app.start_again().await;
    let got = fleet
        .wait_until(60, |g| counts(g, "Create").len() == 30)
        .await;
    settled(&app.db, 30).await;
    let got_now = fleet.received();
    assert_eq!(got_now.len(), 30, "each inbox exactly once: {}", got.len());
    app.finish().await;
}

/// A `steppe` process spawned from the binary, killed when dropped.
pub(crate) struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Writes a config file for a spawned `steppe` on `port` and returns its path and parsed form.
pub(crate) fn config_file(
    dir: &std::path::Path,
    port: u16,
    db_url: &str,
    delivery: &str,
) -> (std::path::PathBuf, steppe::config::Config) {
    let text = format!(
        "[site]\npublic_url = \"http://127.0.0.1:{port}\"\ntitle = \"Spawned\"\n\
         [server]\nbind = \"127.0.0.1:{port}\"\n[database]\nurl = \"{db_url}\"\nmax_connections = 4\n\
         [media]\ndir = \"{media}\"\n[federation]\nallow_private_addresses = true\n{delivery}",
        media = dir.join("media").display()
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, &text).unwrap();
    let config = steppe::config::Config::from_toml(&text, []).unwrap();
    (path, config)
}

/// Runs `steppe migrate` with a config file, so that the test can seed the database before serving.
pub(crate) fn migrate(config: &std::path::Path) {
    let out = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("migrate")
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

pub(crate) fn spawn_steppe(
    config: &std::path::Path,
    args: &[&str],
    env: &[(&str, String)],
) -> Proc {
    let child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Proc(child)
}

/// The value of the counter `series` (name and labels) on the `/metrics` listener at `addr`.
pub(crate) async fn counter(addr: &str, series: &str) -> u64 {
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(series))
        .unwrap_or_else(|| panic!("no {series} in {text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

pub(crate) async fn wait_up(url: &str) {
    for _ in 0..300 {
        if reqwest::get(url)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not come up");
}

/// Kill -9 part-way through a fan-out to 200 inboxes on 20 hosts, start again: every inbox gets the post, nothing
/// failed, and duplicates are bounded by the rows the killed process held.
#[tokio::test]
async fn killed_mid_delivery_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (db_url, cleanup) = fresh_database(&dir).await;
    let port = free_port();
    let workers = 8;
    let (config_path, config) =
        config_file(dir.path(), port, &db_url, &fast_retries(workers, 1, 2));
    migrate(&config_path);
    let fleet = Fleet::spawn(20).await;
    for h in 0..20 {
        fleet.set_mode(h, Mode::Slow(Duration::from_millis(150)));
    }
    let db = Db::connect(&db_url, 2).await.unwrap();
    fleet.follow(&db, 10, false).await;

    let base = format!("http://127.0.0.1:{port}");
    let first = spawn_steppe(&config_path, &["serve"], &[]);
    wait_up(&format!("{base}/healthz")).await;
    let app = TestApp::attach(&base, &db_url, config.clone(), tempfile::tempdir().unwrap()).await;
    app.setup_owner().await;
    app.publish("Crash", "", "Killed part-way.").await;
    fleet.wait_until(60, |g| g.len() >= 30).await;
    drop(first); // SIGKILL
    let at_kill = fleet.received().len();
    eprintln!("killed after {at_kill} of 200 requests");
    assert!(at_kill < 200, "killed part-way ({at_kill} of 200)");

    let _second = spawn_steppe(&config_path, &["serve"], &[]);
    wait_up(&format!("{base}/healthz")).await;
    let got = fleet
        .wait_until(120, |g| counts(g, "Create").len() == 200)
        .await;
    settled(&db, 60).await;
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM deliveries WHERE status = 'failed'"
        )
        .await,
        0,
        "nothing failed"
    );
    let got = fleet.received().len().max(got.len());
    eprintln!("{} requests in all for 200 inboxes", got);
    assert!(
        got - 200 <= 2 * workers,
        "duplicates only for rows held at the kill: {} extra",
        got - 200
    );
    assert!(fleet.received().iter().all(|g| g.verified.is_ok()));
    drop(_second);
    db.pool.close().await;
    app.finish().await;
    drop_database(cleanup).await;
}

pub(crate) async fn drop_database(cleanup: Option<(String, String)>) {
    if let Some((admin_url, name)) = cleanup {
        use sqlx::{Connection, Executor};
        if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin_url).await {
            let _ = conn
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await;
        }
    }
}

/// Scale-out on PostgreSQL: one `steppe serve` and two `steppe worker` processes share the queue; 1,000 inboxes
/// each receive the post exactly once, and every process delivered some of them.
#[tokio::test]
async fn workers_share_the_queue_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let (db_url, cleanup) = fresh_database(&dir).await;
    if cleanup.is_none() {
        return; // SQLite: one process owns the file.
    }
    let port = free_port();
    let (config_path, config) = config_file(dir.path(), port, &db_url, &fast_retries(16, 2, 5));
    migrate(&config_path);
    let fleet = Fleet::spawn(20).await;
    for h in 0..20 {
        fleet.set_mode(h, Mode::Slow(Duration::from_millis(100)));
    }
    let db = Db::connect(&db_url, 2).await.unwrap();
    fleet.follow(&db, 50, false).await;

    let metrics: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let base = format!("http://127.0.0.1:{port}");
    let mut procs = vec![spawn_steppe(
        &config_path,
        &["serve"],
        &[("STEPPE_METRICS__BIND", metrics[0].clone())],
    )];
    for m in &metrics[1..] {
        procs.push(spawn_steppe(
            &config_path,
            &["worker", "--workers", "16"],
            &[("STEPPE_METRICS__BIND", m.clone())],
        ));
    }
    wait_up(&format!("{base}/healthz")).await;
    for m in &metrics {
        wait_up(&format!("http://{m}/metrics")).await;
    }
    let app = TestApp::attach(&base, &db_url, config, tempfile::tempdir().unwrap()).await;
    app.setup_owner().await;
    app.publish("Scale out", "", "Three processes, one queue.")
        .await;
    fleet
        .wait_until(120, |g| counts(g, "Create").len() == 1000)
        .await;
    settled(&db, 60).await;
    let got = fleet.received();
    let per_inbox = counts(&got, "Create");
    assert!(
        per_inbox.values().all(|n| *n == 1),
        "each inbox exactly once"
    );
    assert_eq!(got.len(), 1000);
    let ids: HashSet<&str> = got.iter().map(|g| g.activity_id.as_str()).collect();
    assert_eq!(ids.len(), 1, "one activity");
    let mut delivered = Vec::new();
    for m in &metrics {
        delivered.push(counter(m, "steppe_deliveries_total{outcome=\"delivered\"}").await);
    }
    assert_eq!(delivered.iter().sum::<u64>(), 1000, "{delivered:?}");
    assert!(
        delivered.iter().all(|n| *n > 0),
        "every process delivered some: {delivered:?}"
    );
    let hosts: HashSet<usize> = got.iter().map(|g| g.host).collect();
    assert_eq!(hosts.len(), 20);
    drop(procs);
    db.pool.close().await;
    app.finish().await;
    drop_database(cleanup).await;
}

/// Delivered rows older than `delivery.keep_done_days` are removed, and so are activities left with no rows;
/// pending and failed rows stay.
#[tokio::test]
async fn old_delivered_rows_are_swept() {
    let app = TestApp::spawn_with("[delivery]\nworkers = 0\n").await;
    let fleet = Fleet::spawn(3).await;
    fleet.follow(&app.db, 1, false).await;
    app.setup_owner().await;
    app.publish("Swept", "", "Old news.").await;
    // No worker runs (workers = 0): expand by hand through the queue's own functions.
    let job = steppe::db::deliveries::claim_expansion(&app.db, 60)
        .await
        .unwrap()
        .expect("an activity to expand");
    assert_eq!(
        steppe::db::deliveries::expand_batch(&app.db, &job, 1000, 3600)
            .await
            .unwrap(),
        3
    );
    sqlx::query("UPDATE deliveries SET status = 'done', updated_at = 1 WHERE inbox = $1")
        .bind(fleet.inbox(0, 0))
        .execute(&app.db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE deliveries SET status = 'failed', updated_at = 1 WHERE inbox = $1")
        .bind(fleet.inbox(1, 0))
        .execute(&app.db.pool)
        .await
        .unwrap();
    let removed = steppe::db::deliveries::sweep(&app.db, 100).await.unwrap();
    assert_eq!(removed, 1);
    let left: Vec<String> = sqlx::query_scalar("SELECT status FROM deliveries ORDER BY status")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(left, ["failed", "pending"]);
    assert_eq!(scalar(&app.db, "SELECT COUNT(*) FROM outbox").await, 1);
    // Once nothing is left of it, the activity goes too (it was created before `before`).
    sqlx::query("DELETE FROM deliveries")
        .execute(&app.db.pool)
        .await
        .unwrap();
    steppe::db::deliveries::sweep(&app.db, steppe::db::now() + 1)
        .await
        .unwrap();
    assert_eq!(scalar(&app.db, "SELECT COUNT(*) FROM outbox").await, 0);
    assert!(fleet.received().is_empty(), "workers = 0: nothing sent");
    app.finish().await;
}
