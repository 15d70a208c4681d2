//! What each element is: block or inline, heading level, void, skipped,
//! plus attribute helpers.

/// Blank lines (2) or a line break (1) that an element puts around itself.
pub(super) fn block_gap(name: &str) -> Option<u8> {
    match name {
        "p" | "hr" | "dl" | "figure" | "form" | "fieldset" | "address" | "details" | "center"
        | "section" | "article" | "main" | "header" | "footer" | "nav" | "aside" => Some(2),
        "div" | "dt" | "dd" | "caption" | "summary" | "figcaption" | "legend" | "option"
        | "body" | "html" | "li" | "tr" | "br" => Some(1),
        "ul" | "ol" | "table" | "blockquote" | "pre" => Some(2),
        _ => heading_level(name).map(|_| 2),
    }
}

/// The level of an `h1`..`h6` element.
pub(super) fn heading_level(name: &str) -> Option<usize> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

/// Elements that may appear in `<head>` without starting the body.
pub(super) const HEAD_ONLY: [&str; 6] = ["meta", "link", "base", "script", "style", "title"];
/// Elements whose whole content is dropped.
pub(super) const SKIPPED: [&str; 4] = ["svg", "math", "template", "object"];

/// Elements that never have content or an end tag.
pub(super) fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
    )
}

/// The value of attribute `name`, if present.
pub(super) fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Whether `href` is an absolute `http://` or `https://` URL.
pub(super) fn is_absolute_http(href: &str) -> bool {
    let has = |scheme: &str| {
        href.get(..scheme.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
    };
    (has("http://") || has("https://")) && href.len() > "https://".len()
}
