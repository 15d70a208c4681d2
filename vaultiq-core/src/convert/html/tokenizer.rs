//! A small forgiving HTML tokenizer: text, tags with attributes, and the
//! raw text of `script`/`style`-like elements.

use super::entities::decode_entities;

/// One piece of markup; text is still entity-encoded.
#[derive(Debug)]
pub(super) enum Token<'a> {
    Text(&'a str),
    Start {
        name: String,
        attrs: Vec<(String, String)>,
        self_closing: bool,
    },
    End(String),
    /// The whole content of a raw-text element (`script`, `style`, `title`...).
    Raw {
        name: String,
        text: &'a str,
    },
}

/// Elements whose content is not markup: the tokenizer jumps to their end tag.
const RAW_TEXT: [&str; 6] = ["script", "style", "noscript", "title", "textarea", "xmp"];

/// Splits a document into [`Token`]s, front to back.
pub(super) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`.
    pub(super) fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    /// The next token, or `None` at the end of input.
    pub(super) fn next_token(&mut self) -> Option<Token<'a>> {
        let bytes = self.src.as_bytes();
        loop {
            let start = self.pos;
            let b = *bytes.get(start)?;
            if b != b'<' {
                let end = find_byte(bytes, start, b'<').unwrap_or(bytes.len());
                self.pos = end;
                return self.src.get(start..end).map(Token::Text);
            }
            match bytes.get(start + 1).copied() {
                Some(b'!') => {
                    self.pos = if bytes[start..].starts_with(b"<!--") {
                        find_seq(bytes, start + 4, b"-->").map_or(bytes.len(), |i| i + 3)
                    } else {
                        skip_past(bytes, start, b'>')
                    };
                }
                Some(b'?') => self.pos = skip_past(bytes, start, b'>'),
                Some(b'/') if bytes.get(start + 2).is_some_and(u8::is_ascii_alphabetic) => {
                    let (name, after_name) = self.read_name(start + 2);
                    self.pos = skip_past(bytes, after_name, b'>');
                    return Some(Token::End(name));
                }
                Some(b'/') => self.pos = skip_past(bytes, start, b'>'),
                Some(c) if c.is_ascii_alphabetic() => return self.start_tag(start),
                _ => {
                    // A stray `<` ("a < b") is text.
                    let end = find_byte(bytes, start + 1, b'<').unwrap_or(bytes.len());
                    self.pos = end;
                    return self.src.get(start..end).map(Token::Text);
                }
            }
        }
    }

    fn read_name(&self, from: usize) -> (String, usize) {
        let bytes = self.src.as_bytes();
        let mut end = from;
        while end < bytes.len()
            && !matches!(bytes[end], b'>' | b'/')
            && !bytes[end].is_ascii_whitespace()
        {
            end += 1;
        }
        let name = self.src.get(from..end).unwrap_or("").to_ascii_lowercase();
        (name, end)
    }

    fn start_tag(&mut self, start: usize) -> Option<Token<'a>> {
        let bytes = self.src.as_bytes();
        let (name, mut i) = self.read_name(start + 1);
        let mut attrs = Vec::new();
        let mut self_closing = false;
        loop {
            while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            let Some(&c) = bytes.get(i) else {
                // End of input inside a tag: browsers drop the tag.
                self.pos = bytes.len();
                return None;
            };
            match c {
                b'>' => {
                    i += 1;
                    break;
                }
                b'/' => {
                    i += 1;
                    if bytes.get(i) == Some(&b'>') {
                        self_closing = true;
                        i += 1;
                        break;
                    }
                }
                _ => {
                    let name_start = i;
                    i += 1; // at least one byte, so a stray `=` cannot stall the loop
                    while bytes.get(i).is_some_and(|b| {
                        !b.is_ascii_whitespace() && !matches!(b, b'=' | b'>' | b'/')
                    }) {
                        i += 1;
                    }
                    let attr = self
                        .src
                        .get(name_start..i)
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    let mut j = i;
                    while bytes.get(j).is_some_and(u8::is_ascii_whitespace) {
                        j += 1;
                    }
                    let mut value = "";
                    if bytes.get(j) == Some(&b'=') {
                        j += 1;
                        while bytes.get(j).is_some_and(u8::is_ascii_whitespace) {
                            j += 1;
                        }
                        match bytes.get(j).copied() {
                            Some(q @ (b'"' | b'\'')) => {
                                let Some(close) = find_byte(bytes, j + 1, q) else {
                                    self.pos = bytes.len();
                                    return None;
                                };
                                value = self.src.get(j + 1..close).unwrap_or("");
                                j = close + 1;
                            }
                            _ => {
                                let v_start = j;
                                while bytes
                                    .get(j)
                                    .is_some_and(|b| !b.is_ascii_whitespace() && *b != b'>')
                                {
                                    j += 1;
                                }
                                value = self.src.get(v_start..j).unwrap_or("");
                            }
                        }
                        i = j;
                    }
                    attrs.push((attr, decode_entities(value).into_owned()));
                }
            }
        }
        self.pos = i;
        if RAW_TEXT.contains(&name.as_str()) && !self_closing {
            let (text_end, resume) = raw_text_end(bytes, i, &name);
            self.pos = resume;
            let text = self.src.get(i..text_end).unwrap_or("");
            return Some(Token::Raw { name, text });
        }
        Some(Token::Start {
            name,
            attrs,
            self_closing,
        })
    }
}

/// Where the raw text that starts at `from` ends (`</name`) and where the
/// lexer resumes (after that end tag's `>`); both are `len` if it never ends.
fn raw_text_end(bytes: &[u8], from: usize, name: &str) -> (usize, usize) {
    let mut at = from;
    while let Some(lt) = find_seq(bytes, at, b"</") {
        let name_end = lt + 2 + name.len();
        let matches = bytes
            .get(lt + 2..name_end)
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()));
        let boundary = bytes
            .get(name_end)
            .is_none_or(|b| b.is_ascii_whitespace() || matches!(b, b'>' | b'/'));
        if matches && boundary {
            return (lt, skip_past(bytes, name_end, b'>'));
        }
        at = lt + 2;
    }
    (bytes.len(), bytes.len())
}

fn find_byte(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|b| *b == needle)
        .map(|i| i + from)
}

fn find_seq(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// The position just after the next `needle` at or after `from`, or the end.
fn skip_past(bytes: &[u8], from: usize, needle: u8) -> usize {
    find_byte(bytes, from, needle).map_or(bytes.len(), |i| i + 1)
}
