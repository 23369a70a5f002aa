//! Just enough XML for AWS query-protocol answers: the text of the first element
//! with a given name. AWS's answers are flat and small; a full parser buys nothing.

/// The unescaped text of the first `<name>...</name>`, if any.
pub(crate) fn first(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(unescape(&xml[start..end]))
}

fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find(';').unwrap_or(0);
        let entity = &rest[1..end.max(1)];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16).ok().and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) if end > 0 => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_and_unescapes() {
        let xml = "<R><Error><Code>AccessDenied</Code><Message>a &amp; b &lt;c&gt; &#65;</Message></Error></R>";
        assert_eq!(super::first(xml, "Code").as_deref(), Some("AccessDenied"));
        assert_eq!(super::first(xml, "Message").as_deref(), Some("a & b <c> A"));
        assert_eq!(super::first(xml, "Nope"), None);
        assert_eq!(super::unescape("x & y"), "x & y");
    }
}
