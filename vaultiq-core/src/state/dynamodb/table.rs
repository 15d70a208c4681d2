//! Creating the state table: `pk` (string, partition key) + `sk` (string,
//! sort key), on-demand capacity (PAY_PER_REQUEST), nothing else. Creating
//! an existing table with that key schema is fine; one with another schema
//! is an error (the store would misread it).

use std::time::Duration;

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
};
use aws_sdk_dynamodb::Client;

use super::items::{PK, SK};
use super::table_error;
use crate::aws::classify;
use crate::{Error, Result};

/// How long a new table may take to become ACTIVE.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

fn build_error(e: impl std::fmt::Display) -> Error {
    Error::store(format!("DynamoDB CreateTable request: {e}"))
}

/// Creates the table (or accepts an existing one with the right keys) and
/// waits until it is ACTIVE. Returns true when it was created now.
pub(super) async fn create(client: &Client, table: &str) -> Result<bool> {
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(build_error)
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(build_error)
    };
    let created = client
        .create_table()
        .table_name(table)
        .attribute_definitions(attribute(PK)?)
        .attribute_definitions(attribute(SK)?)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    let created = match created {
        Ok(output) => {
            let active = output
                .table_description()
                .and_then(|t| t.table_status())
                .is_some_and(|s| *s == TableStatus::Active);
            if !active {
                client
                    .wait_until_table_exists()
                    .table_name(table)
                    .wait(ACTIVE_TIMEOUT)
                    .await
                    .map_err(|e| Error::Store {
                        message: format!(
                            "DynamoDB table `{table}` did not become ACTIVE within {}s: {e}",
                            ACTIVE_TIMEOUT.as_secs()
                        ),
                        retryable: true,
                    })?;
            }
            true
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            false
        }
        Err(e) => return Err(table_error(table, "CreateTable", &classify(&e))),
    };
    if !created {
        check_schema(client, table).await?;
    }
    Ok(created)
}

/// Checks that an existing table has the `pk`/`sk` string keys.
async fn check_schema(client: &Client, table: &str) -> Result<()> {
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| table_error(table, "DescribeTable", &classify(&e)))?;
    let description = described.table();
    let schema: Vec<(String, String)> = description
        .map(|t| {
            t.key_schema()
                .iter()
                .map(|k| {
                    (
                        k.attribute_name().to_string(),
                        k.key_type().as_str().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let expected = vec![
        (PK.to_string(), "HASH".to_string()),
        (SK.to_string(), "RANGE".to_string()),
    ];
    let mut sorted = schema.clone();
    sorted.sort();
    if sorted != expected {
        return Err(Error::Config(format!(
            "DynamoDB table `{table}` exists with key schema {schema:?}; VaultIQ's state table needs `pk` (HASH, string) + `sk` (RANGE, string)"
        )));
    }
    Ok(())
}
