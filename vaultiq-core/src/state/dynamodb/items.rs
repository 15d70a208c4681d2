//! How state maps onto items of the single table (documented in the parent
//! module): key builders and attribute readers.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::state::SyncRun;
use crate::{Error, Result};

/// Partition key attribute name.
pub(super) const PK: &str = "pk";
/// Sort key attribute name.
pub(super) const SK: &str = "sk";
/// Sort key of a source's checkpoint head item.
pub(super) const CHECKPOINT_SK: &str = "checkpoint";
/// Sort key prefix of a source's document hash items.
pub(super) const DOC_PREFIX: &str = "doc#";
/// Sort key prefix of a source's run history items.
pub(super) const RUN_PREFIX: &str = "run#";
/// Sort key prefix of the parts of checkpoints too large for one item.
pub(super) const PART_PREFIX: &str = "checkpoint#v";

/// An item as the SDK takes it.
pub(super) type Item = HashMap<String, AttributeValue>;

/// The keys of one table namespace (several knowledge bases, or test runs,
/// may share a table).
#[derive(Debug, Clone)]
pub(super) struct Keys {
    namespace: String,
}

impl Keys {
    pub(super) fn new(namespace: &str) -> Self {
        Keys {
            namespace: namespace.to_string(),
        }
    }

    /// Partition of one source: its checkpoint, documents and runs.
    pub(super) fn source(&self, source_name: &str) -> String {
        format!("{}source#{source_name}", self.namespace)
    }

    /// Partition holding the latest run of every source (one item each,
    /// sort key = source name), so `last_runs` is one query.
    pub(super) fn latest_runs(&self) -> String {
        format!("{}runs", self.namespace)
    }
}

/// The primary key of one item.
pub(super) fn key(pk: &str, sk: &str) -> Item {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(pk.to_string())),
        (SK.to_string(), AttributeValue::S(sk.to_string())),
    ])
}

/// Sort key of one document's hash item.
pub(super) fn doc_sk(document_id: &str) -> String {
    format!("{DOC_PREFIX}{document_id}")
}

/// Sort key prefix of the parts one commit wrote for checkpoint `version`;
/// `writer` is random per commit, so two syncs racing for one version
/// never write the same part keys.
pub(super) fn parts_prefix(version: u64, writer: &str) -> String {
    format!("{PART_PREFIX}{version:020}#{writer}#")
}

/// Sort key of part `index` of a commit's parts.
pub(super) fn part_sk(version: u64, writer: &str, index: usize) -> String {
    format!("{}{index:06}", parts_prefix(version, writer))
}

/// The checkpoint version a part's sort key belongs to.
pub(super) fn part_version(sk: &str) -> Option<u64> {
    sk.strip_prefix(PART_PREFIX)?.get(..20)?.parse().ok()
}

/// Fixed-width UTC text, so timestamps compare as strings.
pub(super) fn timestamp(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A string attribute.
pub(super) fn text<'a>(item: &'a Item, name: &str, what: &str) -> Result<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(Error::Corrupt(format!(
            "DynamoDB {what}: attribute `{name}` is missing or not a string"
        ))),
    }
}

/// A non-negative number attribute.
pub(super) fn number(item: &Item, name: &str, what: &str) -> Result<u64> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().map_err(|_| {
            Error::Corrupt(format!(
                "DynamoDB {what}: attribute `{name}` = `{value}` is not a whole number"
            ))
        }),
        _ => Err(Error::Corrupt(format!(
            "DynamoDB {what}: attribute `{name}` is missing or not a number"
        ))),
    }
}

/// A number attribute value.
pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A string attribute value.
pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// The attributes of a run (history and latest items carry the same).
pub(super) fn run_attributes(run: &SyncRun) -> Item {
    HashMap::from([
        ("source_name".to_string(), s(&run.source_name)),
        ("started_at".to_string(), s(timestamp(&run.started_at))),
        ("finished_at".to_string(), s(timestamp(&run.finished_at))),
        ("outcome".to_string(), s(&run.outcome)),
        ("indexed".to_string(), n(run.indexed)),
        ("deleted".to_string(), n(run.deleted)),
    ])
}

/// Reads a run item back.
pub(super) fn run_from(item: &Item) -> Result<SyncRun> {
    let what = "run item";
    let time = |name: &str| -> Result<DateTime<Utc>> {
        let value = text(item, name, what)?;
        DateTime::parse_from_rfc3339(value)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| Error::Corrupt(format!("DynamoDB {what}: `{name}` = `{value}`: {e}")))
    };
    let count = |name: &str| -> Result<usize> {
        usize::try_from(number(item, name, what)?)
            .map_err(|_| Error::Corrupt(format!("DynamoDB {what}: `{name}` is too large")))
    };
    Ok(SyncRun {
        source_name: text(item, "source_name", what)?.to_string(),
        started_at: time("started_at")?,
        finished_at: time("finished_at")?,
        outcome: text(item, "outcome", what)?.to_string(),
        indexed: count("indexed")?,
        deleted: count("deleted")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_as_intended() {
        let keys = Keys::new("kb1/");
        assert_eq!(keys.source("wiki"), "kb1/source#wiki");
        assert_eq!(keys.latest_runs(), "kb1/runs");
        assert!(part_sk(2, "w", 10) > part_sk(2, "w", 9));
        assert!(part_sk(10, "w", 0) > part_sk(9, "w", 999));
        assert!(part_sk(3, "w", 0).starts_with(&parts_prefix(3, "w")));
        assert!(!part_sk(3, "w", 0).starts_with(&parts_prefix(3, "x")));
        assert!(part_sk(3, "w", 0).starts_with(PART_PREFIX));
        assert_eq!(part_version(&part_sk(42, "w", 7)), Some(42));
        assert_eq!(part_version("doc#x"), None);
        assert!(!part_sk(3, "w", 0).starts_with(DOC_PREFIX));
    }

    #[test]
    fn runs_round_trip() -> Result<()> {
        let now = Utc::now();
        let run = SyncRun {
            source_name: "wiki".into(),
            started_at: now,
            finished_at: now,
            outcome: "ok".into(),
            indexed: 3,
            deleted: 1,
        };
        let back = run_from(&run_attributes(&run))?;
        assert_eq!(back.indexed, 3);
        assert_eq!(timestamp(&back.started_at), timestamp(&now));
        assert!(matches!(
            run_from(&HashMap::new()),
            Err(Error::Corrupt(m)) if m.contains("source_name")
        ));
        Ok(())
    }
}
