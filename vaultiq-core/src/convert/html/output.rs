//! Writing the body: collapsed whitespace, owed line breaks, and the
//! indentation and markers that open each line.

use super::{prefix_of, Renderer};

/// Collapses whitespace runs into single spaces and trims the ends.
pub(super) fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Renderer {
    /// Text content (entities decoded).
    pub(super) fn text(&mut self, text: &str) {
        if let Some(code) = &mut self.verbatim {
            code.text.push_str(text);
            return;
        }
        if let Some((_, heading)) = &mut self.heading {
            heading.push_str(text);
        }
        if let Some(link) = &mut self.link {
            link.text.push_str(text);
        }
        self.sink(text);
    }

    /// Writes text to the open table cell or to the body, collapsing whitespace.
    pub(super) fn sink(&mut self, text: &str) {
        if let Some(cell) = self.table.as_mut().and_then(|t| t.cell.as_mut()) {
            cell.push_str(text);
            return;
        }
        for c in text.chars() {
            if c.is_whitespace() {
                self.pending_space |= self.line_open;
                continue;
            }
            if !self.line_open {
                self.open_line();
            } else if self.pending_space {
                self.out.push(' ');
            }
            self.pending_space = false;
            self.out.push(c);
        }
    }

    /// Asks for a line break (1) or a blank line (2) before the next content.
    pub(super) fn request(&mut self, gap: u8) {
        if let Some(cell) = self.table.as_mut().and_then(|t| t.cell.as_mut()) {
            cell.push(' ');
            return;
        }
        if self.heading.is_some() {
            // A heading stays on one line whatever it contains.
            self.pending_space |= self.line_open;
            return;
        }
        if self.item_marker.is_some() {
            // `<li><p>text` keeps the text on the marker line.
            return;
        }
        self.pending_nl = self.pending_nl.max(gap);
        self.line_open = false;
        self.pending_space = false;
    }

    /// A `<br>`: ends the line, or makes a blank line after an empty one.
    pub(super) fn line_break(&mut self) {
        if self.in_cell() || self.heading.is_some() || self.line_open {
            self.request(1);
        } else if self.item_marker.is_none() && !self.out.is_empty() {
            self.pending_nl = 2; // `<br><br>` makes a blank line
        }
    }

    /// Starts a new output line: owed newlines, then indentation and markers.
    pub(super) fn open_line(&mut self) {
        let kept = self.out.trim_end_matches([' ', '\t']).len();
        self.out.truncate(kept);
        if !self.out.is_empty() {
            self.out.push('\n');
            if self.pending_nl >= 2 {
                let blank = prefix_of(&self.ctx);
                self.out.push_str(blank.trim_end());
                self.out.push('\n');
            }
        }
        let prefix = match self.item_marker.take() {
            Some(marker) => marker,
            None => prefix_of(&self.ctx),
        };
        self.out.push_str(&prefix);
        if let Some(marker) = self.heading_marker.take() {
            self.out.push_str(&marker);
        }
        self.pending_nl = 0;
        self.line_open = true;
        self.pending_space = false;
    }

    /// Writes whole lines (code blocks, table rows) at the current indentation.
    pub(super) fn emit_lines(&mut self, lines: &[String]) {
        for line in lines {
            self.open_line();
            self.out.push_str(line);
            self.pending_nl = 1;
            self.line_open = false;
        }
    }
}
