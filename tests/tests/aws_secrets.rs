//! `SecretsManagerProvider` with the real SDK client against moto (or AWS
//! with `VAULTIQ_TEST_AWS=1`): the seed's four secret shapes become
//! credentials, fetched secrets are reused for the TTL (counted on the wire
//! through a proxy), and bad secrets give errors that name the secret and
//! the missing field but never the value.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use vaultiq_core::connector::http::Auth;
use vaultiq_core::connector::{SecretProvider, SecretsManagerProvider};
use vaultiq_core::{Error, SourceType};
use vaultiq_tests::aws::{target, unique, CountingProxy, Target};

/// Creates a secret for this test (deleted at the end on AWS).
async fn create_secret(target: &Target, name: &str, value: &str) {
    target
        .secrets()
        .await
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
}

async fn delete_secrets(target: &Target, names: &[String]) {
    let client = target.secrets().await;
    for name in names {
        let _ = client
            .delete_secret()
            .secret_id(name)
            .force_delete_without_recovery(true)
            .send()
            .await;
    }
}

fn provider(target: &Target) -> SecretsManagerProvider {
    SecretsManagerProvider::builder()
        .settings(target.settings())
        .build()
}

#[tokio::test]
async fn the_four_seed_shapes_become_credentials() {
    let Some(target) = target("the_four_seed_shapes_become_credentials") else {
        return;
    };
    let base = unique("vaultiq-test");
    let shapes = [
        (
            "confluence",
            SourceType::Confluence,
            r#"{"url": "https://acme.atlassian.net", "username": "ops@acme.com", "api_key": "conf-key"}"#,
        ),
        ("slack", SourceType::Slack, r#"{"bot_token": "xoxb-1-2"}"#),
        (
            "jira",
            SourceType::Jira,
            r#"{"server": "https://acme.atlassian.net", "username": "ops@acme.com", "api_token": "jira-key"}"#,
        ),
        ("github", SourceType::Github, r#"{"token": "ghp_abc"}"#),
    ];
    let mut names = Vec::new();
    for (kind, _, value) in &shapes {
        let name = format!("{base}/{kind}");
        create_secret(&target, &name, value).await;
        names.push(name);
    }
    let provider = provider(&target);
    let mut auths = Vec::new();
    for ((_, source_type, _), name) in shapes.iter().zip(&names) {
        let secret = provider.secret(name).await.unwrap();
        auths.push(secret.auth_for(*source_type, name).unwrap());
    }
    delete_secrets(&target, &names).await;
    assert!(
        matches!(&auths[0], Auth::Basic { username, token } if username == "ops@acme.com" && token == "conf-key")
    );
    assert!(matches!(&auths[1], Auth::Bearer(t) if t == "xoxb-1-2"));
    assert!(
        matches!(&auths[2], Auth::Basic { username, token } if username == "ops@acme.com" && token == "jira-key")
    );
    assert!(matches!(&auths[3], Auth::Bearer(t) if t == "ghp_abc"));
}

#[tokio::test]
async fn fetched_secrets_are_reused_for_the_ttl() {
    let Some(target) = target("fetched_secrets_are_reused_for_the_ttl") else {
        return;
    };
    let Target::Moto { url } = &target else {
        eprintln!("skipped on AWS: calls are counted through a loopback proxy");
        return;
    };
    let name = format!("{}/github", unique("vaultiq-test"));
    create_secret(&target, &name, r#"{"token": "ghp_ttl"}"#).await;
    let proxy = CountingProxy::start(url).await;
    let fetches = |proxy: &CountingProxy| {
        proxy
            .requests()
            .iter()
            .filter(|r| r.operation() == "GetSecretValue")
            .count()
    };

    let cached = SecretsManagerProvider::builder()
        .settings(target.settings_via(&proxy.url))
        .ttl(Duration::from_secs(3600))
        .build();
    for _ in 0..5 {
        assert_eq!(
            cached.secret(&name).await.unwrap().get("token"),
            Some("ghp_ttl")
        );
    }
    assert_eq!(fetches(&proxy), 1);
    // Invalidation (or expiry) fetches again.
    cached.invalidate(&name);
    cached.secret(&name).await.unwrap();
    assert_eq!(fetches(&proxy), 2);

    proxy.clear();
    let uncached = SecretsManagerProvider::builder()
        .settings(target.settings_via(&proxy.url))
        .ttl(Duration::ZERO)
        .build();
    for _ in 0..3 {
        uncached.secret(&name).await.unwrap();
    }
    assert_eq!(fetches(&proxy), 3);

    // A rotated value shows up once the cached copy expires.
    target
        .secrets()
        .await
        .put_secret_value()
        .secret_id(&name)
        .secret_string(r#"{"token": "ghp_rotated"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        cached.secret(&name).await.unwrap().get("token"),
        Some("ghp_ttl")
    );
    assert_eq!(
        uncached.secret(&name).await.unwrap().get("token"),
        Some("ghp_rotated")
    );
}

#[tokio::test]
async fn bad_secrets_name_the_secret_and_field_but_never_the_value() {
    let Some(target) = target("bad_secrets_name_the_secret_and_field_but_never_the_value") else {
        return;
    };
    let base = unique("vaultiq-test");
    let missing_field = format!("{base}/jira");
    let not_json = format!("{base}/slack");
    create_secret(
        &target,
        &missing_field,
        r#"{"server": "https://acme.atlassian.net", "username": "ops@acme.com", "api_tokn": "super-secret-value-1"}"#,
    )
    .await;
    create_secret(&target, &not_json, "xoxb-super-secret-value-2").await;
    let provider = provider(&target);

    let secret = provider.secret(&missing_field).await.unwrap();
    let origin = format!("{} secret `{missing_field}`", provider.kind());
    let err = secret
        .auth_for(SourceType::Jira, &origin)
        .unwrap_err()
        .to_string();
    assert!(err.contains(&missing_field), "{err}");
    assert!(err.contains("api_token"), "{err}");
    assert!(!err.contains("super-secret-value-1"), "{err}");
    assert!(!format!("{secret:?}").contains("super-secret-value-1"));

    let err = provider.secret(&not_json).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(
        text.contains(&not_json) && !text.contains("super-secret-value-2"),
        "{text}"
    );

    let absent = format!("{base}/nothing-here");
    let err = provider.secret(&absent).await.unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains(&absent) && m.contains("does not exist")),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    delete_secrets(&target, &[missing_field, not_json]).await;
}
