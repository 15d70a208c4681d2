//! One knowledge base per Lambda container, built on the first invocation
//! and reused by every later one (Lambda keeps a container's memory between
//! invocations), so the cold start stays small and warm calls pay nothing.

use std::sync::Arc;

use tokio::sync::OnceCell;
use vaultiq_core::config::Config;
use vaultiq_core::{Error, KnowledgeBase, Result};

/// The configuration and the knowledge base it opens, built once.
#[derive(Debug)]
pub struct LazyKnowledgeBase {
    cell: OnceCell<(Arc<Config>, Arc<KnowledgeBase>)>,
}

impl Default for LazyKnowledgeBase {
    fn default() -> Self {
        Self::new()
    }
}

impl LazyKnowledgeBase {
    /// An empty cell, usable in a `static`.
    pub const fn new() -> Self {
        LazyKnowledgeBase {
            cell: OnceCell::const_new(),
        }
    }

    /// The knowledge base of the environment's configuration
    /// ([`super::config::from_env`]), opened on first use. A failure is not
    /// kept: the next invocation tries again (a throttled secret read or a
    /// missing variable fixed by a redeploy should not need a new container).
    pub async fn get(&self) -> Result<(Arc<Config>, Arc<KnowledgeBase>)> {
        let (config, kb) = self
            .cell
            .get_or_try_init(|| async {
                // Opening may load a local model from disk: keep it off the
                // async workers. Remote clients (Bedrock, S3...) connect
                // lazily, so the Bedrock setup loads no model at all.
                tokio::task::spawn_blocking(|| {
                    let config = super::config::from_env()?;
                    let kb = config.open()?;
                    tracing::info!(
                        embedder = %config.embedder.kind,
                        store = %config.store.kind,
                        lake = %config.lake.kind,
                        state = %config.state.kind,
                        "knowledge base opened"
                    );
                    Ok::<_, Error>((Arc::new(config), Arc::new(kb)))
                })
                .await
                .map_err(|e| Error::Config(format!("opening the knowledge base failed: {e}")))?
            })
            .await?;
        Ok((Arc::clone(config), Arc::clone(kb)))
    }
}
