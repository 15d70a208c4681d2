//! VaultIQ in the seed's AWS shape for one test: an S3 lake, a DynamoDB
//! state table and Secrets Manager on moto (or AWS), Titan and Claude on the
//! Bedrock emulator (or Bedrock), and OpenSearch Serverless on its emulator
//! (or at `VAULTIQ_TEST_OPENSEARCH_URL` against AWS, else the embedded
//! store). [`AwsShape::sections`] is the `vaultiq.toml` text that selects
//! them, so a test and a function process configured from it see the same
//! parts.

use crate::aws::{target, unique, Target, MOTO_REGION};
use crate::bedrock_emulator::BedrockEmulator;
use crate::opensearch_emulator::{Mode, OpenSearchEmulator};
use vaultiq_core::lake::key::record_key;
use vaultiq_core::state::DynamoDbStateStore;

/// A test's own bucket, table and emulators.
pub struct AwsShape {
    /// Where the AWS services are.
    pub target: Target,
    /// The lake bucket.
    pub bucket: String,
    /// The lake's key prefix.
    pub prefix: String,
    /// An S3 client for fixtures (reading and damaging raw records).
    pub s3: aws_sdk_s3::Client,
    /// `[aws]`, `[lake]`, `[state]`, `[embedder]`, `[answerer]` and
    /// (unless the embedded store is used) `[store]`.
    pub sections: String,
    /// The Bedrock emulator (none against AWS); stops when dropped.
    pub bedrock: Option<BedrockEmulator>,
    /// The OpenSearch emulator (none against AWS); stops when dropped.
    pub opensearch: Option<OpenSearchEmulator>,
}

impl AwsShape {
    /// Fresh AWS parts for `test`, or `None` when there is nothing to run
    /// against (the reason is printed).
    pub async fn start(test: &str) -> Option<AwsShape> {
        let target = target(test)?;
        let (bucket, prefix) = target.bucket("shape").await;
        let (table, namespace) = target.table("shape").await;
        DynamoDbStateStore::builder(table.clone())
            .namespace(namespace.clone())
            .settings(target.settings())
            .build()
            .expect("state store settings")
            .create_table()
            .await
            .expect("create the state table");
        let (aws, bedrock, opensearch, store) = match &target {
            Target::Moto { url } => {
                let bedrock = BedrockEmulator::start().await;
                let opensearch = OpenSearchEmulator::start(Mode::Serverless).await;
                let store = store_section(&opensearch.url, "aoss", MOTO_REGION);
                (
                    format!("[aws]\nregion = \"{MOTO_REGION}\"\nendpoint_url = \"{url}\"\n"),
                    Some(bedrock),
                    Some(opensearch),
                    store,
                )
            }
            Target::Real { .. } => {
                let store = match std::env::var("VAULTIQ_TEST_OPENSEARCH_URL") {
                    Ok(url) if !url.is_empty() => {
                        let auth = std::env::var("VAULTIQ_TEST_OPENSEARCH_AUTH")
                            .unwrap_or_else(|_| "aoss".to_string());
                        let region = std::env::var("AWS_REGION").unwrap_or_default();
                        store_section(&url, &auth, &region)
                    }
                    _ => String::new(),
                };
                (String::new(), None, None, store)
            }
        };
        let bedrock_endpoint = bedrock
            .as_ref()
            .map(|e| format!("endpoint_url = \"{}\"\n", e.url()))
            .unwrap_or_default();
        let sections = format!(
            r#"{aws}
[lake]
kind = "s3"
bucket = "{bucket}"
prefix = "{prefix}"

[state]
kind = "dynamodb"
table = "{table}"
namespace = "{namespace}"

[embedder]
kind = "bedrock"
dimensions = 256
{bedrock_endpoint}
[answerer]
kind = "bedrock"
max_tokens = 400
{bedrock_endpoint}
{store}"#
        );
        let s3 = target.s3().await;
        Some(AwsShape {
            target,
            bucket,
            prefix,
            s3,
            sections,
            bedrock,
            opensearch,
        })
    }

    /// The S3 key of a raw record.
    pub fn record_key(&self, source: &str, id: &str) -> String {
        record_key(&self.prefix, source, id)
    }

    /// The stored bytes of a raw record, as text.
    pub async fn read_record(&self, source: &str, id: &str) -> String {
        let object = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(self.record_key(source, id))
            .send()
            .await
            .expect("get the raw record");
        let bytes = object.body.collect().await.expect("read the raw record");
        String::from_utf8(bytes.into_bytes().to_vec()).expect("UTF-8 record")
    }

    /// Overwrites a raw record with `text` (damage, as a buggy writer would).
    pub async fn write_record(&self, source: &str, id: &str, text: &str) {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(self.record_key(source, id))
            .body(text.as_bytes().to_vec().into())
            .send()
            .await
            .expect("put the raw record");
    }
}

/// `[store]` for an OpenSearch endpoint, in an index of the test's own.
fn store_section(url: &str, auth: &str, region: &str) -> String {
    format!(
        "[store]\nkind = \"opensearch\"\nurl = \"{url}\"\nindex = \"{}\"\nauth = \"{auth}\"\nregion = \"{region}\"\n",
        unique("vaultiq-shape")
    )
}
