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

    /// The messages recorded for `field`, each with the id of the element that shows it beside
    /// the field (`{field}-error`, then `{field}-error-2`, …), as `_field.html`'s `error` prints
    /// them.
    pub fn messages_of(&self, field: &str) -> Vec<(String, &str)> {
        self.0
            .iter()
            .filter(|(f, _)| *f == field)
            .enumerate()
            .map(|(i, (_, m))| {
                let id = if i == 0 {
                    format!("{field}-error")
                } else {
                    format!("{field}-error-{}", i + 1)
                };
                (id, m.as_str())
            })
            .collect()
    }

    /// `field`'s messages as [`messages_of`](Self::messages_of) gives them, but `shown`, which
    /// the page says elsewhere (the repeated-hour question's legend holds its own message).
    pub fn messages_except(&self, field: &str, shown: &str) -> Vec<(String, &str)> {
        self.messages_of(field)
            .into_iter()
            .filter(|(_, m)| *m != shown)
            .collect()
    }

    /// The id of the element showing `message` among `field`'s (that element may be elsewhere
    /// than beside the field: see [`messages_except`](Self::messages_except)); `fallback` when
    /// `field` has no such message.
    pub fn id_of(&self, field: &str, message: &str, fallback: &str) -> String {
        self.messages_of(field)
            .into_iter()
            .find(|(_, m)| *m == message)
            .map_or_else(|| fallback.to_owned(), |(id, _)| id)
    }

    /// The ids of `field`'s messages, space-separated (empty when the field was accepted): what
    /// its control's `aria-describedby` names, as `_field.html`'s `aria` writes it.
    pub fn message_ids(&self, field: &str) -> String {
        self.messages_of(field)
            .into_iter()
            .map(|(id, _)| id)
            .collect::<Vec<_>>()
            .join(" ")
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
    fn each_message_of_a_field_has_its_own_id() {
        let mut errors = FieldErrors::default();
        errors.add("title", "Missing".into());
        errors.add("learners", "Row 1".into());
        errors.add("learners", "Row 2".into());
        assert_eq!(errors.message_ids("title"), "title-error");
        assert_eq!(errors.message_ids("learners"), "learners-error learners-error-2");
        assert_eq!(errors.message_ids("notes"), "");
        let shown: Vec<(String, &str)> = errors.messages_of("learners");
        assert_eq!(
            shown,
            vec![
                ("learners-error".to_owned(), "Row 1"),
                ("learners-error-2".to_owned(), "Row 2")
            ]
        );
        assert_eq!(
            errors.messages_except("learners", "Row 1"),
            vec![("learners-error-2".to_owned(), "Row 2")]
        );
        assert_eq!(errors.id_of("learners", "Row 2", "x"), "learners-error-2");
        assert_eq!(errors.id_of("title", "Row 2", "x"), "x");
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
