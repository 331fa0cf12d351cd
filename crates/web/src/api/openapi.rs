//! The OpenAPI 3.1 document, assembled from one fragment per area (`openapi/*.json`): each
//! fragment's `paths` and `components.schemas` are merged into the core document. A test checks
//! that no two fragments define the same path or schema.

use std::sync::LazyLock;

use axum::Json;
use serde_json::Value;

const FRAGMENTS: &[(&str, &str)] = &[
    ("booking", include_str!("openapi/booking.json")),
    ("jitsi", include_str!("openapi/jitsi.json")),
    ("mail", include_str!("openapi/mail.json")),
];

/// The assembled document, or a description of what is wrong with the fragments.
pub fn assemble() -> Result<Value, String> {
    let mut doc: Value =
        serde_json::from_str(include_str!("openapi/core.json")).map_err(|e| format!("core.json: {e}"))?;
    for (name, text) in FRAGMENTS {
        let fragment: Value = serde_json::from_str(text).map_err(|e| format!("{name}.json: {e}"))?;
        for (section, target) in [("paths", &["paths"][..]), ("schemas", &["components", "schemas"][..])] {
            let source = match section {
                "paths" => fragment.get("paths"),
                _ => fragment.get("components").and_then(|c| c.get("schemas")),
            };
            let Some(source) = source.and_then(Value::as_object) else {
                continue;
            };
            let mut into = &mut doc;
            for key in target {
                into = into
                    .get_mut(*key)
                    .ok_or_else(|| format!("core.json has no {}", target.join(".")))?;
            }
            let into = into
                .as_object_mut()
                .ok_or_else(|| format!("core.json {} is not an object", target.join(".")))?;
            for (key, value) in source {
                if into.insert(key.clone(), value.clone()).is_some() {
                    return Err(format!("{name}.json redefines {section} {key}"));
                }
            }
        }
    }
    Ok(doc)
}

static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    assemble().unwrap_or_else(|e| {
        tracing::error!(error = %e, "the OpenAPI fragments do not assemble");
        Value::Null
    })
});

pub async fn document() -> Json<Value> {
    Json(DOCUMENT.clone())
}

#[cfg(test)]
mod tests {
    #[test]
    fn fragments_assemble_without_clashes() {
        let doc = super::assemble().unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"]["/me"].is_object());
        assert!(doc["components"]["schemas"]["Problem"].is_object());
    }
}
