//! The remote store a `[store]` section asks for. `Config::open` is
//! synchronous and connecting is not, so the store connects (and migrates
//! or creates its index) on first use, once; a failed connection is
//! reported by that call and tried again by the next.
// Only the remote stores (cargo features `pgvector`, `aws-opensearch`) use
// these; a build without either keeps them compiled but unused.
#![cfg_attr(
    not(any(feature = "pgvector", feature = "aws-opensearch")),
    allow(dead_code, unused_imports)
)]

use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use tokio::sync::OnceCell;

use crate::config::{AwsConfig, StoreConfig};
use crate::store::{Filter, IndexedDocument, StoredHit, VectorStore};
use crate::{Error, Result, SourceType};

type Connect = Box<dyn Fn() -> BoxFuture<'static, Result<Arc<dyn VectorStore>>> + Send + Sync>;

/// A store that connects on first use.
struct LazyStore {
    kind: &'static str,
    store: OnceCell<Arc<dyn VectorStore>>,
    connect: Connect,
}

impl std::fmt::Debug for LazyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyStore")
            .field("kind", &self.kind)
            .field("connected", &self.store.initialized())
            .finish()
    }
}

impl LazyStore {
    async fn get(&self) -> Result<&Arc<dyn VectorStore>> {
        self.store.get_or_try_init(|| (self.connect)()).await
    }
}

#[async_trait]
impl VectorStore for LazyStore {
    async fn upsert(&self, documents: &[IndexedDocument]) -> Result<()> {
        self.get().await?.upsert(documents).await
    }
    async fn delete(&self, document_ids: &[String]) -> Result<()> {
        self.get().await?.delete(document_ids).await
    }
    async fn vector_search(&self, q: &[f32], k: usize, f: &Filter) -> Result<Vec<StoredHit>> {
        self.get().await?.vector_search(q, k, f).await
    }
    async fn keyword_search(&self, q: &str, k: usize, f: &Filter) -> Result<Vec<StoredHit>> {
        self.get().await?.keyword_search(q, k, f).await
    }
    async fn count_by_source(&self) -> Result<std::collections::BTreeMap<SourceType, usize>> {
        self.get().await?.count_by_source().await
    }
    async fn chunk_count(&self) -> Result<usize> {
        self.get().await?.chunk_count().await
    }
}

fn env(name: &str, key: &str) -> Result<String> {
    std::env::var(name).map_err(|_| {
        Error::Config(format!(
            "`store.{key}` names the environment variable `{name}`, which is not set"
        ))
    })
}

/// The remote store of `config` for vectors of `dimension`, or `None` for
/// the embedded store. `aws` is the `[aws]` section SigV4 signing uses.
pub(crate) fn from_config(
    config: &StoreConfig,
    aws: &AwsConfig,
    dimension: usize,
) -> Result<Option<Arc<dyn VectorStore>>> {
    let _ = (dimension, aws);
    match config.kind.as_str() {
        #[cfg(feature = "pgvector")]
        "pgvector" => {
            let url = match (&config.url, &config.url_env) {
                (_, Some(name)) => env(name, "url_env")?,
                (Some(url), None) => url.clone(),
                (None, None) => {
                    return Err(Error::Config(
                        "`store.url` or `store.url_env` is required for the pgvector store".into(),
                    ))
                }
            };
            let mut builder = crate::store::PgVectorStore::builder(url, dimension);
            if let Some(prefix) = config.index.clone() {
                builder = builder.table_prefix(prefix);
            }
            if let Some(n) = config.max_connections {
                builder = builder.max_connections(n);
            }
            if let Some(path) = config.tls_ca_file.clone() {
                builder = builder.tls_ca_file(path);
            }
            let connect: Connect = Box::new(move || {
                let builder = builder.clone();
                Box::pin(
                    async move { Ok(Arc::new(builder.connect().await?) as Arc<dyn VectorStore>) },
                )
            });
            Ok(Some(Arc::new(LazyStore {
                kind: "pgvector",
                store: OnceCell::new(),
                connect,
            })))
        }
        #[cfg(feature = "aws-opensearch")]
        "opensearch" => {
            use crate::store::{OpenSearchAuth, OpenSearchStore, SpaceType};
            let url = config.url.clone().ok_or_else(|| {
                Error::Config("`store.url` is required for the opensearch store".into())
            })?;
            let index = config.index.clone().unwrap_or_else(|| "vaultiq".into());
            let mut chain = None;
            let auth = match config.auth.as_deref().unwrap_or("none") {
                "none" => OpenSearchAuth::None,
                "basic" => {
                    let user = config
                        .username_env
                        .as_deref()
                        .unwrap_or("OPENSEARCH_USERNAME");
                    let pass = config
                        .password_env
                        .as_deref()
                        .unwrap_or("OPENSEARCH_PASSWORD");
                    OpenSearchAuth::Basic {
                        username: env(user, "username_env")?,
                        password: env(pass, "password_env")?,
                    }
                }
                kind @ ("aoss" | "es") => {
                    // Signed with the `[aws]` chain's credentials, fetched
                    // when the store connects (lazily, inside the runtime).
                    let mut settings = crate::aws::AwsSettings::from_config(aws, None);
                    if let Some(region) = &config.region {
                        settings = settings.with_region(region.clone());
                    }
                    chain = Some((settings, kind == "aoss"));
                    OpenSearchAuth::None
                }
                other => {
                    return Err(Error::Config(format!(
                        "`store.auth` must be none, basic, aoss or es, got `{other}`"
                    )))
                }
            };
            let space = match config.space_type.as_deref().unwrap_or("innerproduct") {
                "innerproduct" => SpaceType::InnerProduct,
                "cosinesimil" => SpaceType::Cosine,
                other => {
                    return Err(Error::Config(format!(
                        "`store.space_type` must be innerproduct or cosinesimil, got `{other}`"
                    )))
                }
            };
            let builder = OpenSearchStore::builder(url, index, dimension)
                .auth(auth)
                .space_type(space);
            let connect: Connect = Box::new(move || {
                let builder = builder.clone();
                let chain = chain.clone();
                Box::pin(async move {
                    let builder = match chain {
                        Some((settings, serverless)) => {
                            builder.auth(OpenSearchAuth::aws_chain(&settings, serverless).await?)
                        }
                        None => builder,
                    };
                    Ok(Arc::new(builder.connect().await?) as Arc<dyn VectorStore>)
                })
            });
            Ok(Some(Arc::new(LazyStore {
                kind: "opensearch",
                store: OnceCell::new(),
                connect,
            })))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_config(text: &str) -> StoreConfig {
        match crate::config::Config::parse(text, "vaultiq.toml") {
            Ok(config) => config.store,
            Err(e) => panic_free_default(&e.to_string()),
        }
    }

    fn panic_free_default(message: &str) -> StoreConfig {
        StoreConfig {
            kind: format!("unparsed: {message}"),
            ..StoreConfig::default()
        }
    }

    #[test]
    fn embedded_needs_no_remote_store() {
        let config = store_config("");
        assert!(matches!(
            from_config(&config, &AwsConfig::default(), 384),
            Ok(None)
        ));
    }

    #[cfg(feature = "pgvector")]
    #[test]
    fn pgvector_needs_a_url() {
        let config = store_config("[store]\nkind = \"pgvector\"");
        assert_eq!(config.kind, "pgvector");
        let err = from_config(&config, &AwsConfig::default(), 384)
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("store.url")));
        let config = store_config(
            "[store]\nkind = \"pgvector\"\nurl_env = \"VAULTIQ_UNSET_VARIABLE_FOR_TEST\"",
        );
        let err = from_config(&config, &AwsConfig::default(), 384)
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("VAULTIQ_UNSET_VARIABLE_FOR_TEST")));
        let config =
            store_config("[store]\nkind = \"pgvector\"\nurl = \"postgres://u@127.0.0.1:1/db\"");
        assert!(matches!(
            from_config(&config, &AwsConfig::default(), 384),
            Ok(Some(_))
        ));
        let config = store_config(
            "[store]\nkind = \"pgvector\"\nurl = \"postgres://u@127.0.0.1:1/db?sslmode=verify-full\"\n\
             tls_ca_file = \"/etc/ssl/rds/global-bundle.pem\"",
        );
        assert_eq!(
            config.tls_ca_file.as_deref(),
            Some(std::path::Path::new("/etc/ssl/rds/global-bundle.pem"))
        );
        assert!(matches!(
            from_config(&config, &AwsConfig::default(), 384),
            Ok(Some(_))
        ));
    }

    #[cfg(feature = "aws-opensearch")]
    #[test]
    fn opensearch_settings_are_checked() {
        let config = store_config("[store]\nkind = \"opensearch\"");
        assert!(from_config(&config, &AwsConfig::default(), 384).is_err());
        let config = store_config(
            "[store]\nkind = \"opensearch\"\nurl = \"http://127.0.0.1:9200\"\nauth = \"kerberos\"",
        );
        let err = from_config(&config, &AwsConfig::default(), 384)
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("store.auth")));
        let config = store_config(
            "[store]\nkind = \"opensearch\"\nurl = \"http://127.0.0.1:9200\"\nindex = \"kb\"",
        );
        assert!(matches!(
            from_config(&config, &AwsConfig::default(), 384),
            Ok(Some(_))
        ));
    }
}
