//! Helpers for HTML forms: errors per field, shown next to the field and summarised on top.

/// Messages per field name, already translated.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: String) {
        self.0.push((field, message));
    }

    /// The message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every message, for the summary at the top of the form.
    pub fn all(&self) -> impl Iterator<Item = &(&'static str, String)> {
        self.0.iter()
    }

    /// Records each problem of `error` under the form's name for its field (`name` maps the
    /// service's field names to the form's), in the viewer's language and zone, and returns the
    /// status to answer with. A message already shown (the ambiguity question replaces its own)
    /// is not repeated.
    pub fn record(
        &mut self,
        error: &service::Error,
        locale: domain::Locale,
        zone: &str,
        name: fn(&'static str) -> &'static str,
    ) -> axum::http::StatusCode {
        for p in error.problems() {
            let message = p.message.render_in(locale, zone);
            if !self.0.iter().any(|(_, m)| *m == message) {
                // A form's fields are ours; a name the request made up is the form as a whole.
                let field = match p.field {
                    std::borrow::Cow::Borrowed(field) => field,
                    std::borrow::Cow::Owned(_) => "",
                };
                self.add(name(field), message);
            }
        }
        crate::http::error::AppError::Service(error.clone()).status()
    }

    /// Records `result`'s error under `field` and returns its value.
    pub fn check<T>(
        &mut self,
        field: &'static str,
        locale: domain::Locale,
        result: Result<T, domain::UserInputError>,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, service::messages::user_input(&e).render(locale));
                None
            }
        }
    }
}

/// Ties each refused field to its message, once for every form: a page showing the list of
/// problems (`_errors.html`, whose links name each field) gets, on the control of each field
/// named there (`<input>`, `<select>`, `<textarea>`, or the `<fieldset>` of a group of rows, with
/// that id), `aria-invalid="true"` and
/// an `aria-describedby` that points at the element holding its message — the message printed
/// next to the field (`<p class="field-error">`, given the id `{field}-error` if it has none),
/// or else the link of the list itself. Hints already described stay described. A page without
/// the list is returned as it is.
pub fn mark_invalid_fields(html: String) -> String {
    let Some(start) = html.find("id=\"form-errors\"") else {
        return html;
    };
    let end = html[start..].find("</div>").map_or(html.len(), |e| start + e);
    // The summary's links: `<a href="#field">message</a>` (both as escaped by the template).
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut at = start;
    while let Some(found) = html[at..end].find("<a href=\"#") {
        let open = at + found + "<a href=\"#".len();
        let Some(quote) = html[open..end].find('"') else { break };
        let field = html[open..open + quote].to_owned();
        let text_start = match html[open..end].find('>') {
            Some(gt) => open + gt + 1,
            None => break,
        };
        let Some(close) = html[text_start..end].find("</a>") else {
            break;
        };
        let message = html[text_start..text_start + close].to_owned();
        at = text_start + close;
        let usable = !field.is_empty()
            && field
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if usable && !problems.iter().any(|(f, _)| *f == field) {
            problems.push((field, message));
        }
    }
    let mut html = html;
    for (field, message) in problems {
        let Some(tag) = control_tag(&html, &field) else {
            continue;
        };
        let error_id = format!("{field}-error");
        let described = if html.contains(&format!("id=\"{error_id}\"")) {
            error_id
        } else if let Some(p) = inline_message(&html, &message) {
            html.insert_str(p, &format!(" id=\"{error_id}\""));
            error_id
        } else {
            // No message beside the field: the summary's link says it.
            let link = format!("<a href=\"#{field}\"");
            match html.find(&link) {
                Some(l) => {
                    let problem_id = format!("{field}-problem");
                    if !html.contains(&format!("id=\"{problem_id}\"")) {
                        html.insert_str(l + link.len(), &format!(" id=\"{problem_id}\""));
                    }
                    problem_id
                }
                None => continue,
            }
        };
        // The control's start tag may have moved by the insertions above: find it again.
        let (from, to) = control_tag(&html, &field).unwrap_or(tag);
        let mut start_tag = html[from..to].to_owned();
        if let Some(d) = start_tag.find("aria-describedby=\"") {
            let value_start = d + "aria-describedby=\"".len();
            let value_end = start_tag[value_start..]
                .find('"')
                .map_or(start_tag.len(), |q| value_start + q);
            let ids: Vec<&str> = start_tag[value_start..value_end].split_whitespace().collect();
            if !ids.contains(&described.as_str()) {
                start_tag.insert_str(value_end, &format!(" {described}"));
            }
        } else {
            start_tag.insert_str(start_tag.len() - 1, &format!(" aria-describedby=\"{described}\""));
        }
        if !start_tag.contains("aria-invalid=") {
            let close = start_tag.len() - 1;
            start_tag.insert_str(close, " aria-invalid=\"true\"");
        }
        html.replace_range(from..to, &start_tag);
    }
    html
}

/// The start tag (`<` to `>` inclusive, as a range) of the form control (or group) whose id is
/// `field`.
fn control_tag(html: &str, field: &str) -> Option<(usize, usize)> {
    let needle = format!(" id=\"{field}\"");
    let mut at = 0;
    while let Some(found) = html[at..].find(&needle) {
        let pos = at + found;
        at = pos + needle.len();
        let Some(open) = html[..pos].rfind('<') else { continue };
        let name: String = html[open + 1..]
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .collect::<String>()
            .to_ascii_lowercase();
        if !matches!(name.as_str(), "input" | "select" | "textarea" | "fieldset") || html[open..pos].contains('>') {
            continue;
        }
        let close = html[pos..].find('>')? + pos;
        // `/>` ends some start tags: insert before the slash.
        let close = if html[..close].ends_with('/') { close - 1 } else { close };
        return Some((open, close + 1));
    }
    None
}

/// Where to put an id in the `<p class="field-error" …>` that holds exactly `message`, if any:
/// the offset just after `<p`.
fn inline_message(html: &str, message: &str) -> Option<usize> {
    let mut at = 0;
    while let Some(found) = html[at..].find("<p class=\"field-error\"") {
        let open = at + found;
        at = open + 1;
        let gt = html[open..].find('>')? + open;
        if html[open..gt].contains(" id=\"") {
            continue;
        }
        if html[gt + 1..].starts_with(message) && html[gt + 1 + message.len()..].starts_with("</p>") {
            return Some(open + 2);
        }
    }
    None
}

/// A local path to return to after a form, never another site. Only printable ASCII is
/// accepted (a URL's other characters arrive percent-encoded): browsers drop tabs and line
/// breaks before parsing a URL, so `/<TAB>/evil.example` would become `//evil.example`. A path
/// must start with one `/` and hold no `\` (which browsers read as `/`).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'\\') =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refused_field_points_at_its_message() {
        let page = concat!(
            "<div class=\"notice error\" role=\"alert\" tabindex=\"-1\" id=\"form-errors\"><ul>",
            "<li><a href=\"#title\">Title &amp; more</a></li><li><a href=\"#notes\">Too long</a></li>",
            "<li><a href=\"#count\">Bad count</a></li><li><a href=\"#\">Whole form</a></li>",
            "<li><a href=\"#zone\">Zone</a></li></ul></div>",
            "<label for=\"title\">T</label><input id=\"title\" name=\"title\" value=\"x\">",
            "<p class=\"field-error\">Title &amp; more</p>",
            "<textarea id=\"notes\" aria-describedby=\"notes-hint\"></textarea><p class=\"field-error\">Too long</p>",
            "<input id=\"count\" type=\"number\" aria-invalid=\"true\"/>",
            "<div id=\"zone\">not a control</div>",
        );
        let out = mark_invalid_fields(page.to_owned());
        assert!(
            out.contains(
                "<input id=\"title\" name=\"title\" value=\"x\" aria-describedby=\"title-error\" aria-invalid=\"true\">"
            ),
            "{out}"
        );
        assert!(
            out.contains("<p id=\"title-error\" class=\"field-error\">Title &amp; more</p>"),
            "{out}"
        );
        assert!(
            out.contains("<textarea id=\"notes\" aria-describedby=\"notes-hint notes-error\" aria-invalid=\"true\">"),
            "{out}"
        );
        // No message beside it: the summary's link describes it; an existing mark is kept once.
        assert!(out.contains("<a href=\"#count\" id=\"count-problem\">"), "{out}");
        assert!(
            out.contains(
                "<input id=\"count\" type=\"number\" aria-invalid=\"true\" aria-describedby=\"count-problem\"/>"
            ),
            "{out}"
        );
        assert!(out.contains("<div id=\"zone\">not a control</div>"), "{out}");
        // Without the list, nothing changes; twice is the same as once.
        let plain = "<input id=\"title\">".to_owned();
        assert_eq!(mark_invalid_fields(plain.clone()), plain);
        assert_eq!(mark_invalid_fields(out.clone()), out);
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/users?x=1")), "/users?x=1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        // Browsers strip tabs and line breaks from URLs: `/\t/evil` is `//evil` to them.
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/\n/evil.example")), "/");
        assert_eq!(safe_next(Some("/ /x")), "/");
        // Control bytes would make an invalid Location header (a 500).
        assert_eq!(safe_next(Some("/a\u{1}b")), "/");
        assert_eq!(safe_next(Some("/é")), "/");
        assert_eq!(
            safe_next(Some("/sessions/abc?week=2026-W49&x=%2F")),
            "/sessions/abc?week=2026-W49&x=%2F"
        );
    }
}
