//! Converters from source formats to plain text that keeps structure
//! (headings, lists, code, tables), which the chunker and the answerer rely on.

pub mod adf;
pub mod front_matter;
pub mod html;
pub mod mrkdwn;
pub mod storage;

pub use front_matter::{markdown_title, split_front_matter};
pub use html::html_to_text;
