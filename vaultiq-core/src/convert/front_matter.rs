//! Markdown front matter and title detection.
//!
//! Front matter is the YAML-ish block many static-site and wiki tools put at
//! the top of a markdown file:
//!
//! ```text
//! ---
//! title: "Deploy runbook"
//! owner: platform
//! tags: [ops, deploy]
//! ---
//! # Body starts here
//! ```
//!
//! Only the flat subset that such headers use in practice is understood:
//! `key: value` lines (quotes stripped, `# comments` dropped), inline lists
//! `[a, b]` and block lists (`- a` lines), and `|` / `>` block scalars. Nested
//! maps are ignored rather than guessed at, so a real YAML parser is not
//! needed.

use std::collections::BTreeMap;

/// Splits `text` into its front-matter fields and the body after them.
///
/// Front matter is present only when the very first line is `---` and a later
/// line is `---` or `...`; otherwise the map is empty and the body is the whole
/// text (an unclosed block is more likely a thematic break than metadata).
/// List values are joined with `", "`; keys with empty values are dropped.
pub fn split_front_matter(text: &str) -> (BTreeMap<String, String>, &str) {
    let text_no_bom = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text_no_bom.split_inclusive('\n');
    let Some(first) = lines.next() else {
        return (BTreeMap::new(), text);
    };
    if first.trim_end() != "---" {
        return (BTreeMap::new(), text);
    }
    let mut offset = first.len();
    let mut header = Vec::new();
    for line in lines {
        let trimmed = line.trim_end();
        offset += line.len();
        if trimmed == "---" || trimmed == "..." {
            let body = text_no_bom.get(offset..).unwrap_or("");
            return (parse_fields(&header), body);
        }
        header.push(trimmed);
    }
    (BTreeMap::new(), text)
}

/// What the parser is collecting for the most recent key.
enum Pending {
    /// Nothing: the last key had an inline value.
    None,
    /// `key:` with nothing after it: a block list may follow.
    List(String, Vec<String>),
    /// `key: |` or `key: >`: indented lines follow; the flag says "keep newlines".
    Block(String, Vec<String>, bool),
}

fn parse_fields(lines: &[&str]) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let mut pending = Pending::None;
    for line in lines {
        let indented = line.starts_with([' ', '\t']);
        let content = line.trim();
        if let Pending::Block(_, parts, _) = &mut pending {
            if indented || content.is_empty() {
                parts.push(content.to_string());
                continue;
            }
        }
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if let Some(item) = content
            .strip_prefix("- ")
            .or((content == "-").then_some(""))
        {
            if let Pending::List(_, items) = &mut pending {
                let item = unquote(strip_comment(item.trim()));
                if !item.is_empty() {
                    items.push(item);
                }
            }
            continue;
        }
        if indented {
            // A nested map under the previous key: not representable as a
            // flat string, so it is skipped instead of being misread.
            continue;
        }
        finish(&mut fields, std::mem::replace(&mut pending, Pending::None));
        let Some((key, value)) = content.split_once(':') else {
            continue;
        };
        let key = unquote(key.trim());
        if key.is_empty() {
            continue;
        }
        let value = strip_comment(value.trim());
        pending = match value {
            "" => Pending::List(key, Vec::new()),
            "|" | "|-" | "|+" => Pending::Block(key, Vec::new(), true),
            ">" | ">-" | ">+" => Pending::Block(key, Vec::new(), false),
            "~" | "null" => Pending::None,
            _ => {
                let value = inline_value(value);
                if !value.is_empty() {
                    fields.insert(key, value);
                }
                Pending::None
            }
        };
    }
    finish(&mut fields, pending);
    fields
}

fn finish(fields: &mut BTreeMap<String, String>, pending: Pending) {
    let (key, value) = match pending {
        Pending::None => return,
        Pending::List(key, items) => (key, items.join(", ")),
        Pending::Block(key, parts, keep_newlines) => {
            let sep = if keep_newlines { "\n" } else { " " };
            (key, parts.join(sep).trim().to_string())
        }
    };
    if !value.is_empty() {
        fields.insert(key, value);
    }
}

/// A scalar or an inline `[a, b]` list as one string.
fn inline_value(value: &str) -> String {
    match value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        Some(items) => items
            .split(',')
            .map(|item| unquote(item.trim()))
            .filter(|item| !item.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        None => unquote(value),
    }
}

/// Drops a trailing ` # comment` from an unquoted value.
fn strip_comment(value: &str) -> &str {
    if value.starts_with(['"', '\'']) {
        return value;
    }
    match value.find(" #") {
        Some(pos) => value[..pos].trim_end(),
        None => value,
    }
}

/// Removes one pair of matching quotes, undoing the common escapes.
fn unquote(value: &str) -> String {
    if value.len() >= 2 {
        if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            return inner.replace("\\\"", "\"").replace("\\\\", "\\");
        }
        if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            return inner.replace("''", "'");
        }
    }
    value.to_string()
}

/// The title a markdown body announces: the first level-1 heading if there is
/// one, else the first heading of any level. ATX (`# Title`) and `===`
/// underlined headings count; lines inside fenced code blocks do not (a
/// `# comment` in a shell snippet is not a heading).
pub fn markdown_title(body: &str) -> Option<String> {
    let mut first_any: Option<String> = None;
    let mut fence: Option<(char, usize)> = None;
    let mut previous = "";
    for raw in body.lines() {
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        let line = raw.trim();
        if let Some(found) = fence_marker(line).filter(|_| indent < 4) {
            match fence {
                None => fence = Some(found),
                Some((ch, len)) if found.0 == ch && found.1 >= len => fence = None,
                Some(_) => {}
            }
            previous = "";
            continue;
        }
        if fence.is_some() || indent >= 4 {
            previous = "";
            continue;
        }
        let heading = atx_heading(line).or_else(|| {
            let underline = !line.is_empty() && line.chars().all(|c| c == '=');
            let text = previous.trim();
            (underline && !text.is_empty()).then(|| (1, text.to_string()))
        });
        if let Some((level, text)) = heading {
            if level == 1 {
                return Some(text);
            }
            first_any.get_or_insert(text);
        }
        previous = raw;
    }
    first_any
}

/// `(fence char, run length)` when `line` opens or closes a code fence.
fn fence_marker(line: &str) -> Option<(char, usize)> {
    let ch = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = line.chars().take_while(|c| *c == ch).count();
    (len >= 3).then_some((ch, len))
}

/// `(level, text)` of an ATX heading line (already trimmed).
fn atx_heading(line: &str) -> Option<(usize, String)> {
    let level = line.chars().take_while(|c| *c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &line[level..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None; // `#hashtag`, not a heading
    }
    let mut text = rest.trim();
    // An optional closing sequence: `## Title ##`.
    let without_hashes = text.trim_end_matches('#');
    if without_hashes.is_empty() || without_hashes.ends_with([' ', '\t']) {
        text = without_hashes.trim_end();
    }
    (!text.is_empty()).then(|| (level, text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_fields_and_body() {
        let text = "---\ntitle: \"Deploy: the runbook\"\nowner: platform # team\nsingle: 'it''s'\n---\n# Heading\nBody\n";
        let (fields, body) = split_front_matter(text);
        assert_eq!(
            fields.get("title").map(String::as_str),
            Some("Deploy: the runbook")
        );
        assert_eq!(fields.get("owner").map(String::as_str), Some("platform"));
        assert_eq!(fields.get("single").map(String::as_str), Some("it's"));
        assert_eq!(body, "# Heading\nBody\n");
    }

    #[test]
    fn front_matter_lists_blocks_and_nesting() {
        let text = "---\r\ntags: [ops, \"deploy\"]\r\nowners:\r\n  - alice\r\n  - bob\r\nsummary: >\r\n  two\r\n  lines\r\nnested:\r\n  inner: x\r\nempty:\r\n---\r\nbody";
        let (fields, body) = split_front_matter(text);
        assert_eq!(fields.get("tags").map(String::as_str), Some("ops, deploy"));
        assert_eq!(fields.get("owners").map(String::as_str), Some("alice, bob"));
        assert_eq!(fields.get("summary").map(String::as_str), Some("two lines"));
        assert!(!fields.contains_key("nested"));
        assert!(!fields.contains_key("empty"));
        assert_eq!(body, "body");
    }

    #[test]
    fn no_front_matter_unless_closed_at_the_top() {
        let unclosed = "---\ntitle: x\nno end";
        assert_eq!(split_front_matter(unclosed), (BTreeMap::new(), unclosed));
        let later = "intro\n---\ntitle: x\n---\n";
        assert_eq!(split_front_matter(later), (BTreeMap::new(), later));
        assert_eq!(split_front_matter(""), (BTreeMap::new(), ""));
        let (fields, body) = split_front_matter("\u{feff}---\na: b\n...\nrest");
        assert_eq!(fields.get("a").map(String::as_str), Some("b"));
        assert_eq!(body, "rest");
    }

    #[test]
    fn markdown_title_rules() {
        assert_eq!(
            markdown_title("## Sub\n# Main #\n").as_deref(),
            Some("Main")
        );
        assert_eq!(
            markdown_title("text\n### Only h3 ###\n").as_deref(),
            Some("Only h3")
        );
        assert_eq!(
            markdown_title("```sh\n# not a heading\n```\n## Real\n").as_deref(),
            Some("Real")
        );
        assert_eq!(markdown_title("#hashtag\n    # indented code\n"), None);
        assert_eq!(
            markdown_title("Setext Title\n=====\n## Later").as_deref(),
            Some("Setext Title")
        );
        assert_eq!(
            markdown_title("~~~~\n# in fence\n~~~\n# still\n~~~~\n"),
            None
        );
        assert_eq!(markdown_title("# C# tips").as_deref(), Some("C# tips"));
    }
}
