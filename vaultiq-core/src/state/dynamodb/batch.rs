//! Multi-item calls with DynamoDB's limits and partial results handled:
//! BatchWriteItem (25 requests a call, `UnprocessedItems` retried),
//! BatchGetItem (100 keys a call, `UnprocessedKeys` retried) and Query
//! (pages followed through `LastEvaluatedKey`).
//!
//! The SDK already retries throttled *calls*; what it cannot retry is the
//! part of a successful call the service left undone, which happens under
//! throttling. Those parts are sent again with jittered exponential
//! back-off a bounded number of times, then the call fails as retryable.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, WriteRequest};
use aws_sdk_dynamodb::Client;
use rand::Rng;

use super::items::{Item, PK, SK};
use super::table_error;
use crate::aws::classify;
use crate::{Error, Result};

/// BatchWriteItem takes at most 25 put/delete requests.
pub(super) const WRITE_BATCH: usize = 25;
/// BatchGetItem takes at most 100 keys.
pub(super) const GET_BATCH: usize = 100;
/// Rounds of resending unprocessed items/keys before giving up.
const MAX_ROUNDS: u32 = 8;

/// Sleeps before resend round `round` (1-based): 50 ms doubling, capped at
/// 2 s, with full jitter so competing writers spread out.
async fn back_off(round: u32) {
    let cap_ms = (50u64 << round.min(6)).min(2_000);
    let wait = rand::rng().random_range(cap_ms / 2..=cap_ms);
    tokio::time::sleep(Duration::from_millis(wait)).await;
}

/// Sends every request, 25 a call, resending what comes back unprocessed.
pub(super) async fn write_all(
    client: &Client,
    table: &str,
    requests: Vec<WriteRequest>,
) -> Result<()> {
    let mut requests = requests.into_iter().peekable();
    while requests.peek().is_some() {
        let mut chunk: Vec<WriteRequest> = requests.by_ref().take(WRITE_BATCH).collect();
        let mut round = 0;
        while !chunk.is_empty() {
            let output = client
                .batch_write_item()
                .request_items(table, chunk)
                .send()
                .await
                .map_err(|e| table_error(table, "BatchWriteItem", &classify(&e)))?;
            chunk = output
                .unprocessed_items
                .and_then(|mut left| left.remove(table))
                .unwrap_or_default();
            if chunk.is_empty() {
                break;
            }
            round += 1;
            if round > MAX_ROUNDS {
                return Err(Error::Store {
                    message: format!(
                        "DynamoDB BatchWriteItem on table `{table}`: {} writes still unprocessed after {MAX_ROUNDS} resends (throttled; raise the table's capacity or try again)",
                        chunk.len()
                    ),
                    retryable: true,
                });
            }
            back_off(round).await;
        }
    }
    Ok(())
}

/// Reads the items of `keys` (absent ones are simply not returned), 100 a
/// call, strongly consistent, resending unprocessed keys. `projection`
/// names attributes through `#a0`, `#a1`, ... placeholders bound in `names`.
pub(super) async fn get_all(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
    projection: &str,
    names: &HashMap<String, String>,
) -> Result<Vec<Item>> {
    let mut found = Vec::with_capacity(keys.len());
    let mut keys = keys.into_iter().peekable();
    while keys.peek().is_some() {
        let chunk: Vec<Item> = keys.by_ref().take(GET_BATCH).collect();
        let mut pending = Some(request(chunk, projection, names)?);
        let mut round = 0;
        while let Some(wanted) = pending.take() {
            let output = client
                .batch_get_item()
                .request_items(table, wanted)
                .send()
                .await
                .map_err(|e| table_error(table, "BatchGetItem", &classify(&e)))?;
            if let Some(mut responses) = output.responses {
                found.extend(responses.remove(table).unwrap_or_default());
            }
            pending = output
                .unprocessed_keys
                .and_then(|mut left| left.remove(table))
                .filter(|left| !left.keys().is_empty());
            if let Some(left) = &pending {
                round += 1;
                if round > MAX_ROUNDS {
                    return Err(Error::Store {
                        message: format!(
                            "DynamoDB BatchGetItem on table `{table}`: {} keys still unprocessed after {MAX_ROUNDS} resends (throttled; try again)",
                            left.keys().len()
                        ),
                        retryable: true,
                    });
                }
                back_off(round).await;
            }
        }
    }
    Ok(found)
}

fn request(
    keys: Vec<Item>,
    projection: &str,
    names: &HashMap<String, String>,
) -> Result<KeysAndAttributes> {
    KeysAndAttributes::builder()
        .set_keys(Some(keys))
        .consistent_read(true)
        .projection_expression(projection)
        .set_expression_attribute_names(Some(names.clone()))
        .build()
        .map_err(|e| Error::store(format!("DynamoDB BatchGetItem request: {e}")))
}

/// Every item of partition `pk` whose sort key starts with `sk_prefix`
/// (every item when it is empty), in
/// sort key order, following `LastEvaluatedKey` across pages. `page_size`
/// bounds items per page (`None`: the service's 1 MB pages).
pub(super) async fn query_prefix(
    client: &Client,
    table: &str,
    pk: &str,
    sk_prefix: &str,
    page_size: Option<i32>,
) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let mut query = client
            .query()
            .table_name(table)
            .consistent_read(true)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_string()))
            .set_exclusive_start_key(start.take());
        // Key values cannot be empty, so "every sort key" is no condition.
        query = if sk_prefix.is_empty() {
            query.key_condition_expression("#pk = :pk")
        } else {
            query
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":prefix", AttributeValue::S(sk_prefix.to_string()))
        };
        if let Some(limit) = page_size {
            query = query.limit(limit);
        }
        let page = query
            .send()
            .await
            .map_err(|e| table_error(table, "Query", &classify(&e)))?;
        items.extend(page.items.unwrap_or_default());
        match page.last_evaluated_key {
            Some(next) if !next.is_empty() => start = Some(next),
            _ => return Ok(items),
        }
    }
}
