//! [`Filter`] as a SQL `WHERE` clause over the chunk rows, with bound
//! parameters only: no filter value is ever spliced into SQL text.

use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;

use super::wire::JsonbParam;
use crate::store::Filter;

/// One bound parameter of a filtered query.
pub(crate) type Param = Box<dyn ToSql + Sync + Send>;

/// The clause (`TRUE` when the filter is empty) and its parameters, which
/// are numbered from `first`.
pub(crate) fn where_clause(filter: &Filter, first: usize) -> (String, Vec<Param>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut params: Vec<Param> = Vec::new();
    let next = |params: &mut Vec<Param>, value: Param| -> String {
        params.push(value);
        format!("${}", first + params.len() - 1)
    };
    if !filter.source_types.is_empty() {
        let sources: Vec<String> = filter
            .source_types
            .iter()
            .map(|s| s.as_str().to_string())
            .collect();
        let p = next(&mut params, Box::new(sources));
        clauses.push(format!("source = ANY({p})"));
    }
    if !filter.metadata.is_empty() {
        // `@>` containment: every pair must be present (GIN-indexed).
        let json = serde_json::Value::Object(
            filter
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect(),
        )
        .to_string();
        let p = next(&mut params, Box::new(JsonbParam(json)));
        clauses.push(format!("metadata @> {p}"));
    }
    if let Some(after) = filter.updated_after {
        let p = next(&mut params, Box::new(after) as Box<DateTime<Utc>>);
        clauses.push(format!("updated_at >= {p}"));
    }
    if let Some(before) = filter.updated_before {
        let p = next(&mut params, Box::new(before) as Box<DateTime<Utc>>);
        clauses.push(format!("updated_at < {p}"));
    }
    if let Some(principals) = &filter.principals {
        let p = next(&mut params, Box::new(principals.clone()));
        clauses.push(format!("(acl IS NULL OR acl && {p})"));
    }
    if clauses.is_empty() {
        ("TRUE".to_string(), params)
    } else {
        (clauses.join(" AND "), params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourceType;

    #[test]
    fn clauses_number_their_parameters() {
        let mut filter = Filter::default();
        assert_eq!(where_clause(&filter, 3).0, "TRUE");
        filter.source_types = vec![SourceType::Jira];
        filter.metadata.insert("space".into(), "OPS".into());
        filter.principals = Some(vec!["group:sre".into()]);
        let (sql, params) = where_clause(&filter, 3);
        assert_eq!(
            sql,
            "source = ANY($3) AND metadata @> $4 AND (acl IS NULL OR acl && $5)"
        );
        assert_eq!(params.len(), 3);
    }
}
