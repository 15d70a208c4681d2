//! `vaultiq init --create-table` against moto (`VAULTIQ_MOTO_URL`, started
//! by `make test-aws`; skipped with a message otherwise): creates the
//! DynamoDB state table the config names, accepts it the second time, and
//! refuses a config whose state is not DynamoDB.

#![cfg(feature = "aws")]
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::process::Command;

fn run(args: &[&str], dir: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vaultiq"))
        .args(args)
        .current_dir(dir)
        .env_remove("VAULTIQ_CONFIG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn init_create_table_creates_the_state_table_once() {
    let Ok(url) = std::env::var("VAULTIQ_MOTO_URL") else {
        eprintln!("skipped: VAULTIQ_MOTO_URL is not set (`make test-aws` starts moto)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let table = format!("cli-state-{}-{nanos}", std::process::id());
    std::fs::write(
        dir.path().join("vaultiq.toml"),
        format!(
            "[aws]\nregion = \"us-east-1\"\nendpoint_url = \"{url}\"\n[state]\nkind = \"dynamodb\"\ntable = \"{table}\"\n"
        ),
    )
    .unwrap();
    let (code, out, err) = run(&["init", "--create-table"], dir.path());
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("Created DynamoDB table {table}")),
        "{out}"
    );
    let (code, out, err) = run(&["--json", "init", "--create-table"], dir.path());
    assert_eq!(code, 0, "{out}{err}");
    let body: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(body["created"], false);
    assert_eq!(body["table"], table.as_str());

    std::fs::write(
        dir.path().join("sqlite.toml"),
        "[state]\nkind = \"sqlite\"\n",
    )
    .unwrap();
    let (code, _, err) = run(&["init", "--create-table", "sqlite.toml"], dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("dynamodb"), "{err}");
}
