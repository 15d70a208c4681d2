//! Reading S3 event notifications, delivered to the function directly or
//! wrapped in SQS messages, into the lake records they name.
//!
//! Shapes: <https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html>
//! (S3) and <https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html>
//! (SQS, whose message `body` is the S3 event as JSON text).

use aws_lambda_events::event::s3::{S3Event, S3EventRecord};
use aws_lambda_events::event::sqs::SqsMessage;
use percent_encoding::percent_decode_str;
use serde_json::Value;
use vaultiq_core::lake::key::parse_record_key;

/// Where a record came from, for failure reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The n-th record of a direct S3 event.
    S3(usize),
    /// The SQS message with this id.
    Sqs(String),
}

/// One lake record an event names.
#[derive(Debug, Clone)]
pub(crate) struct RecordRef {
    pub origin: Origin,
    pub source_name: String,
    pub document_id: String,
    pub event_name: String,
}

/// What the records of one invocation amount to.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// True when the records came through SQS (partial failures are reported
    /// per message then).
    pub via_sqs: bool,
    pub records: Vec<RecordRef>,
    /// Objects that are not lake records (other prefixes, test events).
    pub skipped: usize,
    /// Entries that cannot be read at all, with the reason.
    pub unreadable: Vec<(Origin, String)>,
}

/// Reads an invocation's payload: `{"Records": [...]}` of S3 records, or of
/// SQS messages each carrying an S3 event.
pub(crate) fn parse(payload: Value, bucket: Option<&str>, prefix: &str) -> Result<Parsed, String> {
    let Some(entries) = payload.get("Records").and_then(Value::as_array) else {
        return Err(
            "expected an S3 event notification or an SQS batch: an object with a `Records` list"
                .to_string(),
        );
    };
    let mut parsed = Parsed::default();
    for (i, entry) in entries.iter().enumerate() {
        let event_source = entry
            .get("eventSource")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match event_source {
            "aws:s3" => match serde_json::from_value::<S3EventRecord>(entry.clone()) {
                Ok(record) => add_s3_record(&mut parsed, Origin::S3(i), &record, bucket, prefix),
                Err(e) => parsed
                    .unreadable
                    .push((Origin::S3(i), format!("S3 record {i}: {e}"))),
            },
            "aws:sqs" => {
                parsed.via_sqs = true;
                match serde_json::from_value::<SqsMessage>(entry.clone()) {
                    Ok(message) => add_sqs_message(&mut parsed, i, &message, bucket, prefix),
                    Err(e) => {
                        let id = entry
                            .get("messageId")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        parsed
                            .unreadable
                            .push((Origin::Sqs(id.to_string()), format!("SQS message {i}: {e}")))
                    }
                }
            }
            other => {
                return Err(format!(
                    "record {i} has eventSource `{other}`; expected `aws:s3` or `aws:sqs`"
                ))
            }
        }
    }
    Ok(parsed)
}

fn add_sqs_message(
    parsed: &mut Parsed,
    i: usize,
    message: &SqsMessage,
    bucket: Option<&str>,
    prefix: &str,
) {
    let Some(id) = message.message_id.clone() else {
        // Without an id the failure cannot be reported for this message
        // alone; a malformed batch is not something SQS sends.
        parsed.unreadable.push((
            Origin::Sqs(String::new()),
            format!("SQS message {i} has no messageId"),
        ));
        return;
    };
    let body = message.body.as_deref().unwrap_or_default();
    let value: Value = match serde_json::from_str(body) {
        Ok(value) => value,
        Err(e) => {
            parsed.unreadable.push((
                Origin::Sqs(id),
                format!("SQS message {i}: the body is not JSON: {e}"),
            ));
            return;
        }
    };
    // S3 sends one `s3:TestEvent` when a notification is configured.
    if value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        parsed.skipped += 1;
        return;
    }
    match serde_json::from_value::<S3Event>(value) {
        Ok(event) => {
            for record in &event.records {
                add_s3_record(parsed, Origin::Sqs(id.clone()), record, bucket, prefix);
            }
        }
        Err(e) => parsed.unreadable.push((
            Origin::Sqs(id),
            format!("SQS message {i}: the body is not an S3 event: {e}"),
        )),
    }
}

fn add_s3_record(
    parsed: &mut Parsed,
    origin: Origin,
    record: &S3EventRecord,
    bucket: Option<&str>,
    prefix: &str,
) {
    let event_name = record.event_name.clone().unwrap_or_default();
    let record_bucket = record.s3.bucket.name.as_deref().unwrap_or_default();
    if bucket.is_some_and(|b| b != record_bucket) {
        tracing::warn!(bucket = record_bucket, event = %event_name, "skipping an event of another bucket");
        parsed.skipped += 1;
        return;
    }
    let raw_key = record.s3.object.key.as_deref().unwrap_or_default();
    let Some(key) = decode_event_key(raw_key) else {
        parsed.unreadable.push((
            origin,
            format!("object key `{raw_key}` is not URL-encoded UTF-8"),
        ));
        return;
    };
    match parse_record_key(prefix, &key) {
        Some((source_name, document_id)) => parsed.records.push(RecordRef {
            origin,
            source_name,
            document_id,
            event_name,
        }),
        None => {
            tracing::info!(key = %key, event = %event_name, "skipping an object that is not a lake record");
            parsed.skipped += 1;
        }
    }
}

/// S3 event keys are URL-encoded as in an HTML form (`+` for a space), on
/// top of the percent-encoding the lake itself gives record names.
pub(crate) fn decode_event_key(key: &str) -> Option<String> {
    let spaced = key.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|k| k.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_decode_to_lake_keys() {
        // The lake key `raw/wiki/files%3Awiki%3Aa%20b.md.json` as S3 reports it.
        let key = decode_event_key("raw/wiki/files%253Awiki%253Aa%2520b.md.json");
        assert_eq!(
            key.as_deref(),
            Some("raw/wiki/files%3Awiki%3Aa%20b.md.json")
        );
        assert_eq!(
            decode_event_key("Happy+Face.jpg").as_deref(),
            Some("Happy Face.jpg")
        );
        assert_eq!(decode_event_key("bad%FF"), None);
    }
}
