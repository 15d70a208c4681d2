//! Index creation as OpenSearch validates it: known field types, a
//! `knn_vector` with an integer dimension and a supported method, and
//! `index.knn` enabled when a vector field exists.
//! Create index: https://docs.opensearch.org/latest/api-reference/index-apis/create-index/
//! k-NN vector field: https://docs.opensearch.org/latest/field-types/supported-field-types/knn-vector/

use serde_json::Value;

/// Field types the emulator accepts (a subset of OpenSearch's).
const FIELD_TYPES: &[&str] = &[
    "keyword",
    "text",
    "long",
    "integer",
    "short",
    "byte",
    "double",
    "float",
    "boolean",
    "date",
    "object",
    "nested",
    "flattened",
    "knn_vector",
];

/// Checks a create-index body; returns the vector dimension, or the
/// `mapper_parsing_exception` reason.
pub fn validate(body: &Value, serverless: bool) -> Result<Option<usize>, String> {
    let Some(body) = body.as_object() else {
        return Err("request body must be a JSON object".into());
    };
    for key in body.keys() {
        if !["settings", "mappings", "aliases"].contains(&key.as_str()) {
            return Err(format!("unknown key [{key}] for create index"));
        }
    }
    let properties = body
        .get("mappings")
        .and_then(|m| m.get("properties"))
        .and_then(Value::as_object);
    let mut dimension = None;
    if let Some(properties) = properties {
        for (name, field) in properties {
            let kind = field
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("object");
            if !FIELD_TYPES.contains(&kind) {
                return Err(format!(
                    "No handler for type [{kind}] declared on field [{name}]"
                ));
            }
            if kind == "knn_vector" {
                dimension = Some(validate_vector(name, field, serverless)?);
            }
        }
    }
    let knn_enabled = body
        .get("settings")
        .and_then(|s| s.get("index"))
        .and_then(|i| i.get("knn"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || body
            .get("settings")
            .and_then(|s| s.get("index.knn"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
    if dimension.is_some() && !knn_enabled {
        return Err(
            "Cannot create index with knn_vector field without setting index.knn to true"
                .to_string(),
        );
    }
    Ok(dimension)
}

fn validate_vector(name: &str, field: &Value, serverless: bool) -> Result<usize, String> {
    let dimension = field
        .get("dimension")
        .and_then(Value::as_u64)
        .filter(|d| (1..=16_000).contains(d))
        .ok_or_else(|| format!("Dimension value missing or invalid for vector field [{name}]"))?;
    if let Some(method) = field.get("method") {
        let method_name = method.get("name").and_then(Value::as_str);
        if method_name != Some("hnsw") && method_name != Some("ivf") {
            return Err(format!("Invalid method name for field [{name}]"));
        }
        let engine = method
            .get("engine")
            .and_then(Value::as_str)
            .unwrap_or("faiss");
        let engines: &[&str] = if serverless {
            // Serverless vector collections support faiss and lucene.
            &["faiss", "lucene"]
        } else {
            &["faiss", "lucene", "nmslib"]
        };
        if !engines.contains(&engine) {
            return Err(format!("Invalid engine [{engine}] for field [{name}]"));
        }
        let space = method
            .get("space_type")
            .and_then(Value::as_str)
            .unwrap_or("l2");
        if !["l2", "cosinesimil", "innerproduct", "l1", "linf"].contains(&space) {
            return Err(format!("Invalid space type [{space}] for field [{name}]"));
        }
        if let Some(parameters) = method.get("parameters").and_then(Value::as_object) {
            for (key, value) in parameters {
                if !["m", "ef_construction", "ef_search", "encoder"].contains(&key.as_str()) {
                    return Err(format!("Invalid parameter [{key}] for method hnsw"));
                }
                if key != "encoder" && value.as_u64().is_none_or(|v| v < 2) {
                    return Err(format!(
                        "Parameter [{key}] must be an integer of at least 2"
                    ));
                }
            }
        }
    }
    Ok(dimension as usize)
}
