//! Splitting markdown into sections under their heading paths.

/// A run of body text under one heading path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Headings above the text, outermost first.
    pub heading_path: Vec<String>,
    /// The text between this heading and the next (heading line excluded).
    pub text: String,
    /// Where `text` starts in the input, in characters.
    pub char_start: usize,
}

/// Splits `text` at ATX headings (`#` .. `######`) outside fenced code
/// blocks. Sections with only whitespace are dropped; text before the first
/// heading forms a section with an empty path.
pub fn markdown_sections(text: &str) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut current = String::new();
    let mut current_start = 0usize;
    let mut chars_seen = 0usize;
    let mut fence: Option<(char, usize)> = None;

    for line in text.split_inclusive('\n') {
        let line_chars = line.chars().count();
        let trimmed = line.trim_start();
        let indent_ok = line.len() - trimmed.len() <= 3;
        if let Some(marker) = fence_marker(trimmed).filter(|_| indent_ok) {
            fence = match fence {
                None => Some(marker),
                Some(open) if open.0 == marker.0 && marker.1 >= open.1 => None,
                still_open => still_open,
            };
        } else if fence.is_none() && indent_ok {
            if let Some((level, heading)) = atx_heading(trimmed) {
                push_section(&mut sections, &path, &mut current, current_start);
                path.retain(|(l, _)| *l < level);
                if !heading.is_empty() {
                    path.push((level, heading));
                }
                chars_seen += line_chars;
                current_start = chars_seen;
                continue;
            }
        }
        current.push_str(line);
        chars_seen += line_chars;
    }
    push_section(&mut sections, &path, &mut current, current_start);
    sections
}

fn push_section(
    sections: &mut Vec<Section>,
    path: &[(usize, String)],
    text: &mut String,
    start: usize,
) {
    let body = std::mem::take(text);
    if body.trim().is_empty() {
        return;
    }
    sections.push(Section {
        heading_path: path.iter().map(|(_, h)| h.clone()).collect(),
        text: body,
        char_start: start,
    });
}

/// `(fence char, run length)` when the line opens or closes a code fence.
fn fence_marker(line: &str) -> Option<(char, usize)> {
    let first = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let run = line.chars().take_while(|c| *c == first).count();
    (run >= 3).then_some((first, run))
}

/// `(level, text)` of an ATX heading line.
fn atx_heading(line: &str) -> Option<(usize, String)> {
    let level = line.chars().take_while(|c| *c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &line[level..];
    if !(rest.is_empty() || rest.starts_with([' ', '\t', '\n', '\r'])) {
        return None;
    }
    // Closing hashes (`## Title ##`) are decoration.
    let text = rest.trim().trim_end_matches('#').trim_end();
    Some((level, text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_carry_heading_paths_and_offsets() {
        let text = "intro\n# Runbook\nstart\n## Steps\n1. do\n```sh\n# not a heading\n```\n## Rollback ##\nundo\n# Other\n";
        let sections = markdown_sections(text);
        let paths: Vec<Vec<String>> = sections.iter().map(|s| s.heading_path.clone()).collect();
        assert_eq!(
            paths,
            vec![
                vec![],
                vec!["Runbook".to_string()],
                vec!["Runbook".to_string(), "Steps".to_string()],
                vec!["Runbook".to_string(), "Rollback".to_string()],
            ]
        );
        assert!(sections[2].text.contains("# not a heading"));
        for s in &sections {
            let from: String = text
                .chars()
                .skip(s.char_start)
                .take(s.text.chars().count())
                .collect();
            assert_eq!(from, s.text);
        }
    }

    #[test]
    fn hashtags_are_not_headings() {
        assert_eq!(markdown_sections("#hashtag\ntext").len(), 1);
        assert!(markdown_sections("#hashtag\ntext")[0]
            .heading_path
            .is_empty());
    }
}
