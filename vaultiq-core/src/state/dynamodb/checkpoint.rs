//! Versioned checkpoints: optimistic concurrency on one head item, with
//! checkpoints larger than one item split into parts.
//!
//! The head item (`sk = checkpoint`) carries `version`. Reading a
//! checkpoint remembers the version seen; committing writes `version + 1`
//! with the condition that the head still has the version seen (or, when
//! none was seen, that there is no head). So of two syncs of one source
//! that started from the same checkpoint, the first commit wins and the
//! second gets a non-retryable [`crate::Error::Store`] naming the conflict:
//! repeating its commit would move the source back to its own, older
//! position. Its batch is already in the store (upserts are idempotent), and
//! the next sync resumes from the winner's checkpoint.
//!
//! A checkpoint of more than [`INLINE_LIMIT`] bytes (the files connector
//! keeps one entry per file) is written first as parts under keys nobody
//! reads yet (new version, random writer id), then made current by the
//! conditional head write, which names them; older parts are deleted
//! afterwards. A losing commit deletes its own parts; a crash in between
//! leaves unread parts, removed by the next commit that involves parts.

use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use chrono::Utc;

use super::batch::{query_prefix, write_all};
use super::items::{self, key, n, part_sk, parts_prefix, s, Item, CHECKPOINT_SK, PART_PREFIX};
use super::table_error;
use crate::aws::classify;
use crate::connector::Checkpoint;
use crate::{Error, Result};

/// Checkpoints up to this size stay inside the head item (DynamoDB items
/// are at most 400 KB, keys and attribute names included).
pub(super) const INLINE_LIMIT: usize = 350_000;

/// What one read of the head saw: enough to commit on top of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Seen {
    /// Version of the head, `None` when there was no head.
    pub version: Option<u64>,
    /// Whether that version's text lives in parts.
    pub parted: bool,
}

impl Seen {
    /// Nothing committed yet.
    pub(super) const NOTHING: Seen = Seen {
        version: None,
        parted: false,
    };
}

/// Reads the head (and its parts): the checkpoint and what was seen.
pub(super) async fn read(
    client: &Client,
    table: &str,
    pk: &str,
    source_name: &str,
) -> Result<(Option<Checkpoint>, Seen)> {
    let output = client
        .get_item()
        .table_name(table)
        .set_key(Some(key(pk, CHECKPOINT_SK)))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| table_error(table, "GetItem", &classify(&e)))?;
    let Some(head) = output.item else {
        return Ok((None, Seen::NOTHING));
    };
    let what = format!("checkpoint of source `{source_name}`");
    let version = items::number(&head, "version", &what)?;
    let (text, parted) = match head.get("parts") {
        None => (items::text(&head, "checkpoint", &what)?.to_string(), false),
        Some(_) => {
            let count = items::number(&head, "parts", &what)?;
            let writer = items::text(&head, "parts_writer", &what)?;
            let prefix = parts_prefix(version, writer);
            let parts = query_prefix(client, table, pk, &prefix, None).await?;
            if parts.len() as u64 != count {
                // A concurrent commit replaced this version meanwhile.
                return Err(Error::Store {
                    message: format!(
                        "{what} changed while it was read (found {} of {count} parts); try again",
                        parts.len()
                    ),
                    retryable: true,
                });
            }
            let mut text = String::new();
            for part in &parts {
                text.push_str(items::text(part, "data", &what)?);
            }
            (text, true)
        }
    };
    let value = serde_json::from_str(&text)
        .map_err(|e| Error::Corrupt(format!("{what} in DynamoDB table `{table}`: {e}")))?;
    Ok((
        Some(Checkpoint(value)),
        Seen {
            version: Some(version),
            parted,
        },
    ))
}

/// Splits text into pieces of at most `limit` bytes on char boundaries.
fn split(text: &str, limit: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(limit);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (piece, tail) = rest.split_at(end);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

pub(super) fn put(item: Item) -> Result<WriteRequest> {
    let request = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|e| Error::store(format!("DynamoDB put request: {e}")))?;
    Ok(WriteRequest::builder().put_request(request).build())
}

pub(super) fn delete(pk: &str, sk: &str) -> Result<WriteRequest> {
    let request = DeleteRequest::builder()
        .set_key(Some(key(pk, sk)))
        .build()
        .map_err(|e| Error::store(format!("DynamoDB delete request: {e}")))?;
    Ok(WriteRequest::builder().delete_request(request).build())
}

/// Deletes the parts under `prefix`; with `older_than`, only those of
/// lower versions (a newer commit's parts are never touched).
async fn delete_parts(
    client: &Client,
    table: &str,
    pk: &str,
    prefix: &str,
    older_than: Option<u64>,
) -> Result<()> {
    let stale: Vec<WriteRequest> = query_prefix(client, table, pk, prefix, None)
        .await?
        .iter()
        .filter_map(|item| items::text(item, items::SK, "checkpoint part").ok())
        .filter(|sk| match older_than {
            None => true,
            Some(limit) => items::part_version(sk).is_some_and(|v| v < limit),
        })
        .map(|sk| delete(pk, sk))
        .collect::<Result<_>>()?;
    write_all(client, table, stale).await
}

/// Commits `checkpoint` on top of what `seen` saw; returns what a reader
/// now sees.
pub(super) async fn commit(
    client: &Client,
    table: &str,
    pk: &str,
    source_name: &str,
    seen: Seen,
    checkpoint: &Checkpoint,
) -> Result<Seen> {
    let text = serde_json::to_string(&checkpoint.0)?;
    let version = seen.version.map_or(1, |v| v + 1);
    let mut head = key(pk, CHECKPOINT_SK);
    head.insert("version".into(), n(version));
    head.insert("updated_at".into(), s(items::timestamp(&Utc::now())));
    let parted = text.len() > INLINE_LIMIT;
    let writer = format!("{:016x}", rand::random::<u64>());
    let own_parts = parts_prefix(version, &writer);
    if parted {
        let pieces = split(&text, INLINE_LIMIT);
        head.insert("parts".into(), n(pieces.len()));
        head.insert("parts_writer".into(), s(&writer));
        let writes = pieces
            .iter()
            .enumerate()
            .map(|(i, piece)| {
                let mut item = key(pk, &part_sk(version, &writer, i));
                item.insert("data".into(), s(*piece));
                put(item)
            })
            .collect::<Result<Vec<_>>>()?;
        write_all(client, table, writes).await?;
    } else {
        head.insert("checkpoint".into(), s(text));
    }
    let mut request = client.put_item().table_name(table).set_item(Some(head));
    request = match seen.version {
        None => request
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", items::PK),
        Some(v) => request
            .condition_expression("#v = :seen")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":seen", n(v)),
    };
    match request.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
        {
            if parted {
                // Best effort: nobody will read the parts of a lost commit.
                let _ = delete_parts(client, table, pk, &own_parts, None).await;
            }
            return Err(Error::Store {
                message: format!(
                    "checkpoint of source `{source_name}` in DynamoDB table `{table}` was committed or reset by another sync after this one read it (two syncs of one source at once?); this sync stops without committing, and the next one resumes from the other's checkpoint"
                ),
                retryable: false,
            });
        }
        Err(e) => return Err(table_error(table, "PutItem", &classify(&e))),
    }
    if parted || seen.parted {
        delete_parts(client, table, pk, PART_PREFIX, Some(version)).await?;
    }
    Ok(Seen {
        version: Some(version),
        parted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_characters_whole() {
        let text = "aé日本b".repeat(10);
        let pieces = split(&text, 4);
        assert!(pieces.iter().all(|p| p.len() <= 4 && !p.is_empty()));
        assert_eq!(pieces.concat(), text);
        assert!(split("", 4).is_empty());
    }
}
