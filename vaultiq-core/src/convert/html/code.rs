//! `<pre>` and `<code>`: collected verbatim, written as fenced blocks or
//! backticked spans.

use super::elements::{attr, block_gap};
use super::output::collapse;
use super::Renderer;

/// Code being collected verbatim until its end tag.
#[derive(Debug)]
pub(super) struct Verbatim {
    /// `pre` (always a fenced block) or `code` (inline unless multi-line).
    tag: &'static str,
    depth: usize,
    lang: String,
    pub(super) text: String,
}

/// The language of a code block from `class="language-rust"` / `lang-rust`.
fn lang_of(attrs: &[(String, String)]) -> String {
    attr(attrs, "class")
        .unwrap_or("")
        .split_whitespace()
        .find_map(|c| {
            c.strip_prefix("language-")
                .or_else(|| c.strip_prefix("lang-"))
        })
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.' | '#'))
        .collect()
}

impl Renderer {
    /// Starts collecting a `<pre>` or `<code>` element.
    pub(super) fn start_verbatim(&mut self, name: &str, attrs: &[(String, String)]) {
        if name == "pre" {
            self.request(2);
        }
        let tag = if name == "pre" { "pre" } else { "code" };
        let lang = lang_of(attrs);
        self.verbatim = Some(Verbatim {
            tag,
            depth: 1,
            lang,
            text: String::new(),
        });
    }

    /// A tag inside code; returns whether the code swallowed it.
    pub(super) fn verbatim_start(&mut self, name: &str, attrs: &[(String, String)]) -> bool {
        let Some(code) = &mut self.verbatim else {
            return false;
        };
        if code.tag == "code" && name != "br" && block_gap(name).is_some() {
            // An unclosed inline <code> ends where a block begins.
            self.finish_verbatim();
            return false;
        }
        if name == code.tag {
            code.depth += 1;
        } else if name == "br" {
            code.text.push('\n');
        } else if name == "code" && code.lang.is_empty() && code.text.trim().is_empty() {
            code.lang = lang_of(attrs);
        }
        true
    }

    /// An end tag inside code; returns whether the code swallowed it.
    pub(super) fn verbatim_end(&mut self, name: &str) -> bool {
        let Some(code) = &mut self.verbatim else {
            return false;
        };
        if name == code.tag {
            code.depth = code.depth.saturating_sub(1);
            if code.depth == 0 {
                self.finish_verbatim();
            }
            return true;
        }
        if code.tag == "code" && name != "br" && block_gap(name).is_some() {
            self.finish_verbatim();
            return false;
        }
        if name == "br" {
            code.text.push('\n');
        }
        true
    }

    /// Writes collected code: a fenced block for `<pre>` or multi-line code,
    /// a backticked span otherwise.
    pub(super) fn finish_verbatim(&mut self) {
        let Some(code) = self.verbatim.take() else {
            return;
        };
        let text = code.text.replace("\r\n", "\n");
        if let Some((_, heading)) = &mut self.heading {
            heading.push_str(&text);
        }
        if let Some(link) = &mut self.link {
            link.text.push_str(&text);
        }
        let block = (code.tag == "pre" || text.trim().contains('\n'))
            && self.heading.is_none()
            && !self.in_cell();
        if !block {
            let inline = collapse(&text);
            if !inline.is_empty() {
                let (ticks, pad) = if inline.contains('`') {
                    ("``", " ")
                } else {
                    ("`", "")
                };
                self.sink(&format!("{ticks}{pad}{inline}{pad}{ticks}"));
            }
            return;
        }
        // HTML ignores a newline right after <pre>.
        let body = text.strip_prefix('\n').unwrap_or(&text).trim_end();
        self.request(2);
        if body.trim().is_empty() {
            return;
        }
        let mut longest = 0;
        let mut run = 0;
        for c in body.chars() {
            run = if c == '`' { run + 1 } else { 0 };
            longest = longest.max(run);
        }
        let fence = "`".repeat((longest + 1).max(3));
        let mut lines = vec![format!("{fence}{}", code.lang)];
        lines.extend(body.lines().map(String::from));
        lines.push(fence);
        self.emit_lines(&lines);
        self.request(2);
    }
}
