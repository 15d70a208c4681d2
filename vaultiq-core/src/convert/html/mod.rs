//! HTML -> plain text that keeps the structure readers and the chunker need.
//!
//! No HTML parser crate is in the dependency tree, and documents only need a
//! faithful reading order, so this is a small forgiving tokenizer plus a
//! renderer. Headings become markdown `#` lines (the chunker is heading
//! aware), lists become `- ` / `1. ` items, tables become `| a | b |` rows,
//! `<pre>` becomes fenced code. Malformed input (unclosed tags, stray `<`,
//! unterminated comments) degrades the way browsers degrade it and never
//! panics: every slice is taken at an ASCII delimiter or through `get`.

mod code;
mod elements;
mod entities;
mod output;
mod table;
#[cfg(test)]
mod tests;
mod tokenizer;

use code::Verbatim;
use elements::{attr, block_gap, heading_level, is_absolute_http, is_void, HEAD_ONLY, SKIPPED};
use entities::decode_entities;
use output::collapse;
use table::Table;
use tokenizer::{Lexer, Token};

/// Converts an HTML document into `(title, body)`.
///
/// The title is the `<title>` text, else the first `<h1>`. Script, style,
/// `<head>` (apart from the title), comments, `<noscript>`, `<svg>`, `<math>`
/// and `<template>` contents are dropped; links to absolute `http(s)` URLs
/// keep their target as `text (url)`; entities are decoded; whitespace is
/// collapsed everywhere except inside code.
pub fn html_to_text(html: &str) -> (Option<String>, String) {
    let mut renderer = Renderer::default();
    let mut lexer = Lexer::new(html);
    while let Some(token) = lexer.next_token() {
        renderer.handle(token);
    }
    renderer.finish()
}

/// An open list or quote; each adds to the prefix of the lines inside it.
#[derive(Debug)]
enum Ctx {
    /// `started` once the list has had an item.
    List {
        ordered: bool,
        next: u64,
        started: bool,
    },
    Quote,
}

#[derive(Debug)]
struct Link {
    href: Option<String>,
    text: String,
}

#[derive(Debug, Default)]
struct Renderer {
    out: String,
    /// Newlines owed before the next content (0..=2).
    pending_nl: u8,
    /// A collapsed whitespace run waits to become one space.
    pending_space: bool,
    /// The current output line already holds content.
    line_open: bool,
    /// A list-item marker (with its indentation) for the next line.
    item_marker: Option<String>,
    /// `## ` for the heading being written.
    heading_marker: Option<String>,
    ctx: Vec<Ctx>,
    title: Option<String>,
    first_h1: Option<String>,
    heading: Option<(usize, String)>,
    link: Option<Link>,
    verbatim: Option<Verbatim>,
    table: Option<Table>,
    skip: Option<(String, usize)>,
    in_head: bool,
}

/// The indentation (and `> ` quote marks) of lines inside `ctx`.
fn prefix_of(ctx: &[Ctx]) -> String {
    ctx.iter()
        .map(|c| match c {
            Ctx::Quote => "> ",
            Ctx::List { ordered: true, .. } => "   ",
            Ctx::List { .. } => "  ",
        })
        .collect()
}

fn is_list(ctx: &Ctx) -> bool {
    matches!(ctx, Ctx::List { .. })
}

impl Renderer {
    fn handle(&mut self, token: Token<'_>) {
        match token {
            Token::Text(raw) => {
                if self.skip.is_none() && !self.in_head {
                    self.text(&decode_entities(raw));
                }
            }
            Token::Start {
                name,
                attrs,
                self_closing,
            } => {
                self.start(&name, &attrs);
                // `<div/>` is not self-closing in HTML, but treating it as
                // empty is kinder to sloppy XHTML than swallowing the rest.
                if self_closing && !is_void(&name) {
                    self.end(&name);
                }
            }
            Token::End(name) => self.end(&name),
            Token::Raw { name, text } if self.skip.is_none() => match name.as_str() {
                "title" => {
                    let title = collapse(&decode_entities(text));
                    if self.title.is_none() && !title.is_empty() {
                        self.title = Some(title);
                    }
                }
                "textarea" | "xmp" => {
                    self.in_head = false;
                    self.text(&decode_entities(text));
                }
                _ => {} // script, style, noscript: not content
            },
            Token::Raw { .. } => {}
        }
    }

    fn start(&mut self, name: &str, attrs: &[(String, String)]) {
        if let Some((skipped, depth)) = &mut self.skip {
            if skipped == name {
                *depth += 1;
            }
            return;
        }
        if SKIPPED.contains(&name) {
            self.skip = Some((name.to_string(), 1));
            return;
        }
        if self.in_head {
            if HEAD_ONLY.contains(&name) {
                return;
            }
            // Any body element ends an unclosed <head>, as in browsers.
            self.in_head = false;
        }
        if name == "head" {
            self.in_head = self.out.is_empty();
            return;
        }
        if self.verbatim.is_some() && self.verbatim_start(name, attrs) {
            return;
        }
        if self.in_cell() && !matches!(name, "table" | "tr" | "td" | "th" | "a") {
            // Cells are one line: structure inside them becomes spaces.
            if block_gap(name).is_some() {
                self.request(1);
            }
            return;
        }
        match name {
            "a" => {
                self.finish_link();
                let href = attr(attrs, "href")
                    .map(str::trim)
                    .filter(|h| is_absolute_http(h));
                self.link = Some(Link {
                    href: href.map(String::from),
                    text: String::new(),
                });
            }
            "br" => self.line_break(),
            "li" => self.start_item(),
            "ul" | "ol" => {
                let nested = self.ctx.iter().any(is_list);
                self.request(if nested { 1 } else { 2 });
                let ordered = name == "ol";
                let start = attr(attrs, "start").and_then(|s| s.trim().parse().ok());
                self.ctx.push(Ctx::List {
                    ordered,
                    next: start.unwrap_or(1),
                    started: false,
                });
            }
            "blockquote" => {
                self.request(2);
                self.ctx.push(Ctx::Quote);
            }
            "pre" | "code" => self.start_verbatim(name, attrs),
            "table" => self.start_table(),
            "tr" | "td" | "th" => self.table_start(name),
            _ => {
                if let Some(level) = heading_level(name) {
                    self.finish_heading();
                    self.request(2);
                    self.heading_marker = Some(format!("{} ", "#".repeat(level)));
                    self.heading = Some((level, String::new()));
                } else if let Some(gap) = block_gap(name) {
                    self.request(gap);
                }
            }
        }
    }

    fn end(&mut self, name: &str) {
        if let Some((skipped, depth)) = &mut self.skip {
            if skipped == name {
                *depth = depth.saturating_sub(1);
                if *depth == 0 {
                    self.skip = None;
                }
            }
            return;
        }
        if name == "head" || self.in_head {
            self.in_head = false;
            return;
        }
        if self.verbatim.is_some() && self.verbatim_end(name) {
            return;
        }
        if self.in_cell() && !matches!(name, "table" | "tr" | "td" | "th" | "a") {
            if block_gap(name).is_some() {
                self.request(1);
            }
            return;
        }
        match name {
            "a" => self.finish_link(),
            "br" => self.line_break(), // `</br>` acts as `<br>` in browsers
            "li" => {
                self.item_marker = None;
                self.request(1);
            }
            "ul" | "ol" | "blockquote" => {
                let position = if name == "blockquote" {
                    self.ctx.iter().rposition(|c| matches!(c, Ctx::Quote))
                } else {
                    self.ctx.iter().rposition(is_list)
                };
                if let Some(i) = position {
                    self.ctx.truncate(i);
                }
                self.item_marker = None;
                let nested = name != "blockquote" && self.ctx.iter().any(is_list);
                self.request(if nested { 1 } else { 2 });
            }
            "table" => self.end_table(),
            "tr" | "td" | "th" => self.table_end(name),
            _ => {
                if heading_level(name).is_some() {
                    self.finish_heading();
                    self.request(2);
                } else if let Some(gap) = block_gap(name) {
                    self.request(gap);
                }
            }
        }
    }

    fn start_item(&mut self) {
        self.item_marker = None; // an empty previous item leaves nothing behind
        self.request(1);
        let (outer, bullet) = match self.ctx.iter().rposition(is_list) {
            Some(i) => {
                let bullet = match self.ctx.get_mut(i) {
                    Some(Ctx::List {
                        ordered,
                        next,
                        started,
                    }) => {
                        if *started && !self.line_open {
                            // Items stay on consecutive lines even when the
                            // previous one ended with a paragraph.
                            self.pending_nl = self.pending_nl.min(1);
                        }
                        *started = true;
                        if *ordered {
                            let bullet = format!("{next}. ");
                            *next = next.saturating_add(1);
                            bullet
                        } else {
                            "- ".to_string()
                        }
                    }
                    _ => "- ".to_string(),
                };
                (prefix_of(&self.ctx[..i]), bullet)
            }
            None => (prefix_of(&self.ctx), "- ".to_string()),
        };
        self.item_marker = Some(outer + &bullet);
    }

    fn finish_heading(&mut self) {
        self.heading_marker = None;
        if let Some((level, text)) = self.heading.take() {
            let text = collapse(&text);
            if level == 1 && self.first_h1.is_none() && !text.is_empty() {
                self.first_h1 = Some(text);
            }
        }
    }

    fn finish_link(&mut self) {
        let Some(Link {
            href: Some(href),
            text,
        }) = self.link.take()
        else {
            return;
        };
        let text = collapse(&text);
        let bare = href
            .split_once("://")
            .map_or(href.as_str(), |(_, rest)| rest);
        let redundant = text == href || text == bare || text == bare.trim_end_matches('/');
        if !text.is_empty() && !redundant && self.heading.is_none() {
            self.sink(&format!(" ({href})"));
        }
    }

    fn finish(mut self) -> (Option<String>, String) {
        self.finish_verbatim();
        self.finish_link();
        self.finish_row();
        self.finish_heading();
        let body = self.out.trim_end().to_string();
        (self.title.or(self.first_h1), body)
    }
}
