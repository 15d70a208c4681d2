//! Schema migration: tables, the HNSW and GIN indexes, and a version row.
//!
//! The SQL sticks to what Amazon Aurora PostgreSQL and RDS offer with the
//! `vector` extension (0.8+): no other extensions, no superuser settings.
//! Migrations run under a transaction-scoped advisory lock, so several
//! processes opening stores at once migrate each exactly once.

use tokio_postgres::Client;

use super::errors::pg;
use crate::{Error, Result};

/// Version of the layout below; bump it with a new migration step.
pub(crate) const SCHEMA_VERSION: i32 = 1;

/// Names of the store's tables, derived from one validated prefix.
#[derive(Debug, Clone)]
pub(crate) struct Tables {
    pub meta: String,
    pub documents: String,
    pub chunks: String,
}

impl Tables {
    /// Tables `{prefix}_meta`, `{prefix}_documents`, `{prefix}_chunks`.
    pub(crate) fn new(prefix: &str) -> Result<Self> {
        let valid = !prefix.is_empty()
            && prefix.len() <= 40
            && prefix.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(Error::Config(format!(
                "pgvector table prefix `{prefix}` must be 1-40 characters of a-z, 0-9 and `_`, \
                 starting with a letter or `_`"
            )));
        }
        Ok(Tables {
            meta: format!("{prefix}_meta"),
            documents: format!("{prefix}_documents"),
            chunks: format!("{prefix}_chunks"),
        })
    }
}

/// HNSW build settings of the vector index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HnswSettings {
    pub m: u32,
    pub ef_construction: u32,
}

/// Creates or checks the schema for vectors of `dimension`.
pub(crate) async fn migrate(
    client: &mut Client,
    tables: &Tables,
    dimension: usize,
    text_search_config: &str,
    hnsw: HnswSettings,
) -> Result<()> {
    let tx = client
        .transaction()
        .await
        .map_err(|e| pg("starting the migration", e))?;
    // One lock for every VaultIQ schema in the database: `CREATE EXTENSION`
    // races between stores with different prefixes otherwise.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('vaultiq-schema'))",
        &[],
    )
    .await
    .map_err(|e| pg("locking the schema", e))?;
    tx.batch_execute("CREATE EXTENSION IF NOT EXISTS vector")
        .await
        .map_err(|e| {
            let mut err = pg("enabling the `vector` extension", e);
            if let Error::Store { message, .. } = &mut err {
                message.push_str(
                    "; install pgvector on the server (Aurora/RDS: `CREATE EXTENSION vector` as rds_superuser)",
                );
            }
            err
        })?;
    let Tables {
        meta,
        documents,
        chunks,
    } = tables;
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {meta} (key text PRIMARY KEY, value text NOT NULL)"
    ))
    .await
    .map_err(|e| pg("creating the meta table", e))?;
    let rows = tx
        .query(
            &format!("SELECT key, value FROM {meta} WHERE key IN ('schema_version', 'dimension')"),
            &[],
        )
        .await
        .map_err(|e| pg("reading the schema version", e))?;
    let mut version: Option<String> = None;
    let mut stored_dimension: Option<String> = None;
    for row in rows {
        let key: String = row.get(0);
        let value: String = row.get(1);
        match key.as_str() {
            "schema_version" => version = Some(value),
            _ => stored_dimension = Some(value),
        }
    }
    if let Some(stored) = stored_dimension {
        if stored != dimension.to_string() {
            return Err(Error::Config(format!(
                "PostgreSQL table `{chunks}` holds {stored}-dimension vectors but the embedder \
                 makes {dimension}; use another table prefix for another model"
            )));
        }
    }
    match version.as_deref() {
        Some(v) if v == SCHEMA_VERSION.to_string() => {}
        Some(v) => {
            return Err(Error::Config(format!(
                "PostgreSQL table `{chunks}` has schema version {v}, this VaultIQ knows {SCHEMA_VERSION}; \
                 upgrade VaultIQ"
            )))
        }
        None => {
            let HnswSettings { m, ef_construction } = hnsw;
            // Filter columns live on the chunk rows so one index scan
            // filters without a join; `documents` serves counts and deletes.
            tx.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {documents} (
                    id text PRIMARY KEY,
                    source text NOT NULL,
                    content_hash text NOT NULL
                 );
                 CREATE INDEX IF NOT EXISTS {documents}_source ON {documents} (source);
                 CREATE TABLE IF NOT EXISTS {chunks} (
                    id text PRIMARY KEY,
                    document_id text NOT NULL REFERENCES {documents} (id) ON DELETE CASCADE,
                    ordinal integer NOT NULL,
                    text text NOT NULL,
                    heading_path text[] NOT NULL,
                    char_start bigint NOT NULL,
                    char_end bigint NOT NULL,
                    content_hash text NOT NULL,
                    source text NOT NULL,
                    source_name text NOT NULL,
                    title text NOT NULL,
                    url text NOT NULL,
                    updated_at timestamptz,
                    metadata jsonb NOT NULL,
                    acl text[],
                    search_text text NOT NULL,
                    tsv tsvector GENERATED ALWAYS AS (to_tsvector('{text_search_config}'::regconfig, search_text)) STORED,
                    embedding vector({dimension}) NOT NULL
                 );
                 CREATE INDEX IF NOT EXISTS {chunks}_document ON {chunks} (document_id);
                 CREATE INDEX IF NOT EXISTS {chunks}_tsv ON {chunks} USING gin (tsv);
                 CREATE INDEX IF NOT EXISTS {chunks}_metadata ON {chunks} USING gin (metadata jsonb_path_ops);
                 CREATE INDEX IF NOT EXISTS {chunks}_embedding ON {chunks}
                    USING hnsw (embedding vector_cosine_ops) WITH (m = {m}, ef_construction = {ef_construction});
                 INSERT INTO {meta} (key, value) VALUES
                    ('schema_version', '{SCHEMA_VERSION}'), ('dimension', '{dimension}'),
                    ('text_search_config', '{text_search_config}')
                 ON CONFLICT (key) DO NOTHING;"
            ))
            .await
            .map_err(|e| pg("creating the tables", e))?;
        }
    }
    tx.commit()
        .await
        .map_err(|e| pg("committing the migration", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_prefix_is_a_safe_identifier() {
        assert!(Tables::new("vaultiq").is_ok());
        assert!(Tables::new("kb_2").is_ok());
        for bad in ["", "Kb", "2kb", "kb;drop", "kb-x", &"a".repeat(41)] {
            assert!(Tables::new(bad).is_err(), "{bad}");
        }
    }
}
