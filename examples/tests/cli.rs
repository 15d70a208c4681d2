//! The `vaultiq` binary end to end: JSON shapes, incremental ingest, errors,
//! and SIGKILL mid-sync followed by a clean recovery.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// `vaultiq --data-dir DIR ARGS...`, run from a neutral directory so no
/// stray `vaultiq.toml` is picked up.
fn vaultiq(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vaultiq"));
    cmd.arg("--data-dir")
        .arg(data_dir)
        .current_dir(std::env::temp_dir());
    cmd.env_remove("VAULTIQ_FAILPOINT")
        .env_remove("VAULTIQ_DATA_DIR");
    cmd
}

fn run_ok(cmd: &mut Command) -> Output {
    let output = cmd.output().expect("run vaultiq");
    assert!(
        output.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    output
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

fn ingest(data_dir: &Path) -> Output {
    run_ok(
        vaultiq(data_dir)
            .args(["--quiet", "ingest", "--name", "samples"])
            .arg(corpus()),
    )
}

#[test]
fn ingest_ask_search_and_sources() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = run_ok(
        vaultiq(dir.path())
            .args(["ingest", "--name", "samples"])
            .arg(corpus()),
    );
    let progress = String::from_utf8_lossy(&first.stderr);
    assert!(
        progress.contains("indexed") && progress.contains("done"),
        "{progress}"
    );

    let again = run_ok(
        vaultiq(dir.path())
            .args(["ingest", "--name", "samples"])
            .arg(corpus()),
    );
    let progress = String::from_utf8_lossy(&again.stderr);
    assert!(
        progress.contains(" 0 indexed"),
        "a re-run indexes nothing new: {progress}"
    );

    let answer = json(&run_ok(vaultiq(dir.path()).args([
        "ask",
        "How do I rotate the TLS certificates?",
        "--json",
        "--top-k",
        "5",
    ])));
    let keys: Vec<&str> = answer
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["answer", "query", "sources", "timestamp"]);
    assert!(answer["answer"].as_str().expect("answer").contains("[1]"));
    let source = &answer["sources"][0];
    let mut fields: Vec<&str> = source
        .as_object()
        .expect("source")
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["relevance_score", "snippet", "source_type", "title", "url"]
    );
    assert_eq!(source["source_type"], "files");
    assert!(source["url"].as_str().expect("url").starts_with("file://"));
    let score = source["relevance_score"].as_f64().expect("score");
    assert!((0.0..=1.0).contains(&score));
    let timestamp = answer["timestamp"].as_str().expect("timestamp");
    assert!(
        timestamp.ends_with('Z') && timestamp.len() == 20,
        "{timestamp}"
    );

    let sources = json(&run_ok(vaultiq(dir.path()).args(["sources", "--json"])));
    let total = sources["total_documents"].as_u64().expect("total");
    assert!(total >= 30);
    assert_eq!(sources["sources"]["files"].as_u64(), Some(total));

    let hits = json(&run_ok(vaultiq(dir.path()).args([
        "search",
        "restore postgres",
        "--json",
    ])));
    let hit = &hits["hits"][0];
    assert!(hit["chunk_id"]
        .as_str()
        .expect("chunk id")
        .starts_with("files:samples:"));
    assert!(hit["retrievers"].as_array().is_some_and(|r| !r.is_empty()));

    let filtered = json(&run_ok(vaultiq(dir.path()).args([
        "ask",
        "How do I rotate the TLS certificates?",
        "--json",
        "--source-filter",
        "slack,jira",
    ])));
    assert_eq!(filtered["sources"].as_array().map(Vec::len), Some(0));
}

#[test]
fn errors_go_to_stderr_with_a_failure_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nothing-here");
    let output = vaultiq(&missing)
        .args(["ask", "hello?"])
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no index"));
    assert!(!missing.exists(), "asking does not create an empty index");

    let output = vaultiq(dir.path())
        .args(["ingest", "/definitely/not/here"])
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/definitely/not/here"));

    ingest(dir.path());
    let output = vaultiq(dir.path())
        .args(["ask", "x", "--source-filter", "wiki"])
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("wiki") && stderr.contains("confluence"),
        "{stderr}"
    );
    let output = vaultiq(dir.path())
        .args(["ask", "x", "--top-k", "0"])
        .output()
        .expect("run");
    assert!(!output.status.success());
}

#[cfg(feature = "failpoints")]
mod crash {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::sync::mpsc;
    use std::time::Duration;

    const PROBES: &[&str] = &[
        "rotate TLS certificates",
        "restore postgres backup",
        "VPN does not connect",
    ];

    /// What search sees of an index: hit ids per probe, and the counts.
    fn fingerprint(data_dir: &Path) -> Vec<String> {
        let mut lines = vec![json(&run_ok(vaultiq(data_dir).args(["sources", "--json"])))
            ["sources"]
            .to_string()];
        for probe in PROBES {
            for mode in ["keyword", "vector", "hybrid"] {
                let hits =
                    json(&run_ok(vaultiq(data_dir).args([
                        "search", probe, "--json", "--top-k", "10", "--mode", mode,
                    ])));
                let ids: Vec<String> = hits["hits"]
                    .as_array()
                    .expect("hits")
                    .iter()
                    .map(|h| h["chunk_id"].as_str().expect("id").to_string())
                    .collect();
                lines.push(format!("{probe}/{mode}: {}", ids.join(" ")));
            }
        }
        lines
    }

    /// Starts an ingest in small batches and SIGKILLs it when stderr shows
    /// `trigger`; no sleeps, the child's own output is the signal.
    fn kill_ingest_at(data_dir: &Path, failpoint: Option<&str>, trigger: &str) {
        let mut cmd = vaultiq(data_dir);
        cmd.args(["ingest", "--name", "samples", "--batch-size", "8"])
            .arg(corpus());
        if let Some(point) = failpoint {
            // The second batch: the first one is committed by then.
            cmd.env("VAULTIQ_FAILPOINT", format!("{point}:pause@2"));
        }
        let mut child = cmd
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Duration::from_secs(300);
        loop {
            match rx.recv_timeout(deadline) {
                Ok(line) if line.contains(trigger) => break,
                Ok(_) => continue,
                Err(err) => {
                    let _ = child.kill();
                    panic!("ingest never printed {trigger:?}: {err}");
                }
            }
        }
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        assert!(!status.success(), "the child was killed, it did not finish");
    }

    #[test]
    fn sigkill_at_any_stage_then_resync_equals_a_clean_run() {
        let clean = tempfile::tempdir().expect("tempdir");
        run_ok(
            vaultiq(clean.path())
                .args([
                    "--quiet",
                    "ingest",
                    "--name",
                    "samples",
                    "--batch-size",
                    "8",
                ])
                .arg(corpus()),
        );
        let expected = fingerprint(clean.path());

        let mut cases: Vec<(Option<&str>, String)> = [
            "after_lake_write",
            "after_embed",
            "after_upsert",
            "before_checkpoint",
        ]
        .iter()
        .map(|p| (Some(*p), format!("failpoint {p} reached")))
        .collect();
        // And at an ordinary moment: right after the first batch committed.
        cases.push((None, "samples: ".to_string()));
        for (failpoint, trigger) in cases {
            let dir = tempfile::tempdir().expect("tempdir");
            kill_ingest_at(dir.path(), failpoint, &trigger);
            run_ok(
                vaultiq(dir.path())
                    .args([
                        "--quiet",
                        "ingest",
                        "--name",
                        "samples",
                        "--batch-size",
                        "8",
                    ])
                    .arg(corpus()),
            );
            assert_eq!(
                fingerprint(dir.path()),
                expected,
                "after SIGKILL at {failpoint:?}"
            );
        }
    }
}

#[test]
fn sync_reads_sources_from_the_config_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("vaultiq.toml");
    let corpus = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        corpus.path().join("dns.md"),
        "# DNS\n\nInternal zones are served by CoreDNS on port 53.\n",
    )
    .expect("write");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"kb\"\n\n[[sources]]\ntype = \"files\"\nname = \"notes\"\npath = {:?}\n",
            corpus.path().display().to_string()
        ),
    )
    .expect("write config");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vaultiq"));
    cmd.arg("--config")
        .arg(&config)
        .args(["--quiet", "sync"])
        .env_remove("VAULTIQ_DATA_DIR");
    run_ok(&mut cmd);
    assert!(
        dir.path().join("kb").join("store.sqlite").is_file(),
        "data_dir is relative to the config file"
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vaultiq"));
    cmd.arg("--config")
        .arg(&config)
        .args(["sources", "--json"])
        .env_remove("VAULTIQ_DATA_DIR");
    assert_eq!(json(&run_ok(&mut cmd))["sources"]["files"], 1);

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vaultiq"));
    cmd.arg("--config")
        .arg(&config)
        .args(["sync", "--source", "wiki"])
        .env_remove("VAULTIQ_DATA_DIR");
    let output = cmd.output().expect("run");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("notes"),
        "lists the configured sources"
    );

    std::fs::write(&config, "[store]\nkind = \"faiss\"\n").expect("write config");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vaultiq"));
    cmd.arg("--config").arg(&config).arg("sync");
    let output = cmd.output().expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("vaultiq.toml") && stderr.contains("store.kind"),
        "{stderr}"
    );
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

#[test]
fn init_writes_a_usable_config_and_keeps_an_existing_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vaultiq.toml");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vaultiq"));
    cmd.arg("init").arg(&path).current_dir(dir.path());
    run_ok(&mut cmd);
    let written = std::fs::read_to_string(&path).expect("written");
    assert!(written.contains("[[sources]]") && written.contains("## "));

    std::fs::write(&path, "# mine\n").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_vaultiq"))
        .arg("init")
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(code(&output), 2, "refuses to overwrite");
    assert!(String::from_utf8_lossy(&output.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vaultiq"));
    cmd.args(["init", "--force", "--json"]).arg(&path);
    assert_eq!(
        json(&run_ok(&mut cmd))["written"],
        path.display().to_string()
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written);

    // The example is a valid config: run from its folder it is picked up,
    // and sync explains that no source is configured yet.
    let output = Command::new(env!("CARGO_BIN_EXE_vaultiq"))
        .arg("sync")
        .current_dir(dir.path())
        .env_remove("VAULTIQ_DATA_DIR")
        .env_remove("VAULTIQ_CONFIG")
        .output()
        .expect("run");
    assert_eq!(code(&output), 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("no sources are configured"));
}

#[test]
fn reindex_and_status_report_per_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    ingest(dir.path());
    let before = json(&run_ok(vaultiq(dir.path()).args(["sources", "--json"])));
    let total = before["total_documents"].as_u64().expect("total");

    let report = json(&run_ok(vaultiq(dir.path()).args(["reindex", "--json"])));
    assert_eq!(report["indexed"].as_u64(), Some(total));
    assert_eq!(report["sources"][0]["source"], "samples");
    assert_eq!(report["sources"][0]["finished"], true);
    assert!(report["sources"][0]["chunks"].as_u64().unwrap() >= total);
    let after = json(&run_ok(vaultiq(dir.path()).args(["sources", "--json"])));
    assert_eq!(after["sources"], before["sources"]);

    let status = json(&run_ok(vaultiq(dir.path()).args(["status", "--json"])));
    let source = &status["sources"][0];
    assert_eq!(source["name"], "samples");
    assert_eq!(source["documents"].as_u64(), Some(total));
    assert_eq!(source["configured"], false);
    assert_eq!(source["last_sync"]["result"], "ok");
    assert_eq!(source["last_sync"]["ok"], true);
    assert!(source["last_sync"]["finished_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    assert_eq!(status["documents"]["total_documents"].as_u64(), Some(total));
    let text = run_ok(vaultiq(dir.path()).arg("status"));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("samples") && text.contains("ok"), "{text}");

    let output = vaultiq(dir.path())
        .args(["reindex", "--source", "wiki"])
        .output()
        .expect("run");
    assert_eq!(code(&output), 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("samples"));
}

#[test]
fn exit_codes_tell_usage_from_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let usage = |args: &[&str]| {
        let output = vaultiq(dir.path()).args(args).output().expect("run");
        assert_eq!(
            code(&output),
            2,
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    usage(&["--no-such-flag", "status"]);
    usage(&["ask", "anything"]); // no index yet
    usage(&["sync", "--every", "15"]); // no unit
    let help = run_ok(vaultiq(dir.path()).arg("--help"));
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("Exit codes") && help.contains("130"),
        "{help}"
    );
    assert!(help.contains("VAULTIQ_SERVER_ADDR"), "{help}");
    ingest(dir.path());
    usage(&["ask", "x", "--top-k", "0"]);
    usage(&["search", "x", "--mode", "fuzzy"]);

    // A bad override names its variable.
    let output = vaultiq(dir.path())
        .env("VAULTIQ_CHUNKER_CHUNK_SIZE", "big")
        .arg("status")
        .output()
        .expect("run");
    assert_eq!(code(&output), 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("VAULTIQ_CHUNKER_CHUNK_SIZE"));
}

/// Reads a child's stderr lines on a thread, so waits can be bounded.
#[cfg(unix)]
fn stderr_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::{BufRead, BufReader};
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits (bounded) for a line containing `what`; returns the lines seen.
#[cfg(unix)]
fn wait_for_line(lines: &std::sync::mpsc::Receiver<String>, what: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(what);
                seen.push(line);
                if found {
                    return seen;
                }
            }
            Err(err) => panic!("no line with {what:?} ({err}); saw {seen:#?}"),
        }
    }
}

#[cfg(unix)]
fn signal(child: &std::process::Child, name: &str) {
    // `kill(1)` keeps the test free of unsafe code.
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
}

#[cfg(unix)]
fn wait_exit(mut child: std::process::Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the process did not exit in time");
        }
        std::thread::park_timeout(std::time::Duration::from_millis(20));
    }
}

#[cfg(unix)]
#[test]
fn periodic_sync_repeats_and_stops_cleanly_on_ctrl_c() {
    use std::process::Stdio;

    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        corpus.path().join("ntp.md"),
        "# NTP\n\nAll hosts sync time from ntp.internal.\n",
    )
    .expect("write");
    let config = dir.path().join("vaultiq.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"kb\"\n\n[[sources]]\ntype = \"files\"\nname = \"notes\"\npath = {:?}\n",
            corpus.path().display().to_string()
        ),
    )
    .expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vaultiq"))
        .arg("--config")
        .arg(&config)
        .args(["sync", "--every", "1s"])
        .env_remove("VAULTIQ_DATA_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let lines = stderr_lines(&mut child);
    let first = wait_for_line(&lines, "next sync in");
    assert!(first.iter().any(|l| l.contains("1 indexed")), "{first:#?}");
    // The second run finds nothing new: it ran again on schedule.
    let second = wait_for_line(&lines, "next sync in");
    assert!(
        second.iter().any(|l| l.contains("0 indexed")),
        "{second:#?}"
    );

    signal(&child, "INT");
    let status = wait_exit(child);
    // Between runs it exits 0; had a run just started, it stops after its
    // batch with 130. Either way it stopped cleanly, on request.
    let rest: Vec<String> = lines.try_iter().collect();
    assert!(
        matches!(status.code(), Some(0 | 130)),
        "{status}: {rest:#?}"
    );
    assert!(rest.iter().any(|l| l.contains("stop")), "{rest:#?}");

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vaultiq"));
    cmd.arg("--config")
        .arg(&config)
        .args(["status", "--json"])
        .env_remove("VAULTIQ_DATA_DIR");
    let status = json(&run_ok(&mut cmd));
    let source = &status["sources"][0];
    assert_eq!(source["name"], "notes");
    assert_eq!(source["type"], "files");
    assert_eq!(source["configured"], true);
    assert_eq!(source["documents"], 1);
}

#[cfg(all(unix, feature = "failpoints"))]
#[test]
fn a_second_writer_is_refused_while_one_runs() {
    use std::process::Stdio;

    let dir = tempfile::tempdir().expect("tempdir");
    // A small first batch, so the pause comes soon.
    let mut first = vaultiq(dir.path())
        .args(["ingest", "--name", "samples", "--batch-size", "2"])
        .arg(corpus())
        .env("VAULTIQ_FAILPOINT", "after_embed:pause")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let lines = stderr_lines(&mut first);
    wait_for_line(&lines, "failpoint after_embed reached");

    for args in [&["ingest", "--name", "samples"][..], &["reindex"][..]] {
        let mut cmd = vaultiq(dir.path());
        cmd.args(args);
        if args[0] == "ingest" {
            cmd.arg(corpus());
        }
        let output = cmd.output().expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code(&output), 3, "{args:?}: {stderr}");
        assert!(
            stderr.contains("another vaultiq run")
                && stderr.contains(&format!("pid {}", first.id())),
            "{stderr}"
        );
    }
    // Reading is never blocked by a writer.
    run_ok(vaultiq(dir.path()).args(["status", "--json"]));

    first.kill().expect("SIGKILL");
    first.wait().expect("wait");
    // The OS released the lock of the killed process: no stale lock.
    ingest(dir.path());
}
