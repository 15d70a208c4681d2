//! Replays the LangChain parity fixture against the Rust splitter.
//!
//! `tests/fixtures/chunker_langchain.json` holds the output of the real
//! `langchain_text_splitters.RecursiveCharacterTextSplitter` (version pinned
//! in the file) for many texts and settings; it is produced by
//! `scripts/gen_chunker_fixture.py` (and `--check`ed by `make test`). Every
//! case must give identical chunks and identical start offsets.

use std::path::PathBuf;

use serde_json::Value;
use vaultiq_core::chunker::RecursiveTextSplitter;

/// One fixture case, decoded from JSON.
#[derive(Debug)]
struct Case {
    name: String,
    text: String,
    chunk_size: usize,
    chunk_overlap: usize,
    /// `None` means LangChain's default separators.
    separators: Option<Vec<String>>,
    expected_chunks: Vec<String>,
    expected_start_indices: Vec<usize>,
}

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join("chunker_langchain.json")
}

fn str_list(v: &Value, what: &str) -> Result<Vec<String>, String> {
    v.as_array()
        .ok_or_else(|| format!("{what}: not an array"))?
        .iter()
        .map(|s| {
            s.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("{what}: non-string element"))
        })
        .collect()
}

fn usize_field(v: &Value, key: &str, name: &str) -> Result<usize, String> {
    v.get(key)
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| format!("case {name}: '{key}' is not a non-negative integer"))
}

fn load_cases() -> Result<Vec<Case>, String> {
    let path = fixture_path();
    let raw = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let doc: Value =
        serde_json::from_str(&raw).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    let cases = doc
        .get("cases")
        .and_then(Value::as_array)
        .ok_or("fixture has no 'cases' array")?;
    cases
        .iter()
        .map(|c| {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .ok_or("case without a name")?
                .to_owned();
            let text = c
                .get("text")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("case {name}: no text"))?
                .to_owned();
            let separators = match c.get("separators") {
                None | Some(Value::Null) => None,
                Some(v) => Some(str_list(v, &format!("case {name}: separators"))?),
            };
            let expected_chunks = str_list(
                c.get("expected_chunks").unwrap_or(&Value::Null),
                &format!("case {name}: expected_chunks"),
            )?;
            let expected_start_indices = c
                .get("expected_start_indices")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("case {name}: no expected_start_indices"))?
                .iter()
                .map(|n| {
                    n.as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or_else(|| format!("case {name}: bad start index {n}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Case {
                chunk_size: usize_field(c, "chunk_size", &name)?,
                chunk_overlap: usize_field(c, "chunk_overlap", &name)?,
                name,
                text,
                separators,
                expected_chunks,
                expected_start_indices,
            })
        })
        .collect()
}

/// Describes the first difference between two chunk lists, or `None`.
fn first_difference<T: PartialEq + std::fmt::Debug>(
    expected: &[T],
    actual: &[T],
) -> Option<String> {
    if expected == actual {
        return None;
    }
    let i = expected
        .iter()
        .zip(actual)
        .position(|(e, a)| e != a)
        .unwrap_or(expected.len().min(actual.len()));
    Some(format!(
        "expected {} items, got {}; first difference at #{i}: expected {:?}, got {:?}",
        expected.len(),
        actual.len(),
        expected.get(i),
        actual.get(i),
    ))
}

fn run_case(case: &Case) -> Result<(), String> {
    let mut splitter = RecursiveTextSplitter::new(case.chunk_size, case.chunk_overlap)?;
    if let Some(separators) = &case.separators {
        splitter = splitter.with_separators(separators.clone());
    }

    let chunks = splitter.split_text(&case.text);
    if let Some(diff) = first_difference(&case.expected_chunks, &chunks) {
        return Err(format!("chunks differ: {diff}"));
    }

    let with_offsets = splitter.split_text_with_offsets(&case.text);
    let (offsets, offset_chunks): (Vec<usize>, Vec<String>) = with_offsets.into_iter().unzip();
    if let Some(diff) = first_difference(&case.expected_chunks, &offset_chunks) {
        return Err(format!("split_text_with_offsets chunks differ: {diff}"));
    }
    if let Some(diff) = first_difference(&case.expected_start_indices, &offsets) {
        return Err(format!("start offsets differ: {diff}"));
    }
    Ok(())
}

#[test]
fn matches_langchain_fixture() -> Result<(), String> {
    let cases = load_cases()?;
    assert!(cases.len() >= 24, "fixture has only {} cases", cases.len());

    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            run_case(case)
                .err()
                .map(|e| format!("case {}: {e}", case.name))
        })
        .collect();

    assert!(
        failures.is_empty(),
        "{} of {} LangChain fixture cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    Ok(())
}
