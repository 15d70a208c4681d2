//! Confluence storage format (XHTML plus `ac:` / `ri:` elements) -> text.
//!
//! The storage format is ordinary XHTML with Confluence's own elements for
//! macros, links, mentions and emoticons. Those are rewritten into the plain
//! HTML they stand for (a code macro becomes `<pre><code>`, a panel becomes
//! a quoted block headed by its kind, a page link becomes its label, a
//! mention becomes `@name`), and the result goes through
//! [`html_to_text`](super::html_to_text), so headings, lists and tables are
//! rendered exactly as for any other HTML. Unknown macros keep their body
//! text; macro parameters (configuration, not content) are dropped.

use super::html::html_to_text;

/// Converts a storage-format body into text that keeps structure.
pub fn storage_to_text(storage: &str) -> String {
    let html = rewrite(storage);
    html_to_text(&html).1
}

/// Panel macros rendered as a labelled quote.
const PANELS: &[(&str, &str)] = &[
    ("info", "Info"),
    ("note", "Note"),
    ("warning", "Warning"),
    ("tip", "Tip"),
    ("panel", "Panel"),
    ("expand", "Details"),
];

/// Rewrites Confluence elements into plain HTML.
fn rewrite(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('<') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let (text, tail) = after.split_once("]]>").unwrap_or((after, ""));
            out.push_str(&escape(text));
            rest = tail;
            continue;
        }
        let Some(name) = tag_name(rest) else {
            out.push('<');
            rest = &rest[1..];
            continue;
        };
        let Some(tag_end) = rest.find('>') else {
            out.push_str(&escape(rest));
            return out;
        };
        let open_tag = &rest[..=tag_end];
        let self_closing = open_tag.ends_with("/>");
        match name {
            "ac:structured-macro" | "ac:macro" if !self_closing => {
                let (inner, tail) = element_body(&rest[tag_end + 1..], name);
                out.push_str(&render_macro(
                    &attr(open_tag, "ac:name").unwrap_or_default(),
                    inner,
                ));
                rest = tail;
            }
            "ac:link" if !self_closing => {
                let (inner, tail) = element_body(&rest[tag_end + 1..], name);
                out.push_str(&render_link(inner));
                rest = tail;
            }
            "ac:task-list" if !self_closing => {
                let (inner, tail) = element_body(&rest[tag_end + 1..], name);
                out.push_str(&render_tasks(inner));
                rest = tail;
            }
            "ac:parameter" if !self_closing => {
                // A stray parameter outside a macro we understood: configuration.
                let (_, tail) = element_body(&rest[tag_end + 1..], name);
                rest = tail;
            }
            "ri:user" => {
                out.push_str(&mention(open_tag));
                rest = &rest[tag_end + 1..];
            }
            "ac:emoticon" => {
                let emoji = attr(open_tag, "ac:emoji-fallback")
                    .or_else(|| attr(open_tag, "ac:name").map(|n| format!(":{n}:")));
                out.push_str(&escape(&emoji.unwrap_or_default()));
                rest = &rest[tag_end + 1..];
            }
            "ri:attachment" => {
                if let Some(file) = attr(open_tag, "ri:filename") {
                    out.push_str(&escape(&format!("[attachment: {file}]")));
                }
                rest = &rest[tag_end + 1..];
            }
            n if n.starts_with("ac:")
                || n.starts_with("ri:")
                || n.starts_with("/ac:")
                || n.starts_with("/ri:") =>
            {
                // Wrapper elements (rich-text-body, image, layout...): keep
                // what they contain, drop the tag itself.
                rest = &rest[tag_end + 1..];
            }
            _ => {
                out.push_str(open_tag);
                rest = &rest[tag_end + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The element name right after `<` (with a leading `/` for end tags).
fn tag_name(tag: &str) -> Option<&str> {
    let body = tag.get(1..)?;
    let end = body
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/' && !body.starts_with('/'))
        .unwrap_or(body.len());
    let name = body.get(..end)?;
    let valid = name
        .trim_start_matches('/')
        .starts_with(|c: char| c.is_ascii_alphabetic());
    valid.then_some(name)
}

/// The content up to the end tag matching `name` (nesting counted) and the
/// text after that end tag. An unclosed element runs to the end.
fn element_body<'a>(after_open: &'a str, name: &str) -> (&'a str, &'a str) {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut depth = 1usize;
    let mut pos = 0;
    while pos < after_open.len() {
        let rest = &after_open[pos..];
        let next_open = rest.find(&open);
        let Some(next_close) = rest.find(&close) else {
            break;
        };
        match next_open {
            Some(o) if o < next_close && is_open_of(&rest[o..], name) => {
                let self_closing = rest[o..]
                    .find('>')
                    .is_some_and(|e| rest[o..o + e + 1].ends_with("/>"));
                if !self_closing {
                    depth += 1;
                }
                pos += o + open.len();
            }
            _ => {
                depth -= 1;
                if depth == 0 {
                    let end = pos + next_close;
                    return (&after_open[..end], &after_open[end + close.len()..]);
                }
                pos += next_close + close.len();
            }
        }
    }
    (after_open, "")
}

/// `<ac:link` is not the start of `<ac:link-body`.
fn is_open_of(text: &str, name: &str) -> bool {
    text.get(name.len() + 1..)
        .and_then(|r| r.chars().next())
        .is_some_and(|c| c.is_whitespace() || c == '>' || c == '/')
}

/// The value of attribute `name` in an opening tag.
fn attr(tag: &str, name: &str) -> Option<String> {
    let mut search = tag;
    while let Some(pos) = search.find(name) {
        let before_ok = search[..pos]
            .chars()
            .last()
            .is_some_and(char::is_whitespace);
        let after = &search[pos + name.len()..];
        if before_ok {
            if let Some(value) = after.trim_start().strip_prefix('=') {
                let value = value.trim_start();
                let quote = value.chars().next()?;
                if quote == '"' || quote == '\'' {
                    let inner = &value[1..];
                    let end = inner.find(quote)?;
                    return Some(unescape(&inner[..end]));
                }
            }
        }
        search = after;
    }
    None
}

/// The first direct child element `name` of `inner`, as (open tag, body).
fn child<'a>(inner: &'a str, name: &str) -> Option<(&'a str, &'a str)> {
    let open = format!("<{name}");
    let mut search = 0;
    while let Some(found) = inner[search..].find(&open) {
        let start = search + found;
        if is_open_of(&inner[start..], name) {
            let tag_end = start + inner[start..].find('>')?;
            let tag = &inner[start..=tag_end];
            if tag.ends_with("/>") {
                return Some((tag, ""));
            }
            let (body, _) = element_body(&inner[tag_end + 1..], name);
            return Some((tag, body));
        }
        search = start + open.len();
    }
    None
}

/// Macro parameters `<ac:parameter ac:name="k">v</ac:parameter>`.
fn parameter(inner: &str, key: &str) -> Option<String> {
    let mut rest = inner;
    while let Some((tag, body)) = child(rest, "ac:parameter") {
        if attr(tag, "ac:name").as_deref() == Some(key) {
            return Some(strip_tags(body).trim().to_string());
        }
        let skip = rest.find(tag).map_or(rest.len(), |p| p + tag.len());
        rest = &rest[skip..];
    }
    None
}

fn plain_body(inner: &str) -> String {
    child(inner, "ac:plain-text-body")
        .map(|(_, body)| cdata_text(body))
        .unwrap_or_default()
}

fn render_macro(name: &str, inner: &str) -> String {
    match name {
        "code" | "noformat" => {
            let lang = parameter(inner, "language").unwrap_or_default();
            let class = if lang.is_empty() {
                String::new()
            } else {
                format!(" class=\"language-{}\"", escape(&lang))
            };
            format!(
                "<pre><code{class}>{}</code></pre>",
                escape(&plain_body(inner))
            )
        }
        _ => {
            let body = child(inner, "ac:rich-text-body")
                .map(|(_, b)| rewrite(b))
                .unwrap_or_else(|| escape(&plain_body(inner)));
            match PANELS.iter().find(|(n, _)| *n == name) {
                Some((_, label)) => {
                    let title = parameter(inner, "title")
                        .map(|t| format!("{label}: {t}"))
                        .unwrap_or_else(|| label.to_string());
                    format!(
                        "<blockquote><p><strong>{}</strong></p>{body}</blockquote>",
                        escape(&title)
                    )
                }
                // Unknown macro (toc, jira, status...): keep whatever text it holds.
                None => match parameter(inner, "title") {
                    Some(title) if body.trim().is_empty() && name == "status" => {
                        escape(&format!("[{title}]"))
                    }
                    _ => body,
                },
            }
        }
    }
}

fn render_link(inner: &str) -> String {
    if let Some((_, body)) = child(inner, "ac:plain-text-link-body") {
        return escape(&cdata_text(body));
    }
    if let Some((_, body)) = child(inner, "ac:link-body") {
        return rewrite(body);
    }
    if let Some((tag, _)) = child(inner, "ri:page") {
        return escape(&attr(tag, "ri:content-title").unwrap_or_default());
    }
    if let Some((tag, _)) = child(inner, "ri:user") {
        return mention(tag);
    }
    if let Some((tag, _)) = child(inner, "ri:attachment") {
        return escape(&attr(tag, "ri:filename").unwrap_or_default());
    }
    rewrite(inner)
}

fn render_tasks(inner: &str) -> String {
    let mut out = String::from("<ul>");
    let mut rest = inner;
    while let Some((tag, body)) = child(rest, "ac:task") {
        let done = child(body, "ac:task-status")
            .map(|(_, s)| s.trim() == "complete")
            .unwrap_or(false);
        let text = child(body, "ac:task-body")
            .map(|(_, b)| rewrite(b))
            .unwrap_or_default();
        out.push_str(&format!(
            "<li>[{}] {text}</li>",
            if done { "x" } else { " " }
        ));
        let skip = rest
            .find(tag)
            .map_or(rest.len(), |p| p + tag.len() + body.len());
        rest = rest.get(skip..).unwrap_or("");
    }
    out.push_str("</ul>");
    out
}

/// A mention: the storage format holds only the account id (Cloud) or
/// user key / name (Data Center), so that is what can be shown.
fn mention(tag: &str) -> String {
    let who = attr(tag, "ri:username")
        .or_else(|| attr(tag, "ri:account-id"))
        .or_else(|| attr(tag, "ri:userkey"))
        .unwrap_or_else(|| "user".into());
    escape(&format!("@{who}"))
}

fn cdata_text(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some(pos) = rest.find("<![CDATA[") {
        out.push_str(&unescape(&rest[..pos]));
        let after = &rest[pos + 9..];
        let (text, tail) = after.split_once("]]>").unwrap_or((after, ""));
        out.push_str(text);
        rest = tail;
    }
    out.push_str(&unescape(rest));
    out
}

fn strip_tags(text: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::storage_to_text;

    #[test]
    fn code_macro_keeps_code_and_language() {
        let text = storage_to_text(
            "<p>Run:</p><ac:structured-macro ac:name=\"code\" ac:schema-version=\"1\"><ac:parameter ac:name=\"language\">bash</ac:parameter><ac:plain-text-body><![CDATA[if [ $a -lt 3 ]; then\n  echo \"<ok>\" && exit\nfi]]></ac:plain-text-body></ac:structured-macro>",
        );
        assert!(text.contains("```bash"), "{text}");
        assert!(
            text.contains("if [ $a -lt 3 ]; then\n  echo \"<ok>\" && exit\nfi"),
            "{text}"
        );
    }

    #[test]
    fn panels_links_mentions_and_emoticons() {
        let text = storage_to_text(
            "<ac:structured-macro ac:name=\"warning\"><ac:parameter ac:name=\"title\">Careful</ac:parameter><ac:rich-text-body><p>Do not <strong>restart</strong> during backup.</p></ac:rich-text-body></ac:structured-macro>\
             <p>See <ac:link><ri:page ri:content-title=\"Backup runbook\" /></ac:link> and \
             <ac:link><ri:page ri:content-title=\"X\"/><ac:plain-text-link-body><![CDATA[the FAQ]]></ac:plain-text-link-body></ac:link>, ask \
             <ac:link><ri:user ri:account-id=\"5b10ac8d82e05b22cc7d4ef5\" /></ac:link> <ac:emoticon ac:name=\"smile\" /></p>",
        );
        assert!(text.contains("Warning: Careful"), "{text}");
        assert!(text.contains("> Do not restart during backup."), "{text}");
        assert!(text.contains("See Backup runbook and the FAQ"), "{text}");
        assert!(text.contains("@5b10ac8d82e05b22cc7d4ef5"), "{text}");
        assert!(text.contains(":smile:"), "{text}");
    }

    #[test]
    fn tables_nested_lists_and_unknown_macros() {
        let text = storage_to_text(
            "<h2>Hosts</h2><table><tbody><tr><th>Name</th><th>Role</th></tr><tr><td>db1</td><td>primary</td></tr></tbody></table>\
             <ul><li>one<ul><li>nested</li></ul></li><li>two</li></ul>\
             <ac:structured-macro ac:name=\"toc\"><ac:parameter ac:name=\"maxLevel\">3</ac:parameter></ac:structured-macro>\
             <ac:structured-macro ac:name=\"mystery\"><ac:rich-text-body><p>kept text</p></ac:rich-text-body></ac:structured-macro>\
             <ac:task-list><ac:task><ac:task-status>complete</ac:task-status><ac:task-body>ship it</ac:task-body></ac:task></ac:task-list>",
        );
        assert!(text.contains("## Hosts"), "{text}");
        assert!(text.contains("| Name | Role |"), "{text}");
        assert!(text.contains("| db1 | primary |"), "{text}");
        assert!(text.contains("- one"), "{text}");
        assert!(text.contains("  - nested"), "{text}");
        assert!(!text.contains("maxLevel") && !text.contains('3'), "{text}");
        assert!(text.contains("kept text"), "{text}");
        assert!(text.contains("[x] ship it"), "{text}");
    }

    #[test]
    fn nested_macros_and_broken_input_do_not_panic() {
        let text = storage_to_text(
            "<ac:structured-macro ac:name=\"expand\"><ac:rich-text-body><ac:structured-macro ac:name=\"code\"><ac:plain-text-body><![CDATA[x = 1]]></ac:plain-text-body></ac:structured-macro><p>after</p></ac:rich-text-body></ac:structured-macro><p>end</p>",
        );
        assert!(
            text.contains("x = 1") && text.contains("after") && text.contains("end"),
            "{text}"
        );
        for broken in [
            "<ac:structured-macro ac:name=\"code\"><![CDATA[x",
            "<ac:link>",
            "<",
            "<![CDATA[",
            "a < b",
        ] {
            let _ = storage_to_text(broken);
        }
    }
}
