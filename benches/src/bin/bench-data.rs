//! Writes the benchmark inputs for the Python peer script.
//!
//! Run with: `cargo run --release -p vaultiq-benches --bin bench-data -- OUT_DIR`

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/bench-data".into()),
    );
    std::fs::create_dir_all(&out)?;
    std::fs::write(
        out.join("mixed-10mb.txt"),
        vaultiq_benches::mixed_text(10 * 1024 * 1024),
    )?;
    let passages = vaultiq_benches::passages(1000, 150);
    std::fs::write(
        out.join("passages-1000.json"),
        serde_json::to_string(&passages)?,
    )?;
    println!("{}", out.display());
    Ok(())
}
