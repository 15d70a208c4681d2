//! The Query DSL subset VaultIQ sends, validated and evaluated over the
//! stored records: `knn` (with `k` and `filter`), `bool`, `term`, `terms`,
//! `range`, `match`, `match_all`; `sort`, `search_after`, `_source`, `size`;
//! `terms` aggregations. Ranking here is exact (k-NN) or naive (term
//! counts): tests make no ranking assertions against the emulator.
//! Query DSL: https://docs.opensearch.org/latest/query-dsl/
//! k-NN query: https://docs.opensearch.org/latest/query-dsl/specialized/k-nn/

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// A stored record.
#[derive(Debug, Clone)]
pub struct Record {
    /// `_id`.
    pub id: String,
    /// `_source`.
    pub source: Value,
}

/// A bad request, answered as OpenSearch's `parsing_exception` (400).
pub type Invalid = String;

/// Values of a (dotted) field; arrays give every element.
fn field_values<'a>(source: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut current = source;
    for part in path.split('.') {
        match current.get(part) {
            Some(next) => current = next,
            None => {
                // Keys may themselves contain dots (metadata keys).
                return match source.pointer(&format!("/{}", path.replace('.', "/"))) {
                    Some(v) => flatten(v),
                    None => Vec::new(),
                };
            }
        }
    }
    flatten(current)
}

fn flatten(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn single_field(clause: &Value, what: &str) -> Result<(String, Value), Invalid> {
    let object = clause
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| format!("[{what}] query must name exactly one field"))?;
    let (field, value) = object.iter().next().ok_or("empty")?;
    Ok((field.clone(), value.clone()))
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Whether `source` matches the filter/query `clause` (scores ignored).
pub fn matches(clause: &Value, source: &Value) -> Result<bool, Invalid> {
    let object = clause
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or("a query clause must have exactly one query type")?;
    let (kind, body) = object.iter().next().ok_or("empty query")?;
    match kind.as_str() {
        "match_all" => Ok(true),
        "term" => {
            let (field, value) = single_field(body, "term")?;
            let value = value.get("value").cloned().unwrap_or(value);
            if value.is_object() || value.is_array() {
                return Err("[term] query does not support an array or object value".into());
            }
            Ok(field_values(source, &field).iter().any(|v| same(v, &value)))
        }
        "terms" => {
            let (field, values) = single_field(body, "terms")?;
            let values = values
                .as_array()
                .ok_or("[terms] query requires an array of values")?;
            Ok(field_values(source, &field)
                .iter()
                .any(|v| values.iter().any(|w| same(v, w))))
        }
        "range" => {
            let (field, bounds) = single_field(body, "range")?;
            let bounds = bounds.as_object().ok_or("[range] query malformed")?;
            let values = field_values(source, &field);
            Ok(values.iter().any(|v| {
                let Some(x) = v.as_f64() else { return false };
                bounds.iter().all(|(op, bound)| {
                    let Some(b) = bound.as_f64() else {
                        return false;
                    };
                    match op.as_str() {
                        "gte" => x >= b,
                        "gt" => x > b,
                        "lte" => x <= b,
                        "lt" => x < b,
                        _ => false,
                    }
                })
            }))
        }
        "match" => Ok(match_score(body, source)? > 0.0),
        "bool" => {
            let body = body.as_object().ok_or("[bool] query malformed")?;
            let list = |key: &str| -> Vec<Value> {
                match body.get(key) {
                    Some(Value::Array(items)) => items.clone(),
                    Some(one) => vec![one.clone()],
                    None => Vec::new(),
                }
            };
            for key in body.keys() {
                if ![
                    "must",
                    "filter",
                    "should",
                    "must_not",
                    "minimum_should_match",
                    "boost",
                ]
                .contains(&key.as_str())
                {
                    return Err(format!("[bool] query does not support [{key}]"));
                }
            }
            // Every clause is evaluated (no short cut) so a malformed one
            // is reported even when an earlier one already failed.
            let mut ok = true;
            for clause in list("must").iter().chain(list("filter").iter()) {
                ok &= matches(clause, source)?;
            }
            for clause in &list("must_not") {
                ok &= !matches(clause, source)?;
            }
            let should = list("should");
            if should.is_empty() {
                return Ok(ok);
            }
            let needed = body
                .get("minimum_should_match")
                .and_then(Value::as_u64)
                .unwrap_or(
                    if body.contains_key("must") || body.contains_key("filter") {
                        0
                    } else {
                        1
                    },
                );
            let mut hits = 0;
            for clause in &should {
                if matches(clause, source)? {
                    hits += 1;
                }
            }
            Ok(ok && hits >= needed)
        }
        other => Err(format!("unknown query [{other}]")),
    }
}

fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Naive relevance of a `match` query: query-term occurrences.
fn match_score(body: &Value, source: &Value) -> Result<f64, Invalid> {
    let (field, query) = single_field(body, "match")?;
    let text = match &query {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("query")
            .and_then(Value::as_str)
            .ok_or("[match] query requires a [query] string")?
            .to_string(),
        _ => return Err("[match] query malformed".into()),
    };
    let wanted = tokens(&text);
    let mut score = 0.0;
    for value in field_values(source, &field) {
        if let Some(s) = value.as_str() {
            let have = tokens(s);
            score += wanted
                .iter()
                .map(|w| have.iter().filter(|h| *h == w).count() as f64)
                .sum::<f64>();
        }
    }
    Ok(score)
}

/// Score of a query for ranking (k-NN handled separately).
fn score(query: &Value, source: &Value) -> Result<f64, Invalid> {
    if let Some(body) = query.get("match") {
        return match_score(body, source);
    }
    if let Some(bool_query) = query.get("bool") {
        let mut total = 0.0;
        if let Some(must) = bool_query.get("must") {
            let clauses = match must {
                Value::Array(items) => items.clone(),
                one => vec![one.clone()],
            };
            for clause in clauses {
                total += score(&clause, source)?;
            }
        }
        return Ok(total.max(if total == 0.0 { 0.0 } else { total }));
    }
    Ok(1.0)
}

/// k-NN space of the index, for scores as OpenSearch computes them.
#[derive(Debug, Clone, Copy)]
pub enum Space {
    /// `cosinesimil`: (1 + cos) / 2.
    Cosine,
    /// `innerproduct` (faiss): 1 + ip, or 1 / (1 - ip) below zero.
    InnerProduct,
    /// `l2`: 1 / (1 + d²).
    L2,
}

fn knn_score(space: Space, a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    match space {
        Space::Cosine => {
            let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
            let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
            let cos = if na == 0.0 || nb == 0.0 {
                0.0
            } else {
                dot / (na * nb)
            };
            (1.0 + cos) / 2.0
        }
        Space::InnerProduct if dot >= 0.0 => 1.0 + dot,
        Space::InnerProduct => 1.0 / (1.0 - dot),
        Space::L2 => {
            let d: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
            1.0 / (1.0 + d)
        }
    }
}

/// The index facts a search needs.
#[derive(Debug, Clone)]
pub struct IndexInfo {
    /// The `knn_vector` field and its dimension.
    pub vector_field: Option<(String, usize)>,
    /// Its space.
    pub space: Space,
}

fn sort_keys(sort: &Value) -> Result<Vec<(String, bool)>, Invalid> {
    let items = match sort {
        Value::Array(items) => items.clone(),
        Value::Null => return Ok(Vec::new()),
        one => vec![one.clone()],
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(field) => Ok((field.clone(), field == "_score")),
            Value::Object(o) if o.len() == 1 => {
                let (field, order) = o.iter().next().ok_or("empty sort")?;
                let order = order
                    .get("order")
                    .unwrap_or(order)
                    .as_str()
                    .ok_or("[sort] order must be asc or desc")?;
                match order {
                    "asc" => Ok((field.clone(), false)),
                    "desc" => Ok((field.clone(), true)),
                    _ => Err(format!("[sort] unknown order [{order}]")),
                }
            }
            _ => Err("[sort] malformed".to_string()),
        })
        .collect()
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => a.as_str().unwrap_or("").cmp(b.as_str().unwrap_or("")),
    }
}

/// Evaluates a `_search` body; returns the response body.
pub fn search(
    index: &str,
    info: &IndexInfo,
    records: &[Record],
    body: &Value,
) -> Result<Value, Invalid> {
    let body = body.as_object().cloned().unwrap_or_default();
    for key in body.keys() {
        if ![
            "size",
            "query",
            "sort",
            "search_after",
            "_source",
            "aggs",
            "aggregations",
            "from",
            "track_total_hits",
        ]
        .contains(&key.as_str())
        {
            return Err(format!("Unknown key for a START_OBJECT in [{key}]."));
        }
    }
    let size = match body.get("size") {
        None => 10,
        Some(v) => v.as_u64().ok_or("[size] must be a non-negative integer")? as usize,
    };
    let query = body
        .get("query")
        .cloned()
        .unwrap_or(json!({"match_all": {}}));
    let mut scored: Vec<(f64, &Record)> = Vec::new();
    if let Some(knn) = query.get("knn") {
        let (field, spec) = single_field(knn, "knn")?;
        let Some((vector_field, dimension)) = &info.vector_field else {
            return Err(format!("Field [{field}] is not knn_vector type."));
        };
        if &field != vector_field {
            return Err(format!("Field [{field}] is not knn_vector type."));
        }
        let vector: Vec<f64> = spec
            .get("vector")
            .and_then(Value::as_array)
            .ok_or("[knn] requires a [vector] array")?
            .iter()
            .map(|v| v.as_f64().ok_or("[knn] vector values must be numbers"))
            .collect::<Result<_, _>>()?;
        if vector.len() != *dimension {
            return Err(format!(
                "Query vector has invalid dimension: {}. Dimension should be: {dimension}",
                vector.len()
            ));
        }
        let k = spec
            .get("k")
            .and_then(Value::as_u64)
            .filter(|k| (1..=10_000).contains(k))
            .ok_or("[knn] requires [k] between 1 and 10000")? as usize;
        for key in spec
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            if !["vector", "k", "filter", "boost", "method_parameters"].contains(&key.as_str()) {
                return Err(format!("[knn] unknown token [{key}]"));
            }
        }
        let filter = spec.get("filter");
        for record in records {
            if let Some(filter) = filter {
                if !matches(filter, &record.source)? {
                    continue;
                }
            }
            let Some(stored) = record.source.get(&field).and_then(Value::as_array) else {
                continue;
            };
            let stored: Vec<f64> = stored.iter().filter_map(Value::as_f64).collect();
            scored.push((knn_score(info.space, &vector, &stored), record));
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.truncate(k);
    } else {
        // Validate the query even when there is nothing to match.
        matches(&query, &Value::Null)?;
        for record in records {
            if matches(&query, &record.source)? {
                scored.push((score(&query, &record.source)?, record));
            }
        }
    }
    let keys = sort_keys(body.get("sort").unwrap_or(&Value::Null))?;
    let sort_value = |score: f64, record: &Record, field: &str| -> Value {
        if field == "_score" {
            json!(score)
        } else {
            field_values(&record.source, field)
                .first()
                .map(|v| (*v).clone())
                .unwrap_or(Value::Null)
        }
    };
    if keys.is_empty() {
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    } else {
        scored.sort_by(|a, b| {
            for (field, descending) in &keys {
                let ord = compare(&sort_value(a.0, a.1, field), &sort_value(b.0, b.1, field));
                let ord = if *descending { ord.reverse() } else { ord };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            Ordering::Equal
        });
    }
    if let Some(after) = body.get("search_after") {
        let after = after.as_array().ok_or("[search_after] must be an array")?;
        if after.len() != keys.len() {
            return Err("search_after has a different number of values than sort".into());
        }
        scored.retain(|(score, record)| {
            for ((field, descending), bound) in keys.iter().zip(after) {
                let ord = compare(&sort_value(*score, record, field), bound);
                let ord = if *descending { ord.reverse() } else { ord };
                match ord {
                    Ordering::Greater => return true,
                    Ordering::Less => return false,
                    Ordering::Equal => continue,
                }
            }
            false
        });
    }
    let total = scored.len();
    let aggregations = aggregate(&body, &scored)?;
    let source_filter = body.get("_source").cloned().unwrap_or(Value::Bool(true));
    let hits: Vec<Value> = scored
        .iter()
        .take(size)
        .map(|(score, record)| {
            let mut hit = json!({
                "_index": index,
                "_id": record.id,
                "_score": score,
            });
            match &source_filter {
                Value::Bool(false) => {}
                Value::Array(fields) => {
                    let mut picked = Map::new();
                    for field in fields.iter().filter_map(Value::as_str) {
                        if let Some(v) = record.source.get(field) {
                            picked.insert(field.to_string(), v.clone());
                        }
                    }
                    hit["_source"] = Value::Object(picked);
                }
                _ => hit["_source"] = record.source.clone(),
            }
            if !keys.is_empty() {
                hit["sort"] = Value::Array(
                    keys.iter()
                        .map(|(field, _)| sort_value(*score, record, field))
                        .collect(),
                );
            }
            hit
        })
        .collect();
    // Response shape: https://docs.opensearch.org/latest/api-reference/search-apis/search/#example-response
    let max_score = scored.first().map(|(s, _)| *s);
    let mut response = json!({
        "took": 1,
        "timed_out": false,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {
            "total": {"value": total, "relation": "eq"},
            "max_score": max_score,
            "hits": hits
        }
    });
    if let Some(aggregations) = aggregations {
        response["aggregations"] = aggregations;
    }
    Ok(response)
}

/// `terms` aggregations; bucket shape:
/// https://docs.opensearch.org/latest/aggregations/bucket/terms/
fn aggregate(
    body: &Map<String, Value>,
    scored: &[(f64, &Record)],
) -> Result<Option<Value>, Invalid> {
    let Some(aggs) = body.get("aggs").or_else(|| body.get("aggregations")) else {
        return Ok(None);
    };
    let aggs = aggs.as_object().ok_or("[aggs] must be an object")?;
    let mut out = Map::new();
    for (name, spec) in aggs {
        let terms = spec
            .get("terms")
            .ok_or_else(|| format!("aggregation [{name}]: only [terms] is emulated"))?;
        let field = terms
            .get("field")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("aggregation [{name}]: [terms] requires [field]"))?;
        let size = terms.get("size").and_then(Value::as_u64).unwrap_or(10) as usize;
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for (_, record) in scored {
            for value in field_values(&record.source, field) {
                let key = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                *counts.entry(key).or_default() += 1;
            }
        }
        let mut buckets: Vec<(String, u64)> = counts.into_iter().collect();
        buckets.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let other: u64 = buckets.iter().skip(size).map(|b| b.1).sum();
        buckets.truncate(size);
        out.insert(
            name.clone(),
            json!({
                "doc_count_error_upper_bound": 0,
                "sum_other_doc_count": other,
                "buckets": buckets
                    .into_iter()
                    .map(|(key, count)| json!({"key": key, "doc_count": count}))
                    .collect::<Vec<_>>()
            }),
        );
    }
    Ok(Some(Value::Object(out)))
}
