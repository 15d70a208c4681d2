//! Sync state in one DynamoDB table.
//!
//! # Table
//!
//! Key schema: `pk` (string, HASH) + `sk` (string, RANGE), on-demand
//! capacity; [`DynamoDbStateStore::create_table`] creates it. Every item of
//! a source shares its partition, so a source's documents are one Query:
//!
//! | pk                         | sk                              | attributes |
//! |----------------------------|---------------------------------|------------|
//! | `{ns}source#{source}`      | `checkpoint`                    | `version` (N), `checkpoint` (S, JSON) or `parts` (N) + `parts_writer` (S), `updated_at` |
//! | `{ns}source#{source}`      | `checkpoint#v{version}#{writer}#{i}` | `data` (S): piece *i* of a checkpoint too large for one item |
//! | `{ns}source#{source}`      | `doc#{document id}`             | `content_hash` (S) |
//! | `{ns}source#{source}`      | `run#{started}#{finished}`      | the [`SyncRun`] fields (history) |
//! | `{ns}runs`                 | `{source}`                      | the [`SyncRun`] fields of the source's latest run |
//!
//! `{ns}` is an optional namespace ([`DynamoDbStateStoreBuilder::namespace`])
//! so several knowledge bases can share one table.
//!
//! # Concurrency
//!
//! Checkpoints are versioned (see the `checkpoint` module): a commit only
//! succeeds on top of the version this store last read or wrote for that
//! source, so two concurrent syncs of one source (two Lambda invocations,
//! two hosts) cannot both commit; the loser gets a non-retryable
//! [`Error::Store`] that says so. The guard is per store instance: one
//! process that syncs a source twice at once through one instance is
//! already prevented by the pipeline's callers (the CLI's lock). A commit
//! without an earlier read reads the current version first.
//!
//! Document hashes need no guard: both syncs write the same hash for the
//! same content, and upserts into the vector store are idempotent.

mod batch;
mod checkpoint;
mod items;
mod table;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;

use self::checkpoint::Seen;
use self::items::{doc_sk, key, s, Keys, DOC_PREFIX, PK, RUN_PREFIX, SK};
use crate::aws::{classify, AwsFailure, AwsSettings, LazyClient};
use crate::connector::Checkpoint;
use crate::state::{StateStore, SyncRun};
use crate::{Error, Result};

/// The error of a failed call on `table`: a missing table is a config
/// problem, the rest store errors that keep the retry verdict.
pub(super) fn table_error(table: &str, action: &str, failure: &AwsFailure) -> Error {
    if failure.is("ResourceNotFoundException") {
        return Error::Config(format!(
            "DynamoDB table `{table}` does not exist (check `state.table` and the region; `vaultiq init --create-table` creates it): {}",
            failure.message
        ));
    }
    Error::Store {
        message: format!("DynamoDB {action} on table `{table}`: {failure}"),
        retryable: failure.retryable,
    }
}

/// Builds a [`DynamoDbStateStore`].
#[derive(Debug, Clone)]
pub struct DynamoDbStateStoreBuilder {
    table: String,
    namespace: String,
    settings: AwsSettings,
    page_size: Option<i32>,
}

impl DynamoDbStateStoreBuilder {
    /// Prefix of every partition key (default none), so several knowledge
    /// bases can share one table.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Region, profile and endpoint override of the client.
    pub fn settings(mut self, settings: AwsSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Items per Query page (default: the service's 1 MB pages); small
    /// pages only exist to exercise pagination.
    pub fn page_size(mut self, items: usize) -> Self {
        self.page_size = Some(i32::try_from(items).unwrap_or(i32::MAX));
        self
    }

    /// Checks the settings; no network I/O (the client is built on first use).
    pub fn build(self) -> Result<DynamoDbStateStore> {
        let name_ok = (3..=255).contains(&self.table.len())
            && self
                .table
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !name_ok {
            return Err(Error::Config(format!(
                "`state.table` must be a DynamoDB table name (3-255 letters, digits, `_`, `-` or `.`), got `{}`",
                self.table
            )));
        }
        if self.page_size.is_some_and(|p| p < 1) {
            return Err(Error::InvalidInput(
                "DynamoDB query page size must be at least 1".into(),
            ));
        }
        Ok(DynamoDbStateStore {
            client: LazyClient::new(self.settings, Client::new),
            keys: Keys::new(&self.namespace),
            table: self.table,
            page_size: self.page_size,
            seen: Mutex::new(HashMap::new()),
        })
    }
}

/// [`StateStore`] on a DynamoDB table (layout and concurrency in the
/// module docs).
#[derive(Debug)]
pub struct DynamoDbStateStore {
    client: LazyClient<Client>,
    table: String,
    keys: Keys,
    page_size: Option<i32>,
    /// The checkpoint version last read or written, per source.
    seen: Mutex<HashMap<String, Seen>>,
}

impl DynamoDbStateStore {
    /// A builder for the store on `table`.
    pub fn builder(table: impl Into<String>) -> DynamoDbStateStoreBuilder {
        DynamoDbStateStoreBuilder {
            table: table.into(),
            namespace: String::new(),
            settings: AwsSettings::default(),
            page_size: None,
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table (`pk` + `sk` strings, PAY_PER_REQUEST) and waits
    /// until it is active. An existing table with that key schema is fine
    /// (returns false); one with another schema is an error.
    #[tracing::instrument(name = "state.create_table", skip_all, fields(table = %self.table), err)]
    pub async fn create_table(&self) -> Result<bool> {
        table::create(self.client.get().await, &self.table).await
    }

    fn remember(&self, source_name: &str, seen: Seen) -> Result<()> {
        self.seen
            .lock()
            .map_err(|_| Error::store("state lock poisoned by a panic in another thread"))?
            .insert(source_name.to_string(), seen);
        Ok(())
    }

    fn recall(&self, source_name: &str) -> Result<Option<Seen>> {
        Ok(self
            .seen
            .lock()
            .map_err(|_| Error::store("state lock poisoned by a panic in another thread"))?
            .get(source_name)
            .copied())
    }

    async fn put_item(&self, item: items::Item) -> Result<()> {
        self.client
            .get()
            .await
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| table_error(&self.table, "PutItem", &classify(&e)))?;
        Ok(())
    }
}

#[async_trait]
impl StateStore for DynamoDbStateStore {
    #[tracing::instrument(name = "state.checkpoint", skip_all, fields(backend = "dynamodb"), err)]
    async fn checkpoint(&self, source_name: &str) -> Result<Option<Checkpoint>> {
        let client = self.client.get().await;
        let pk = self.keys.source(source_name);
        let (checkpoint, seen) = checkpoint::read(client, &self.table, &pk, source_name).await?;
        self.remember(source_name, seen)?;
        Ok(checkpoint)
    }

    #[tracing::instrument(
        name = "state.commit_checkpoint",
        skip_all,
        fields(backend = "dynamodb"),
        err
    )]
    async fn commit_checkpoint(&self, source_name: &str, checkpoint: &Checkpoint) -> Result<()> {
        let client = self.client.get().await;
        let pk = self.keys.source(source_name);
        let seen = match self.recall(source_name)? {
            Some(seen) => seen,
            None => {
                checkpoint::read(client, &self.table, &pk, source_name)
                    .await?
                    .1
            }
        };
        let now =
            checkpoint::commit(client, &self.table, &pk, source_name, seen, checkpoint).await?;
        self.remember(source_name, now)
    }

    #[tracing::instrument(
        name = "state.reset_checkpoint",
        skip_all,
        fields(backend = "dynamodb"),
        err
    )]
    async fn reset_checkpoint(&self, source_name: &str) -> Result<()> {
        let client = self.client.get().await;
        let pk = self.keys.source(source_name);
        let mut deletes = vec![checkpoint::delete(&pk, items::CHECKPOINT_SK)?];
        for part in batch::query_prefix(client, &self.table, &pk, items::PART_PREFIX, None).await? {
            deletes.push(checkpoint::delete(
                &pk,
                items::text(&part, SK, "checkpoint part")?,
            )?);
        }
        batch::write_all(client, &self.table, deletes).await?;
        self.remember(source_name, Seen::NOTHING)
    }

    #[tracing::instrument(name = "state.document_hashes", skip_all, fields(backend = "dynamodb", documents = document_ids.len()), err)]
    async fn document_hashes(
        &self,
        source_name: &str,
        document_ids: &[String],
    ) -> Result<HashMap<String, String>> {
        if document_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let pk = self.keys.source(source_name);
        // BatchGetItem rejects a request that names one key twice.
        let unique: BTreeSet<&String> = document_ids.iter().collect();
        let keys = unique.iter().map(|id| key(&pk, &doc_sk(id))).collect();
        let names = HashMap::from([
            ("#sk".to_string(), SK.to_string()),
            ("#h".to_string(), "content_hash".to_string()),
        ]);
        let found = batch::get_all(
            self.client.get().await,
            &self.table,
            keys,
            "#sk, #h",
            &names,
        )
        .await?;
        let mut hashes = HashMap::with_capacity(found.len());
        for item in &found {
            let sk = items::text(item, SK, "document item")?;
            let id = sk.strip_prefix(DOC_PREFIX).unwrap_or(sk);
            let hash = items::text(item, "content_hash", "document item")?;
            hashes.insert(id.to_string(), hash.to_string());
        }
        Ok(hashes)
    }

    #[tracing::instrument(name = "state.record_documents", skip_all, fields(backend = "dynamodb", documents = hashes.len()), err)]
    async fn record_documents(&self, source_name: &str, hashes: &[(String, String)]) -> Result<()> {
        let pk = self.keys.source(source_name);
        // One write per document (the last hash given wins), as BatchWriteItem
        // rejects two writes of one key in a call.
        let latest: BTreeMap<&str, &str> = hashes
            .iter()
            .map(|(id, hash)| (id.as_str(), hash.as_str()))
            .collect();
        let writes = latest
            .into_iter()
            .map(|(id, hash)| {
                let mut item = key(&pk, &doc_sk(id));
                item.insert("content_hash".into(), s(hash));
                checkpoint::put(item)
            })
            .collect::<Result<Vec<_>>>()?;
        batch::write_all(self.client.get().await, &self.table, writes).await
    }

    #[tracing::instrument(name = "state.forget_documents", skip_all, fields(backend = "dynamodb", documents = document_ids.len()), err)]
    async fn forget_documents(&self, source_name: &str, document_ids: &[String]) -> Result<()> {
        let pk = self.keys.source(source_name);
        let unique: BTreeSet<&String> = document_ids.iter().collect();
        let deletes = unique
            .into_iter()
            .map(|id| checkpoint::delete(&pk, &doc_sk(id)))
            .collect::<Result<Vec<_>>>()?;
        batch::write_all(self.client.get().await, &self.table, deletes).await
    }

    #[tracing::instrument(
        name = "state.document_ids",
        skip_all,
        fields(backend = "dynamodb"),
        err
    )]
    async fn document_ids(&self, source_name: &str) -> Result<Vec<String>> {
        let pk = self.keys.source(source_name);
        let found = batch::query_prefix(
            self.client.get().await,
            &self.table,
            &pk,
            DOC_PREFIX,
            self.page_size,
        )
        .await?;
        let mut ids = found
            .iter()
            .map(|item| {
                items::text(item, SK, "document item")
                    .map(|sk| sk.strip_prefix(DOC_PREFIX).unwrap_or(sk).to_string())
            })
            .collect::<Result<Vec<_>>>()?;
        ids.sort();
        Ok(ids)
    }

    #[tracing::instrument(name = "state.record_run", skip_all, fields(backend = "dynamodb"), err)]
    async fn record_run(&self, run: &SyncRun) -> Result<()> {
        let attributes = items::run_attributes(run);
        let mut history = key(
            &self.keys.source(&run.source_name),
            &format!(
                "{RUN_PREFIX}{}#{}",
                items::timestamp(&run.started_at),
                items::timestamp(&run.finished_at)
            ),
        );
        history.extend(attributes.clone());
        self.put_item(history).await?;
        // The latest-run item only moves forward in time, whatever order
        // two runs finish in.
        let mut latest = key(&self.keys.latest_runs(), &run.source_name);
        latest.extend(attributes);
        let written = self
            .client
            .get()
            .await
            .put_item()
            .table_name(&self.table)
            .set_item(Some(latest))
            .condition_expression("attribute_not_exists(#pk) OR #started <= :started")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#started", "started_at")
            .expression_attribute_values(":started", s(items::timestamp(&run.started_at)))
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(table_error(&self.table, "PutItem", &classify(&e))),
        }
    }

    #[tracing::instrument(name = "state.last_runs", skip_all, fields(backend = "dynamodb"), err)]
    async fn last_runs(&self) -> Result<Vec<SyncRun>> {
        let found = batch::query_prefix(
            self.client.get().await,
            &self.table,
            &self.keys.latest_runs(),
            "",
            self.page_size,
        )
        .await?;
        let mut runs = found
            .iter()
            .map(items::run_from)
            .collect::<Result<Vec<_>>>()?;
        runs.sort_by(|a, b| a.source_name.cmp(&b.source_name));
        Ok(runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_checked_without_network() {
        assert!(DynamoDbStateStore::builder("vaultiq-state").build().is_ok());
        assert!(matches!(
            DynamoDbStateStore::builder("a b").build(),
            Err(Error::Config(m)) if m.contains("state.table")
        ));
        assert!(DynamoDbStateStore::builder("ok_table")
            .page_size(0)
            .build()
            .is_err());
    }
}
