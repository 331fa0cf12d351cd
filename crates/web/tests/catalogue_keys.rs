//! Every catalogue key that the pages and handlers use exists (in both languages: the i18n
//! crate's own test checks that the two catalogues have the same keys).

use std::collections::BTreeSet;
use std::path::Path;

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "html") {
            out.push(path);
        }
    }
}

/// The string literal after each `needle`.
fn keys_after(text: &str, needle: &str, found: &mut BTreeSet<String>) {
    let mut rest = text;
    while let Some(at) = rest.find(needle) {
        let after = &rest[at + needle.len()..];
        if let Some(end) = after.find('"') {
            let key = &after[..end];
            if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_') {
                found.insert(key.to_owned());
            }
        }
        rest = after;
    }
}

#[test]
fn every_used_key_is_in_the_catalogue() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    files(&root.join("src"), &mut paths);
    files(&root.join("templates"), &mut paths);
    let mut used = BTreeSet::new();
    for path in &paths {
        let source = std::fs::read_to_string(path).unwrap();
        // Comments may show example keys.
        let text: String = source
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for needle in [
            ".t(\"",
            ".t1(\"",
            "Message::new(\"",
            "Page::new(&ctx, \"",
            "Page::new(ctx, \"",
            "title_key = \"",
            "link_page(&app, &ctx, user, \"",
        ] {
            keys_after(&text, needle, &mut used);
        }
    }
    assert!(
        used.len() > 100,
        "the scan found only {} keys: is it still looking in the right place?",
        used.len()
    );
    let known: BTreeSet<&str> = i18n::keys().collect();
    let missing: Vec<_> = used.iter().filter(|k| !known.contains(k.as_str())).collect();
    assert!(
        missing.is_empty(),
        "keys used but missing from the catalogues: {missing:?}"
    );
}
