//! The search statements. Each is prepared once per connection and reused
//! (the statement cache keys on the text), so `k` is written into the text
//! as a literal: a generic plan then still knows the `LIMIT` and keeps the
//! index scan, where a `LIMIT $n` would be costed as 10% of the table.

/// Columns every search selects, in the order `hit_from_row` reads them,
/// then the score.
const HIT_COLUMNS: [&str; 15] = [
    "id",
    "document_id",
    "ordinal",
    "text",
    "heading_path",
    "char_start",
    "char_end",
    "content_hash",
    "source",
    "source_name",
    "title",
    "url",
    "updated_at",
    "metadata::text",
    "embedding",
];

fn hit_columns(alias: &str) -> String {
    HIT_COLUMNS
        .iter()
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// k-NN by cosine distance: `$1` the query (`real[]`), filter parameters
/// from `$2`. `ORDER BY embedding <=> vector` is what the HNSW index
/// (`vector_cosine_ops`) serves, filters included (iterative scans).
pub(crate) fn vector_search(chunks: &str, clause: &str, k: i64) -> String {
    format!(
        "SELECT {columns}, (1 - (c.embedding <=> $1::real[]::vector))::float8 AS score
         FROM {chunks} c WHERE {clause}
         ORDER BY c.embedding <=> $1::real[]::vector LIMIT {k}",
        columns = hit_columns("c"),
    )
}

/// Keyword search: `$1` the query text, filter parameters from `$2`.
///
/// BM25-like "any term" semantics: the query's lexemes (stemmed with the
/// index's configuration) joined with OR, each quoted so no user text is
/// parsed as tsquery syntax, matched through the GIN index and ranked by
/// `ts_rank` with length normalisation, ties by id. Every match must be
/// ranked, so that inner step reads only `id` and `tsv`; the other columns
/// are fetched for the `k` winners alone.
pub(crate) fn keyword_search(chunks: &str, config: &str, clause: &str, k: i64) -> String {
    format!(
        "WITH q AS MATERIALIZED (
            SELECT to_tsquery('simple', string_agg(
                '''' || replace(replace(lexeme, '\\', '\\\\'), '''', '''''') || '''', ' | ')) AS query
            FROM unnest(tsvector_to_array(to_tsvector('{config}'::regconfig, $1::text))) AS lexeme
         ), top AS (
            SELECT c.id, ts_rank(c.tsv, q.query, 1)::float8 AS score
            FROM {chunks} c, q
            WHERE q.query IS NOT NULL AND c.tsv @@ q.query AND {clause}
            ORDER BY score DESC, c.id LIMIT {k}
         )
         SELECT {columns}, top.score
         FROM top JOIN {chunks} c ON c.id = top.id
         ORDER BY top.score DESC, c.id",
        columns = hit_columns("c"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_qualify_columns_and_inline_k() {
        let sql = vector_search("kb_chunks", "c.source = ANY($2)", 10);
        assert!(sql.contains("c.metadata::text, c.embedding, (1 - "));
        assert!(sql.ends_with("LIMIT 10"));
        let sql = keyword_search("kb_chunks", "english", "TRUE", 7);
        assert!(sql.contains("ORDER BY score DESC, c.id LIMIT 7"));
        assert!(sql.contains("'english'::regconfig"));
    }
}
