//! Tests of HTML -> text conversion.

use super::html_to_text;

fn body(html: &str) -> String {
    html_to_text(html).1
}

#[test]
fn headings_paragraphs_and_breaks() {
    let html = "<h1>Deploy</h1><p>First   para\n graph.</p><p>Line one<br>Line two</p>\
                <div>block</div><div>next</div><h3>Sub <em>part</em></h3>text";
    assert_eq!(
        body(html),
        "# Deploy\n\nFirst para graph.\n\nLine one\nLine two\n\nblock\nnext\n\n### Sub part\n\ntext"
    );
}

#[test]
fn nested_lists() {
    let html = "<ul><li>One<ul><li>Sub A</li><li><p>Sub B</p></li></ul></li><li>Two</li></ul>\
                <ol start=\"3\"><li>Third</li><li>Fourth<ol><li>Inner</li></ol></li></ol><p>end</p>";
    assert_eq!(
        body(html),
        "- One\n  - Sub A\n  - Sub B\n- Two\n\n3. Third\n4. Fourth\n   1. Inner\n\nend"
    );
}

#[test]
fn tables_become_pipe_rows() {
    let html = "<table><thead><tr><th>Name</th><th>Port</th></tr></thead><tbody>\
                <tr><td>api</td><td>8080</td></tr>\
                <tr><td>a|b<br>c</td><td><a href=\"https://x.io/d\">docs</a></td></tr></tbody></table><p>after</p>";
    assert_eq!(
        body(html),
        "| Name | Port |\n| --- | --- |\n| api | 8080 |\n| a\\|b c | docs (https://x.io/d) |\n\nafter"
    );
    // No header separator without a header row; unclosed cells still close.
    assert_eq!(
        body("<table><tr><td>x<td>y<tr><td>z</table>"),
        "| x | y |\n| z |"
    );
}

#[test]
fn pre_keeps_whitespace_and_is_fenced() {
    let html = "<p>Example:</p><pre><code class=\"language-rust\">fn main() {\n    println!(\"&lt;hi&gt;\");\n}\n</code></pre><p>After</p>";
    assert_eq!(
        body(html),
        "Example:\n\n```rust\nfn main() {\n    println!(\"<hi>\");\n}\n```\n\nAfter"
    );
    assert_eq!(
        body("<pre>\n a  b\n\n``` c</pre>"),
        "````\n a  b\n\n``` c\n````"
    );
    assert_eq!(
        body("Run <code>cargo   test</code> now."),
        "Run `cargo test` now."
    );
    assert_eq!(body("<code>line1\nline2</code>"), "```\nline1\nline2\n```");
}

#[test]
fn entities_are_decoded() {
    assert_eq!(
        body("<p>a &amp; b &lt;c&gt; &quot;d&quot; &#39;e&#39; f&nbsp;g &#8364; &#x41;&#X42; AT&T &bogus; &#0;</p>"),
        "a & b <c> \"d\" 'e' f g € AB AT&T &bogus; \u{fffd}"
    );
}

#[test]
fn scripts_styles_head_and_hidden_content_are_dropped() {
    let html = "<!DOCTYPE html><html><head><meta charset=utf-8><title>Doc &amp; Title</title>\
                <style>p { color: red }</style><script>if (a < b) { x = '</p>'; }</script></head>\
                <body><!-- <p>comment</p> --><noscript>enable js</noscript><svg><title>icon</title><text>svg text</text></svg>\
                <p>Visible</p><SCRIPT type=x>hidden()</SCRIPT ><template><p>tpl</p></template></body></html>";
    let (title, text) = html_to_text(html);
    assert_eq!(title.as_deref(), Some("Doc & Title"));
    assert_eq!(text, "Visible");
}

#[test]
fn links_show_absolute_targets_only() {
    let html = "<p>See <a href=\"https://ex.com/a?x=1&amp;y=2\">the guide</a>, \
                <a href=\"/relative\">local</a>, <a href='mailto:a@b.c'>mail</a> and \
                <a href=\"https://ex.com/\">ex.com</a>.</p><h2><a href=\"http://h.io\">Head</a></h2>";
    assert_eq!(
        body(html),
        "See the guide (https://ex.com/a?x=1&y=2), local, mail and ex.com.\n\n## Head"
    );
}

#[test]
fn title_from_title_tag_else_first_h1() {
    assert_eq!(
        html_to_text("<h2>x</h2><h1> Main  <b>Title</b></h1><h1>Other</h1>")
            .0
            .as_deref(),
        Some("Main Title")
    );
    assert_eq!(html_to_text("<title> </title><p>no heading</p>").0, None);
    assert_eq!(
        html_to_text("<title>T</title><h1>H</h1>").0.as_deref(),
        Some("T")
    );
}

#[test]
fn blockquotes_are_prefixed() {
    assert_eq!(
        body("<blockquote><p>a</p><p>b</p></blockquote>c"),
        "> a\n>\n> b\n\nc"
    );
}

#[test]
fn large_input_stays_fast() {
    // Guards against quadratic behaviour: about 3 MB of mixed markup.
    let mut html = String::from("<pre>");
    for i in 0..20_000 {
        html.push_str(&format!("<span class=k>let</span> x{i} = {i};\n"));
    }
    html.push_str("</pre><ul>");
    for i in 0..20_000 {
        html.push_str(&format!(
            "<li><p>item <b>{i}</b> &amp; <a href=\"https://e.com/{i}\">link</a></p></li>"
        ));
    }
    html.push_str("</ul>");
    let started = std::time::Instant::now();
    let text = body(&html);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(text.starts_with("```\nlet x0 = 0;\n"));
    assert!(text.ends_with("- item 19999 & link (https://e.com/19999)"));
}

#[test]
fn malformed_input_never_panics() {
    let cases = [
        "",
        "<",
        "<<>>",
        "a < b > c",
        "</",
        "</>",
        "<div",
        "<a href=\"x",
        "<!-- open",
        "<!doctype",
        "<p>unclosed <b>bold <i>it",
        "<ul><li>a<li>b",
        "<table><td>x",
        "</td></tr></table>",
        "<pre>never closed",
        "<code><p>x</code>",
        "<svg><svg></svg>",
        "&#99999999999;",
        "&#x;",
        "<li>stray",
        "<ol start=-4><li>x",
        "<h1><h2>x</h1>",
        "<br/><br/>",
        "<a =x>y</a>",
        "<script>never closed",
        "<title>t",
        "<p>é<b>ß</b>😀 &am",
        "<é>ü</é>",
        "<a href=\"https://x.y\"></a>",
    ];
    for case in cases {
        let _ = html_to_text(case);
    }
    assert_eq!(body("a < b > c"), "a < b > c");
    assert_eq!(body("<p>unclosed <b>bold"), "unclosed bold");
    assert_eq!(body("<ul><li>a<li>b"), "- a\n- b");
    // Every prefix of a realistic document, cut at any character.
    let doc = "<html><head><title>T</title></head><body><h1>Hé</h1><ul><li>a<ol><li>b</li></ol></li></ul>\
               <table><tr><th>x</th></tr><tr><td><a href=\"https://e.com\">l</a></td></tr></table>\
               <pre><code class=\"language-sh\">ls &amp;&amp; pwd</code></pre><!-- c --><p>z&#233;</p></body></html>";
    for (i, _) in doc.char_indices() {
        let _ = html_to_text(&doc[..i]);
    }
}
