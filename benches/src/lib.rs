//! Benchmarks and the retrieval evaluation of VaultIQ: deterministic inputs
//! shared with the Python peer script, BEIR loading and ranking metrics.

pub mod beir;
pub mod eval;
pub mod metrics;
pub mod synthetic;

use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

const WORDS: &[&str] = &[
    "deploy",
    "cluster",
    "certificate",
    "rotate",
    "incident",
    "database",
    "backup",
    "restore",
    "latency",
    "pipeline",
    "runbook",
    "service",
    "kubernetes",
    "replica",
    "alert",
    "on-call",
    "the",
    "a",
    "to",
    "of",
    "and",
    "in",
    "is",
    "for",
    "with",
    "on",
    "after",
    "before",
    "when",
    "postgres",
    "redis",
    "vpn",
    "dns",
    "token",
    "secret",
    "rollback",
    "metrics",
    "dashboard",
];

fn sentence(rng: &mut StdRng) -> String {
    let n = rng.random_range(6..24);
    let mut words: Vec<&str> = (0..n)
        .map(|_| WORDS[rng.random_range(0..WORDS.len())])
        .collect();
    if let Some(first) = words.first_mut() {
        *first = "The";
    }
    format!("{}.", words.join(" "))
}

/// About `bytes` bytes of mixed text: markdown with headings and lists,
/// prose paragraphs, code blocks, long lines and some non-ASCII.
pub fn mixed_text(bytes: usize) -> String {
    let mut rng = StdRng::seed_from_u64(7);
    let mut out = String::with_capacity(bytes + 4096);
    let mut section = 0;
    while out.len() < bytes {
        section += 1;
        out.push_str(&format!("# Runbook {section}\n\n"));
        for _ in 0..rng.random_range(1..4) {
            let paragraph: Vec<String> = (0..rng.random_range(2..8))
                .map(|_| sentence(&mut rng))
                .collect();
            out.push_str(&paragraph.join(" "));
            out.push_str("\n\n");
        }
        out.push_str("## Steps\n\n");
        for step in 1..rng.random_range(3..8) {
            out.push_str(&format!("{step}. {}\n", sentence(&mut rng)));
        }
        out.push_str("\n```sh\nkubectl -n prod rollout restart deployment/api\ncurl -fsS https://status.internal/health || exit 1\n```\n\n");
        if section % 5 == 0 {
            let long: Vec<String> = (0..60).map(|_| sentence(&mut rng)).collect();
            out.push_str(&long.join(" "));
            out.push_str("\n\nZürich — 東京 — São Paulo: résumé of the naïve café incident ✅\n\n");
        }
    }
    out
}

/// `count` passages of roughly `words` words (~1.3 tokens each).
pub fn passages(count: usize, words: usize) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(11);
    (0..count)
        .map(|_| {
            let mut text = String::new();
            while text.split_whitespace().count() < words {
                text.push_str(&sentence(&mut rng));
                text.push(' ');
            }
            text.trim_end().to_string()
        })
        .collect()
}
