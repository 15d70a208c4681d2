//! The raw lake on Amazon S3: one object per document at
//! `s3://{bucket}/{prefix}raw/{source name}/{percent-encoded id}.json`
//! ([`record_key`]), holding the same JSON the fs lake writes.
//!
//! The Lambda processing handler parses S3 event keys back into a source
//! and a document with [`crate::lake::key::parse_record_key`], so the key
//! layout here is a contract and comes from one place.

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption as SdkSse;
use aws_sdk_s3::Client;

use crate::aws::{classify, AwsFailure, AwsSettings, LazyClient};
use crate::connector::SourceDocument;
use crate::lake::key::{decode, encode, normalize_prefix, parse_record_key, record_key};
use crate::lake::Lake;
use crate::{Error, Result};

/// How S3 encrypts the records at rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ServerSideEncryption {
    /// The bucket's default encryption (no header sent).
    #[default]
    BucketDefault,
    /// SSE-S3: keys managed by S3 (`AES256`).
    S3,
    /// SSE-KMS (`aws:kms`), with a key id or ARN, or the account's
    /// `aws/s3` key when `None`.
    Kms {
        /// KMS key id, alias or ARN.
        key_id: Option<String>,
    },
}

impl ServerSideEncryption {
    /// Parses the `[lake] sse` value (`AES256` or `aws:kms`).
    pub fn parse(mode: &str, kms_key_id: Option<&str>) -> Result<Self> {
        match (mode, kms_key_id) {
            ("AES256", None) => Ok(ServerSideEncryption::S3),
            ("AES256", Some(_)) => Err(Error::Config(
                "`lake.kms_key_id` needs `lake.sse = \"aws:kms\"` (AES256 uses S3-managed keys)"
                    .into(),
            )),
            ("aws:kms", key) => Ok(ServerSideEncryption::Kms {
                key_id: key.map(String::from),
            }),
            (other, _) => Err(Error::Config(format!(
                "`lake.sse` must be `AES256` or `aws:kms`, got `{other}`"
            ))),
        }
    }
}

/// ListObjectsV2 returns at most this many keys per page.
const MAX_KEYS_PER_PAGE: i32 = 1000;

/// Builds an [`S3Lake`].
#[derive(Debug, Clone)]
pub struct S3LakeBuilder {
    bucket: String,
    prefix: String,
    settings: AwsSettings,
    sse: ServerSideEncryption,
    page_size: i32,
}

impl S3LakeBuilder {
    /// Key prefix under which `raw/` lives (`"kb"` and `"kb/"` are the
    /// same; default none).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Region, profile and endpoint override of the client.
    pub fn settings(mut self, settings: AwsSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Encryption at rest of every record written.
    pub fn sse(mut self, sse: ServerSideEncryption) -> Self {
        self.sse = sse;
        self
    }

    /// Keys asked for per ListObjectsV2 page (1..1000, default 1000);
    /// smaller pages only exist to exercise pagination.
    pub fn page_size(mut self, keys: usize) -> Self {
        self.page_size = i32::try_from(keys).unwrap_or(MAX_KEYS_PER_PAGE);
        self
    }

    /// Checks the settings; no network I/O (the client is built on first use).
    pub fn build(self) -> Result<S3Lake> {
        if !valid_bucket_name(&self.bucket) {
            return Err(Error::Config(format!(
                "`lake.bucket` must be an S3 bucket name (3-63 lowercase letters, digits, `.` or `-`), got `{}`",
                self.bucket
            )));
        }
        if self.prefix.starts_with('/') {
            return Err(Error::Config(format!(
                "`lake.prefix` must not start with `/` (S3 keys have no leading slash), got `{}`",
                self.prefix
            )));
        }
        if !(1..=MAX_KEYS_PER_PAGE).contains(&self.page_size) {
            return Err(Error::InvalidInput(format!(
                "S3 list page size must be 1..{MAX_KEYS_PER_PAGE}, got {}",
                self.page_size
            )));
        }
        // Emulators and most S3-compatible servers only route path-style
        // requests (`http://host/bucket/key`).
        let make: fn(&aws_config::SdkConfig) -> Client = if self.settings.endpoint_url.is_some() {
            path_style_client
        } else {
            Client::new
        };
        Ok(S3Lake {
            client: LazyClient::new(self.settings, make),
            bucket: self.bucket,
            prefix: normalize_prefix(&self.prefix),
            sse: self.sse,
            page_size: self.page_size,
        })
    }
}

fn path_style_client(config: &aws_config::SdkConfig) -> Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(true)
        .build();
    Client::from_conf(s3)
}

/// The rules S3 gives for new general purpose bucket names.
fn valid_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric())
}

/// [`Lake`] on S3. Writes are single PutObject calls, so a record is
/// always either the old or the new version, never half of one.
#[derive(Debug)]
pub struct S3Lake {
    client: LazyClient<Client>,
    bucket: String,
    prefix: String,
    sse: ServerSideEncryption,
    page_size: i32,
}

impl S3Lake {
    /// A builder for a lake in `bucket`.
    pub fn builder(bucket: impl Into<String>) -> S3LakeBuilder {
        S3LakeBuilder {
            bucket: bucket.into(),
            prefix: String::new(),
            settings: AwsSettings::default(),
            sse: ServerSideEncryption::default(),
            page_size: MAX_KEYS_PER_PAGE,
        }
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The normalised key prefix (empty or ending in `/`), as
    /// [`parse_record_key`] expects it.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The object key of one record.
    pub fn key(&self, source_name: &str, document_id: &str) -> String {
        record_key(&self.prefix, source_name, document_id)
    }

    fn error(&self, action: &str, key: &str, failure: &AwsFailure) -> Error {
        if failure.is("NoSuchBucket") {
            return Error::Config(format!(
                "S3 bucket `{}` does not exist (check `lake.bucket` and the region)",
                self.bucket
            ));
        }
        Error::Store {
            message: format!("S3 {action} s3://{}/{key}: {failure}", self.bucket),
            retryable: failure.retryable,
        }
    }

    /// Every key under `prefix`, following continuation tokens; with a
    /// delimiter, the common prefixes instead.
    async fn list_keys(&self, prefix: &str, delimiter: Option<&str>) -> Result<Vec<String>> {
        let client = self.client.get().await;
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .max_keys(self.page_size)
                .set_delimiter(delimiter.map(String::from))
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| self.error("ListObjectsV2", prefix, &classify(&e)))?;
            if delimiter.is_some() {
                out.extend(
                    page.common_prefixes()
                        .iter()
                        .filter_map(|p| p.prefix().map(String::from)),
                );
            } else {
                out.extend(
                    page.contents()
                        .iter()
                        .filter_map(|o| o.key().map(String::from)),
                );
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }
}

#[async_trait]
impl Lake for S3Lake {
    #[tracing::instrument(name = "lake.put", skip_all, fields(backend = "s3"), err)]
    async fn put(&self, record: &SourceDocument) -> Result<()> {
        let key = self.key(&record.document.source_name, &record.document.id);
        let body = serde_json::to_vec_pretty(record)?;
        let mut request = self
            .client
            .get()
            .await
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        request = match &self.sse {
            ServerSideEncryption::BucketDefault => request,
            ServerSideEncryption::S3 => request.server_side_encryption(SdkSse::Aes256),
            ServerSideEncryption::Kms { key_id } => request
                .server_side_encryption(SdkSse::AwsKms)
                .set_ssekms_key_id(key_id.clone()),
        };
        request
            .send()
            .await
            .map_err(|e| self.error("PutObject", &key, &classify(&e)))?;
        Ok(())
    }

    #[tracing::instrument(name = "lake.get", skip_all, fields(backend = "s3"), err)]
    async fn get(&self, source_name: &str, document_id: &str) -> Result<Option<SourceDocument>> {
        let key = self.key(source_name, document_id);
        let response = self
            .client
            .get()
            .await
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await;
        let output = match response {
            Ok(output) => output,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(self.error("GetObject", &key, &classify(&e))),
        };
        let bytes = output.body.collect().await.map_err(|e| Error::Store {
            message: format!("S3 GetObject s3://{}/{key}: body cut off: {e}", self.bucket),
            retryable: true,
        })?;
        serde_json::from_slice(&bytes.into_bytes())
            .map(Some)
            .map_err(|e| Error::Corrupt(format!("lake record s3://{}/{key}: {e}", self.bucket)))
    }

    #[tracing::instrument(name = "lake.list", skip_all, fields(backend = "s3"), err)]
    async fn list(&self, source_name: &str) -> Result<Vec<String>> {
        let folder = format!("{}raw/{}/", self.prefix, encode(source_name));
        let keys = self.list_keys(&folder, None).await?;
        let mut ids: Vec<String> = keys
            .iter()
            .filter_map(|key| parse_record_key(&self.prefix, key))
            .filter(|(source, _)| source == source_name)
            .map(|(_, id)| id)
            .collect();
        ids.sort();
        Ok(ids)
    }

    #[tracing::instrument(name = "lake.sources", skip_all, fields(backend = "s3"), err)]
    async fn sources(&self) -> Result<Vec<String>> {
        let root = format!("{}raw/", self.prefix);
        let folders = self.list_keys(&root, Some("/")).await?;
        let mut names: Vec<String> = folders
            .iter()
            .filter_map(|folder| folder.strip_prefix(&root)?.strip_suffix('/'))
            .filter_map(decode)
            .collect();
        names.sort();
        Ok(names)
    }

    #[tracing::instrument(name = "lake.delete", skip_all, fields(backend = "s3"), err)]
    async fn delete(&self, source_name: &str, document_id: &str) -> Result<()> {
        let key = self.key(source_name, document_id);
        // S3 answers 204 whether or not the object existed.
        self.client
            .get()
            .await
            .delete_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| self.error("DeleteObject", &key, &classify(&e)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_without_network() {
        assert!(S3Lake::builder("my-bucket").prefix("kb").build().is_ok());
        assert!(matches!(
            S3Lake::builder("My_Bucket").build(),
            Err(Error::Config(_))
        ));
        assert!(matches!(
            S3Lake::builder("bucket").prefix("/kb").build(),
            Err(Error::Config(_))
        ));
        assert!(S3Lake::builder("bucket").page_size(0).build().is_err());
    }

    #[test]
    fn prefix_gets_one_trailing_slash() -> Result<()> {
        let lake = S3Lake::builder("bucket").prefix("kb").build()?;
        assert_eq!(lake.prefix(), "kb/");
        assert_eq!(lake.key("wiki", "a/b"), "kb/raw/wiki/a%2Fb.json");
        assert_eq!(S3Lake::builder("bucket").build()?.prefix(), "");
        Ok(())
    }

    #[test]
    fn sse_modes_parse() {
        assert_eq!(
            ServerSideEncryption::parse("AES256", None).ok(),
            Some(ServerSideEncryption::S3)
        );
        assert_eq!(
            ServerSideEncryption::parse("aws:kms", Some("alias/kb")).ok(),
            Some(ServerSideEncryption::Kms {
                key_id: Some("alias/kb".into())
            })
        );
        assert!(ServerSideEncryption::parse("AES256", Some("k")).is_err());
        assert!(ServerSideEncryption::parse("aes", None).is_err());
    }
}
