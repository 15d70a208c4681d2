//! Atlassian Document Format (Jira Cloud descriptions and comments) -> text.
//!
//! ADF is a JSON tree (`{"type":"doc","version":1,"content":[...]}`). Blocks
//! become the same plain-text structure the other converters produce:
//! `#` headings, `- ` / `1. ` list items indented by nesting, fenced code,
//! `> ` quotes and panels, `| a | b |` table rows. Inline marks are dropped
//! except code (backticks) and links (`text (url)`), which carry meaning.
//! Node types this module does not know keep their text: Atlassian adds
//! node types over time, and losing words is worse than losing layout.

use serde_json::Value;

/// Converts an ADF document (or any ADF node) into text.
pub fn adf_to_text(doc: &Value) -> String {
    if let Some(text) = doc.as_str() {
        // Some payloads carry a plain string where ADF is expected.
        return text.to_string();
    }
    let blocks = blocks(children(doc));
    blocks.join("\n\n").trim().to_string()
}

fn children(node: &Value) -> &[Value] {
    node.get("content")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn kind(node: &Value) -> &str {
    node.get("type").and_then(Value::as_str).unwrap_or("")
}

fn attr<'a>(node: &'a Value, name: &str) -> Option<&'a Value> {
    node.get("attrs").and_then(|a| a.get(name))
}

fn attr_str<'a>(node: &'a Value, name: &str) -> Option<&'a str> {
    attr(node, name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Renders block nodes; runs of inline nodes between blocks form a paragraph.
fn blocks(nodes: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    let mut inline_run = String::new();
    for node in nodes {
        if is_inline(node) {
            inline_run.push_str(&inline(std::slice::from_ref(node)));
            continue;
        }
        if !inline_run.trim().is_empty() {
            out.push(std::mem::take(&mut inline_run).trim().to_string());
        }
        inline_run.clear();
        if let Some(text) = block(node) {
            if !text.trim().is_empty() {
                out.push(text);
            }
        }
    }
    if !inline_run.trim().is_empty() {
        out.push(inline_run.trim().to_string());
    }
    out
}

fn is_inline(node: &Value) -> bool {
    matches!(
        kind(node),
        "text"
            | "hardBreak"
            | "mention"
            | "emoji"
            | "inlineCard"
            | "date"
            | "status"
            | "placeholder"
    )
}

fn block(node: &Value) -> Option<String> {
    let text = match kind(node) {
        "paragraph" => inline(children(node)).trim().to_string(),
        "heading" => {
            let level = attr(node, "level")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .clamp(1, 6);
            format!(
                "{} {}",
                "#".repeat(level as usize),
                inline(children(node)).trim()
            )
        }
        "bulletList" => list(node, None),
        "orderedList" => {
            let start = attr(node, "order").and_then(Value::as_u64).unwrap_or(1);
            list(node, Some(start))
        }
        "taskList" => task_list(node),
        "codeBlock" => {
            let lang = attr_str(node, "language").unwrap_or("");
            format!(
                "```{lang}\n{}\n```",
                plain(children(node)).trim_end_matches('\n')
            )
        }
        "blockquote" => quote(&blocks(children(node)).join("\n\n")),
        "panel" => {
            let label = match attr_str(node, "panelType").unwrap_or("info") {
                "note" => "Note",
                "warning" => "Warning",
                "error" => "Error",
                "success" => "Success",
                "tip" => "Tip",
                _ => "Info",
            };
            quote(&format!(
                "{label}:\n{}",
                blocks(children(node)).join("\n\n")
            ))
        }
        "expand" | "nestedExpand" => {
            let body = blocks(children(node)).join("\n\n");
            match attr_str(node, "title") {
                Some(title) => format!("{title}\n\n{body}"),
                None => body,
            }
        }
        "rule" => "---".to_string(),
        "table" => table(node),
        "mediaSingle" | "mediaGroup" => blocks(children(node)).join("\n"),
        "media" => {
            let name = attr_str(node, "alt").or_else(|| attr_str(node, "filename"));
            name.map(|n| format!("[attachment: {n}]"))
                .unwrap_or_default()
        }
        "blockCard" | "embedCard" => attr_str(node, "url").unwrap_or("").to_string(),
        _ => {
            // Unknown block: keep its text, whatever shape it has.
            if let Some(text) = node.get("text").and_then(Value::as_str) {
                text.to_string()
            } else {
                blocks(children(node)).join("\n\n")
            }
        }
    };
    Some(text)
}

fn list(node: &Value, ordered_from: Option<u64>) -> String {
    let mut lines = Vec::new();
    for (i, item) in children(node).iter().enumerate() {
        let marker = match ordered_from {
            Some(start) => format!("{}. ", start + i as u64),
            None => "- ".to_string(),
        };
        let body = blocks(children(item)).join("\n");
        lines.push(prefix_item(&marker, &body));
    }
    lines.join("\n")
}

fn task_list(node: &Value) -> String {
    let mut lines = Vec::new();
    for item in children(node) {
        let done = attr_str(item, "state") == Some("DONE");
        let marker = if done { "- [x] " } else { "- [ ] " };
        let body = if kind(item) == "taskList" {
            task_list(item)
        } else {
            inline(children(item)).trim().to_string()
        };
        lines.push(prefix_item(marker, &body));
    }
    lines.join("\n")
}

/// The marker on the first line; later lines (nested lists, second
/// paragraphs) indented so the nesting survives.
fn prefix_item(marker: &str, body: &str) -> String {
    let pad = " ".repeat(marker.len().clamp(2, 4));
    let mut out = String::new();
    for (i, line) in body.lines().enumerate() {
        if i == 0 {
            out.push_str(marker);
        } else {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&pad);
            }
        }
        out.push_str(line);
    }
    if out.is_empty() {
        out.push_str(marker.trim_end());
    }
    out
}

fn quote(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                ">".to_string()
            } else {
                format!("> {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn table(node: &Value) -> String {
    let mut rows = Vec::new();
    for (i, row) in children(node).iter().enumerate() {
        let cells: Vec<String> = children(row)
            .iter()
            .map(|cell| {
                blocks(children(cell))
                    .join(" ")
                    .replace('\n', " ")
                    .replace('|', "\\|")
                    .trim()
                    .to_string()
            })
            .collect();
        rows.push(format!("| {} |", cells.join(" | ")));
        let header = children(row).iter().all(|c| kind(c) == "tableHeader");
        if i == 0 && header && !cells.is_empty() {
            rows.push(format!("|{}", " --- |".repeat(cells.len())));
        }
    }
    rows.join("\n")
}

/// Inline content: text with code and link marks, mentions, emoji, cards.
fn inline(nodes: &[Value]) -> String {
    let mut out = String::new();
    for node in nodes {
        match kind(node) {
            "text" => {
                let text = node.get("text").and_then(Value::as_str).unwrap_or("");
                out.push_str(&marked(node, text));
            }
            "hardBreak" => out.push('\n'),
            "mention" => {
                let name = attr_str(node, "text")
                    .map(String::from)
                    .or_else(|| attr_str(node, "id").map(|id| format!("@{id}")))
                    .unwrap_or_else(|| "@someone".into());
                if name.starts_with('@') {
                    out.push_str(&name);
                } else {
                    out.push('@');
                    out.push_str(&name);
                }
            }
            "emoji" => {
                let shown = attr_str(node, "text").or_else(|| attr_str(node, "shortName"));
                out.push_str(shown.unwrap_or(""));
            }
            "inlineCard" => out.push_str(attr_str(node, "url").unwrap_or("")),
            "status" => {
                if let Some(text) = attr_str(node, "text") {
                    out.push_str(&format!("[{text}]"));
                }
            }
            "date" => {
                let ms = attr_str(node, "timestamp").and_then(|t| t.parse::<i64>().ok());
                if let Some(date) = ms.and_then(chrono::DateTime::from_timestamp_millis) {
                    out.push_str(&date.format("%Y-%m-%d").to_string());
                }
            }
            _ => {
                if let Some(text) = node.get("text").and_then(Value::as_str) {
                    out.push_str(text);
                } else {
                    out.push_str(&inline(children(node)));
                }
            }
        }
    }
    out
}

fn marked(node: &Value, text: &str) -> String {
    let marks = node.get("marks").and_then(Value::as_array);
    let mut out = text.to_string();
    let mut href = None;
    for mark in marks.map_or(&[][..], Vec::as_slice) {
        match kind(mark) {
            "code" => out = format!("`{out}`"),
            "link" => href = attr_str(mark, "href"),
            _ => {}
        }
    }
    match href {
        Some(url) if url != text => format!("{out} ({url})"),
        _ => out,
    }
}

/// Text of code blocks: no marks, line breaks kept.
fn plain(nodes: &[Value]) -> String {
    nodes
        .iter()
        .map(|n| match kind(n) {
            "hardBreak" => "\n".to_string(),
            _ => n
                .get("text")
                .and_then(Value::as_str)
                .map(String::from)
                .unwrap_or_else(|| plain(children(n))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::adf_to_text;
    use serde_json::json;

    fn doc(content: serde_json::Value) -> serde_json::Value {
        json!({"type": "doc", "version": 1, "content": content})
    }

    fn p(text: &str) -> serde_json::Value {
        json!({"type": "paragraph", "content": [{"type": "text", "text": text}]})
    }

    #[test]
    fn headings_nested_lists_and_code() {
        let text = adf_to_text(&doc(json!([
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Steps"}]},
            {"type": "orderedList", "attrs": {"order": 1}, "content": [
                {"type": "listItem", "content": [p("Stop the service"),
                    {"type": "bulletList", "content": [
                        {"type": "listItem", "content": [p("drain first")]}]}]},
                {"type": "listItem", "content": [p("Upgrade")]}
            ]},
            {"type": "codeBlock", "content": [{"type": "text", "text": "systemctl stop app\nexit"}]},
            {"type": "codeBlock", "attrs": {"language": "sql"}, "content": [{"type": "text", "text": "select 1;"}]}
        ])));
        assert!(text.contains("## Steps"), "{text}");
        assert!(
            text.contains("1. Stop the service\n   - drain first\n2. Upgrade"),
            "{text}"
        );
        assert!(
            text.contains("```\nsystemctl stop app\nexit\n```"),
            "{text}"
        );
        assert!(text.contains("```sql\nselect 1;\n```"), "{text}");
    }

    #[test]
    fn tables_marks_mentions_emoji_and_cards() {
        let text = adf_to_text(&doc(json!([
            {"type": "table", "content": [
                {"type": "tableRow", "content": [
                    {"type": "tableHeader", "content": [p("Host")]},
                    {"type": "tableHeader", "content": [p("Role")]}]},
                {"type": "tableRow", "content": [
                    {"type": "tableCell", "content": [p("db1")]},
                    {"type": "tableCell", "content": [p("a|b")]}]}
            ]},
            {"type": "paragraph", "content": [
                {"type": "mention", "attrs": {"id": "557058:1", "text": "@Ada Lovelace"}},
                {"type": "text", "text": " run "},
                {"type": "text", "text": "make test", "marks": [{"type": "code"}, {"type": "strong"}]},
                {"type": "text", "text": " see "},
                {"type": "text", "text": "docs", "marks": [{"type": "link", "attrs": {"href": "https://d.example"}}]},
                {"type": "text", "text": " "},
                {"type": "emoji", "attrs": {"shortName": ":tada:", "text": "🎉"}},
                {"type": "hardBreak"},
                {"type": "inlineCard", "attrs": {"url": "https://acme.atlassian.net/browse/OPS-1"}}
            ]}
        ])));
        assert!(
            text.contains("| Host | Role |\n| --- | --- |\n| db1 | a\\|b |"),
            "{text}"
        );
        assert!(text.contains("@Ada Lovelace run `make test` see docs (https://d.example) 🎉\nhttps://acme.atlassian.net/browse/OPS-1"), "{text}");
    }

    #[test]
    fn panels_quotes_and_unknown_nodes_keep_text() {
        let text = adf_to_text(&doc(json!([
            {"type": "panel", "attrs": {"panelType": "warning"}, "content": [p("Back up first")]},
            {"type": "blockquote", "content": [p("quoted")]},
            {"type": "rule"},
            {"type": "fancyNewBlock", "content": [p("future text")]},
            {"type": "paragraph", "content": [{"type": "sparkle", "text": "inline unknown"}]},
            {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "x", "type": "file", "alt": "diagram.png"}}]}
        ])));
        assert!(text.contains("> Warning:\n> Back up first"), "{text}");
        assert!(text.contains("> quoted"), "{text}");
        assert!(text.contains("---"));
        assert!(
            text.contains("future text") && text.contains("inline unknown"),
            "{text}"
        );
        assert!(text.contains("[attachment: diagram.png]"), "{text}");
    }

    #[test]
    fn odd_input_does_not_panic() {
        assert_eq!(adf_to_text(&json!(null)), "");
        assert_eq!(adf_to_text(&json!("plain")), "plain");
        assert_eq!(
            adf_to_text(&doc(json!([{"type": "codeBlock"}]))),
            "```\n\n```"
        );
        let _ = adf_to_text(&doc(
            json!([{"type": "bulletList", "content": [{"type": "listItem"}]}]),
        ));
    }
}
