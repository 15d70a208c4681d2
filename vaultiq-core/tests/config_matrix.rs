//! `vaultiq.toml` test matrix: valid files parse to the expected settings,
//! invalid ones fail with an error that names the file, the key and what
//! is expected; environment overrides win over the file and their errors
//! name the variable.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::HashMap;

use vaultiq_core::config::Config;
use vaultiq_core::{Error, SourceType};

const FILE: &str = "conf/vaultiq.toml";

/// The environment of one case.
type Env = &'static [(&'static str, &'static str)];
/// Words an error message must contain.
type Words = &'static [&'static str];

fn parse(text: &str, env: &[(&str, &str)]) -> vaultiq_core::Result<Config> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::parse_with_env(text, FILE, &|name| env.get(name).cloned())
}

/// Valid configurations and one fact each must produce.
#[test]
fn valid_files_parse() {
    type Check = fn(&Config) -> bool;
    let cases: &[(&str, &str, Env, Check)] = &[
        ("empty file: embedded defaults", "", &[], |c| {
            c.store.kind == "embedded"
                && c.embedder.kind == "local"
                && c.answerer.kind == "extractive"
                && c.lake.kind == "fs"
                && c.state.kind == "sqlite"
                && c.server.addr == "127.0.0.1:8080"
                && c.data_dir.to_str() == Some(".vaultiq")
                && c.sources.is_empty()
        }),
        ("every section explicit",
         "data_dir = \"kb\"\n[embedder]\nkind = \"local\"\nmax_tokens = 256\nbatch_size = 8\n[chunker]\nchunk_size = 500\nchunk_overlap = 50\nlength = \"tokens\"\nmarkdown = false\n[store]\nkind = \"embedded\"\n[answerer]\nkind = \"extractive\"\nmin_relevance = 0.4\n[lake]\nkind = \"fs\"\n[state]\nkind = \"sqlite\"\n[server]\naddr = \"0.0.0.0:9000\"\nmax_concurrency = 8\nmax_queue = 0\nrequest_timeout_secs = 5\ncors_origins = [\"https://intranet.example.com\", \"*\"]\napi_keys_env = \"KEYS\"\n",
         &[], |c| {
            c.chunker.chunk_size == 500
                && !c.chunker.markdown
                && c.chunker.length == "tokens"
                && c.embedder.batch_size == Some(8)
                && c.answerer.min_relevance == Some(0.4)
                && c.server.max_concurrency == Some(8)
                && c.server.max_queue == Some(0)
                && c.server.request_timeout_secs == Some(5)
                && c.server.cors_origins.len() == 2
        }),
        ("files source with include",
         "[[sources]]\ntype = \"files\"\nname = \"runbooks\"\npath = \"docs\"\ninclude = [\"**/*.md\"]\n",
         &[], |c| c.sources[0].source_type == SourceType::Files && c.sources[0].name == "runbooks"),
        ("confluence cloud with env credentials",
         "[[sources]]\ntype = \"confluence\"\nname = \"eng-wiki\"\nbase_url = \"https://acme.atlassian.net\"\nspaces = [\"OPS\"]\ncredentials = { username_env = \"U\", token_env = \"T\" }\n",
         &[], |c| c.sources[0].source_type == SourceType::Confluence),
        ("slack and github together",
         "[[sources]]\ntype = \"slack\"\nname = \"slack\"\ncredentials = { token_env = \"S\" }\n[[sources]]\ntype = \"github\"\nname = \"gh\"\nrepos = [\"acme/platform\"]\ncredentials = { token_env = \"G\" }\n",
         &[], |c| c.sources.len() == 2),
        ("env overrides the file",
         "data_dir = \"kb\"\n[server]\naddr = \"127.0.0.1:1\"\n",
         &[("VAULTIQ_SERVER_ADDR", "0.0.0.0:8181"), ("VAULTIQ_SERVER_MAX_CONCURRENCY", "3"),
           ("VAULTIQ_DATA_DIR", "/srv/vaultiq"), ("VAULTIQ_SERVER_CORS_ORIGINS", "https://a.example, https://b.example")],
         |c| {
            c.server.addr == "0.0.0.0:8181"
                && c.server.max_concurrency == Some(3)
                && c.data_dir.to_str() == Some("/srv/vaultiq")
                && c.server.cors_origins == ["https://a.example", "https://b.example"]
        }),
        ("env fills a section the file lacks", "", &[("VAULTIQ_CHUNKER_CHUNK_SIZE", "400"),
           ("VAULTIQ_CHUNKER_MARKDOWN", "off"), ("VAULTIQ_ANSWERER_MIN_RELEVANCE", "0.25")],
         |c| c.chunker.chunk_size == 400 && !c.chunker.markdown && c.answerer.min_relevance == Some(0.25)),
        ("a relative env data_dir is taken from the working directory", "",
         &[("VAULTIQ_DATA_DIR", "rel/kb")],
         |c| c.data_dir.is_absolute() && c.data_dir.ends_with("rel/kb")),
    ];
    for (name, text, env, check) in cases {
        let config = parse(text, env).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(check(&config), "{name}: unexpected {config:#?}");
    }
}

/// Invalid configurations and the words their error must contain (besides
/// the file name, which every file error carries).
#[test]
fn invalid_files_fail_with_the_key_and_expectation() {
    let cases: &[(&str, &str, Env, Words)] = &[
        ("broken TOML", "data_dir = [", &[], &["line 1"]),
        ("unknown top-level key", "datadir = \"x\"", &[], &["datadir", "data_dir"]),
        ("unknown section key", "[embedder]\nkindd = \"local\"", &[], &["kindd", "kind"]),
        ("wrong type", "[server]\nmax_concurrency = \"lots\"", &[], &["max_concurrency", "lots", "expected"]),
        ("unknown store kind", "[store]\nkind = \"faiss\"", &[], &["store.kind", "embedded", "faiss"]),
        ("store not in this build", "[store]\nkind = \"opensearch\"", &[], &["store.kind", "not available in this build"]),
        ("bad chunker length", "[chunker]\nlength = \"words\"", &[], &["chunker.length", "chars", "tokens"]),
        ("overlap above size", "[chunker]\nchunk_size = 10\nchunk_overlap = 20", &[], &["chunker.chunk_size", "chunk_overlap"]),
        ("relevance out of range", "[answerer]\nmin_relevance = 1.5", &[], &["answerer.min_relevance", "between 0 and 1"]),
        ("zero concurrency", "[server]\nmax_concurrency = 0", &[], &["server.max_concurrency", "1..", "got 0"]),
        ("zero timeout", "[server]\nrequest_timeout_secs = 0", &[], &["server.request_timeout_secs"]),
        ("zero batch", "[embedder]\nbatch_size = 0", &[], &["embedder.batch_size"]),
        ("address without port", "[server]\naddr = \"localhost\"", &[], &["server.addr", "HOST:PORT", "localhost"]),
        ("bad CORS origin", "[server]\ncors_origins = [\"intranet\"]", &[], &["server.cors_origins", "http", "intranet"]),
        ("source without type", "[[sources]]\nname = \"a\"\npath = \".\"", &[], &["type"]),
        ("unknown source type", "[[sources]]\ntype = \"wiki\"\nname = \"a\"", &[], &["wiki", "confluence"]),
        ("files source without path", "[[sources]]\ntype = \"files\"\nname = \"a\"", &[], &["sources[0].path", "directory"]),
        ("files source with a stray key", "[[sources]]\ntype = \"files\"\nname = \"a\"\npath = \".\"\nspaces = [\"X\"]", &[], &["sources[0].spaces", "path, include"]),
        ("bad source name", "[[sources]]\ntype = \"files\"\nname = \"a b\"\npath = \".\"", &[], &["sources[0].name", "letters"]),
        ("duplicate source name",
         "[[sources]]\ntype = \"files\"\nname = \"a\"\npath = \".\"\n[[sources]]\ntype = \"files\"\nname = \"a\"\npath = \".\"",
         &[], &["sources[1].name", "used twice"]),
        ("confluence without base_url", "[[sources]]\ntype = \"confluence\"\nname = \"w\"", &[], &["sources[0].base_url"]),
        ("custom sources are code-only", "[[sources]]\ntype = \"custom\"\nname = \"c\"", &[], &["sources[0].type", "in code"]),
    ];
    for (name, text, env, words) in cases {
        // With the OpenSearch store compiled in, that kind is valid.
        if cfg!(feature = "aws-opensearch") && *name == "store not in this build" {
            continue;
        }
        let err = match parse(text, env) {
            Ok(config) => panic!("{name}: expected an error, got {config:#?}"),
            Err(err) => err,
        };
        assert!(matches!(err, Error::Config(_)), "{name}: {err:?}");
        let message = err.to_string();
        assert!(
            message.contains(FILE),
            "{name}: no file name in `{message}`"
        );
        for word in *words {
            assert!(
                message.contains(word),
                "{name}: `{word}` missing from `{message}`"
            );
        }
    }
}

/// A bad override is reported with the variable's name and what it must be.
#[test]
fn invalid_overrides_name_the_variable() {
    let cases: &[(Env, Words)] = &[
        (
            &[("VAULTIQ_SERVER_MAX_CONCURRENCY", "many")],
            &[
                "VAULTIQ_SERVER_MAX_CONCURRENCY",
                "server.max_concurrency",
                "whole number",
                "many",
            ],
        ),
        (
            &[("VAULTIQ_SERVER_MAX_CONCURRENCY", "0")],
            &["server.max_concurrency", "VAULTIQ_SERVER_MAX_CONCURRENCY"],
        ),
        (
            &[("VAULTIQ_STORE_KIND", "faiss")],
            &["store.kind", "VAULTIQ_STORE_KIND"],
        ),
        (
            &[("VAULTIQ_CHUNKER_MARKDOWN", "maybe")],
            &["VAULTIQ_CHUNKER_MARKDOWN", "true or false"],
        ),
        (
            &[("VAULTIQ_ANSWERER_MIN_RELEVANCE", "high")],
            &["VAULTIQ_ANSWERER_MIN_RELEVANCE", "a number"],
        ),
        (
            &[("VAULTIQ_SERVER_ADDR", "  ")],
            &["VAULTIQ_SERVER_ADDR", "non-empty"],
        ),
    ];
    for (env, words) in cases {
        let err = parse("", env).expect_err("a bad override");
        let message = err.to_string();
        for word in *words {
            assert!(
                message.contains(word),
                "{env:?}: `{word}` missing from `{message}`"
            );
        }
    }
}

/// Every overridable key has a variable named after it.
#[test]
fn override_names_follow_the_scheme() {
    let names = vaultiq_core::config::env::variable_names();
    for expected in [
        "VAULTIQ_DATA_DIR",
        "VAULTIQ_SERVER_ADDR",
        "VAULTIQ_EMBEDDER_MODEL_DIR",
        "VAULTIQ_STORE_URL",
        "VAULTIQ_LAKE_BUCKET",
        "VAULTIQ_STATE_TABLE",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
}
