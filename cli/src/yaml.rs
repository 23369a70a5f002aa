//! JSON values written as YAML, for manifests a person reads and `kubectl apply -f -`
//! takes: block mappings and sequences, every string double-quoted in JSON's syntax
//! (which is YAML's), so no value can be misread as a number, a boolean or a tag.

use serde_json::Value;

/// `value` as a YAML document.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    write(&mut out, value, 0);
    out
}

fn key(k: &str) -> String {
    if !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        k.to_owned()
    } else {
        Value::String(k.to_owned()).to_string()
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Array(a) if a.is_empty() => "[]".into(),
        other => other.to_string(),
    }
}

fn is_block(v: &Value) -> bool {
    matches!(v, Value::Object(m) if !m.is_empty()) || matches!(v, Value::Array(a) if !a.is_empty())
}

fn write(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                if is_block(v) {
                    out.push_str(&format!("{pad}{}:\n", key(k)));
                    write(out, v, indent + 2);
                } else {
                    out.push_str(&format!("{pad}{}: {}\n", key(k), scalar(v)));
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for v in items {
                if is_block(v) {
                    out.push_str(&format!("{pad}-\n"));
                    write(out, v, indent + 2);
                } else {
                    out.push_str(&format!("{pad}- {}\n", scalar(v)));
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_secret_manifest() {
        let v = serde_json::json!({ "apiVersion": "v1", "metadata": { "name": "x", "annotations": { "a/b": "2026" } },
                                    "data": { ".dockerconfigjson": "e30=" }, "list": [1, "yes"], "empty": {} });
        assert_eq!(
            super::to_yaml(&v),
            "apiVersion: \"v1\"\nmetadata:\n  name: \"x\"\n  annotations:\n    \"a/b\": \"2026\"\ndata:\n  \".dockerconfigjson\": \"e30=\"\nlist:\n  - 1\n  - \"yes\"\nempty: {}\n"
        );
    }
}
