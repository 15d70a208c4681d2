//! Slack mrkdwn -> text.
//!
//! Slack encodes references in angle brackets: `<@U123>` users,
//! `<#C123|name>` channels, `<!here>` broadcasts, `<https://x|label>` links,
//! and escapes `&`, `<`, `>` as entities. References become what a reader
//! sees in Slack (`@Ada`, `#ops`, `label (https://x)`); code spans, code
//! blocks and emoji shortcodes stay as written, since they read well as text.

/// Converts mrkdwn; `user_name` resolves a user id to a display name.
pub fn mrkdwn_to_text(text: &str, user_name: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&decode(&rest[..open]));
        let after = &rest[open + 1..];
        match after.find('>') {
            Some(close) => {
                out.push_str(&reference(&after[..close], user_name));
                rest = &after[close + 1..];
            }
            None => {
                // A bare `<` cannot come from Slack (it escapes it); keep it.
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(&decode(rest));
    out
}

/// The user ids mentioned in `text`, to resolve before converting.
pub fn mentioned_users(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find("<@") {
        let after = &rest[pos + 2..];
        let end = after.find(['>', '|']).unwrap_or(after.len());
        let id = &after[..end];
        if !id.is_empty() && !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
        rest = &after[end..];
    }
    ids
}

fn reference(inner: &str, user_name: &dyn Fn(&str) -> Option<String>) -> String {
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(decode(l))),
        None => (inner, None),
    };
    if let Some(id) = target.strip_prefix('@') {
        let name = user_name(id).or(label).unwrap_or_else(|| id.to_string());
        return format!("@{}", name.trim_start_matches('@'));
    }
    if let Some(id) = target.strip_prefix('#') {
        return format!("#{}", label.unwrap_or_else(|| id.to_string()));
    }
    if let Some(special) = target.strip_prefix('!') {
        if let Some(label) = label {
            // Dates and user groups carry a readable fallback.
            return label;
        }
        let word = special.split('^').next().unwrap_or(special);
        return format!("@{word}");
    }
    let url = decode(target);
    let shown_url = url.strip_prefix("mailto:").unwrap_or(&url).to_string();
    match label {
        Some(label) if label != shown_url && label != url => format!("{label} ({shown_url})"),
        Some(label) => label,
        None => shown_url,
    }
}

fn decode(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(id: &str) -> Option<String> {
        (id == "U1").then(|| "Ada".to_string())
    }

    #[test]
    fn references_become_readable() {
        let text = mrkdwn_to_text(
            "<@U1> and <@U2|bob> see <#C9|ops> / <#C8>: <https://x.example/a?b=1&amp;c=2|the doc>, <https://y.example>, <mailto:a@b.example|a@b.example> <!here> <!subteam^S1|@oncall> <!date^1392734382^{date}|Feb 18, 2014>",
            &names,
        );
        assert_eq!(
            text,
            "@Ada and @bob see #ops / #C8: the doc (https://x.example/a?b=1&c=2), https://y.example, a@b.example @here @oncall Feb 18, 2014"
        );
    }

    #[test]
    fn entities_code_and_emoji_stay_readable() {
        let text = mrkdwn_to_text(
            "if a &lt; b &amp;&amp; c &gt; d :tada:\n```\nlet x = 1;\n```\n• item",
            &names,
        );
        assert_eq!(
            text,
            "if a < b && c > d :tada:\n```\nlet x = 1;\n```\n• item"
        );
        assert_eq!(mrkdwn_to_text("unclosed <@U1", &names), "unclosed <@U1");
        assert_eq!(mentioned_users("hi <@U1> <@U2|x> <@U1>"), vec!["U1", "U2"]);
    }
}
