//! The body of a message as a small document, written once and rendered twice: as plain text
//! and as HTML (every piece of text escaped), so that the two alternatives always say the same.

use std::fmt::Write as _;

/// A piece of a message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A paragraph (line breaks kept).
    Para(String),
    /// A heading.
    Heading(String),
    /// Labelled values: `label : value`.
    Facts(Vec<(String, String)>),
    /// What changed: label, before, after.
    Changes {
        before: String,
        after: String,
        rows: Vec<(String, String, String)>,
    },
    /// A prominent link, with the text before it.
    Link { intro: String, url: String },
    /// Dated items each with its link (the sessions of a series): the text before, then
    /// (when, link text, URL) per line.
    Schedule {
        intro: String,
        rows: Vec<(String, String, String)>,
    },
    /// Buttons (label, URL), with the question they answer.
    Actions {
        intro: String,
        actions: Vec<(String, String)>,
    },
    /// Text quoted from a person (notes), under a label.
    Quote { label: String, text: String },
    /// Small print at the end.
    Footer(String),
}

/// A message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    /// The language tag (`fr`, `en`) of the HTML.
    pub lang: &'static str,
    /// The title of the HTML document (the subject).
    pub title: String,
    pub blocks: Vec<Block>,
}

impl Doc {
    /// The plain-text alternative.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for block in &self.blocks {
            match block {
                Block::Para(text) => {
                    out.push_str(text);
                    out.push('\n');
                }
                Block::Heading(text) => {
                    out.push_str(text);
                    out.push('\n');
                    out.push_str(&"=".repeat(text.chars().count().min(72)));
                    out.push('\n');
                }
                Block::Facts(rows) => {
                    for (label, value) in rows {
                        let _ = writeln!(out, "{label} : {value}");
                    }
                }
                Block::Changes { before, after, rows } => {
                    for (label, old, new) in rows {
                        let _ = writeln!(out, "{label}\n  {before} : {old}\n  {after} : {new}");
                    }
                }
                Block::Link { intro, url } => {
                    let _ = writeln!(out, "{intro}\n{url}");
                }
                Block::Schedule { intro, rows } => {
                    out.push_str(intro);
                    out.push('\n');
                    for (when, _, url) in rows {
                        let _ = writeln!(out, "- {when}\n  {url}");
                    }
                }
                Block::Actions { intro, actions } => {
                    out.push_str(intro);
                    out.push('\n');
                    for (label, url) in actions {
                        let _ = writeln!(out, "- {label} : {url}");
                    }
                }
                Block::Quote { label, text } => {
                    let _ = writeln!(out, "{label}");
                    for line in text.lines() {
                        let _ = writeln!(out, "> {line}");
                    }
                }
                Block::Footer(text) => {
                    let _ = writeln!(out, "-- \n{text}");
                }
            }
            out.push('\n');
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('\n');
        out
    }

    /// The HTML alternative: one self-contained page, inline styles only (mail clients drop
    /// style sheets), every text escaped.
    pub fn html(&self) -> String {
        let mut out = String::with_capacity(4096);
        let _ = write!(
            out,
            "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n</head>\n\
             <body style=\"margin:0;padding:0;background:#f4f5f7;\">\n\
             <div style=\"max-width:640px;margin:0 auto;padding:24px 16px;font-family:Arial,Helvetica,sans-serif;\
             font-size:16px;line-height:1.5;color:#1d2330;background:#ffffff;\">\n",
            self.lang,
            escape(&self.title)
        );
        for block in &self.blocks {
            match block {
                Block::Para(text) => {
                    let _ = writeln!(out, "<p>{}</p>", lines(text));
                }
                Block::Heading(text) => {
                    let _ = writeln!(
                        out,
                        "<h1 style=\"font-size:22px;margin:0 0 16px;\">{}</h1>",
                        escape(text)
                    );
                }
                Block::Facts(rows) => {
                    out.push_str(
                        "<table role=\"presentation\" style=\"border-collapse:collapse;margin:8px 0 16px;\">\n",
                    );
                    for (label, value) in rows {
                        let _ = writeln!(
                            out,
                            "<tr><th scope=\"row\" style=\"text-align:left;vertical-align:top;padding:4px 16px 4px 0;\
                             font-weight:bold;\">{}</th><td style=\"padding:4px 0;\">{}</td></tr>",
                            escape(label),
                            lines(value)
                        );
                    }
                    out.push_str("</table>\n");
                }
                Block::Changes { before, after, rows } => {
                    let _ = writeln!(
                        out,
                        "<table style=\"border-collapse:collapse;margin:8px 0 16px;\">\n<tr><td></td>\
                         <th scope=\"col\" style=\"text-align:left;padding:4px 12px;\">{}</th>\
                         <th scope=\"col\" style=\"text-align:left;padding:4px 12px;\">{}</th></tr>",
                        escape(before),
                        escape(after)
                    );
                    for (label, old, new) in rows {
                        let _ = writeln!(
                            out,
                            "<tr><th scope=\"row\" style=\"text-align:left;padding:4px 12px 4px 0;\">{}</th>\
                             <td style=\"padding:4px 12px;text-decoration:line-through;color:#5c6370;\">{}</td>\
                             <td style=\"padding:4px 12px;font-weight:bold;\">{}</td></tr>",
                            escape(label),
                            lines(old),
                            lines(new)
                        );
                    }
                    out.push_str("</table>\n");
                }
                Block::Link { intro, url } => {
                    let _ = writeln!(
                        out,
                        "<p>{}<br><a href=\"{}\" style=\"color:#1a56db;font-weight:bold;word-break:break-all;\">{}</a></p>",
                        lines(intro),
                        escape(url),
                        escape(url)
                    );
                }
                Block::Schedule { intro, rows } => {
                    let _ = writeln!(
                        out,
                        "<p>{}</p>\n<ul style=\"margin:0 0 16px;padding-left:20px;\">",
                        lines(intro)
                    );
                    for (when, label, url) in rows {
                        let _ = writeln!(
                            out,
                            "<li style=\"margin:0 0 6px;\">{} — <a href=\"{}\" style=\"color:#1a56db;\">{}</a></li>",
                            escape(when),
                            escape(url),
                            escape(label)
                        );
                    }
                    out.push_str("</ul>\n");
                }
                Block::Actions { intro, actions } => {
                    let _ = write!(out, "<p>{}</p>\n<p>", lines(intro));
                    for (label, url) in actions {
                        let _ = write!(
                            out,
                            "<a href=\"{}\" style=\"display:inline-block;margin:0 8px 8px 0;padding:10px 18px;\
                             border-radius:6px;background:#1a56db;color:#ffffff;text-decoration:none;\
                             font-weight:bold;\">{}</a>",
                            escape(url),
                            escape(label)
                        );
                    }
                    out.push_str("</p>\n");
                }
                Block::Quote { label, text } => {
                    let _ = writeln!(
                        out,
                        "<p style=\"margin-bottom:4px;font-weight:bold;\">{}</p>\n<blockquote style=\"margin:0 0 16px;\
                         padding:8px 12px;border-left:4px solid #c9ced6;background:#f7f8fa;\">{}</blockquote>",
                        escape(label),
                        lines(text)
                    );
                }
                Block::Footer(text) => {
                    let _ = writeln!(
                        out,
                        "<hr style=\"border:0;border-top:1px solid #e1e4e8;margin:24px 0 12px;\">\n\
                         <p style=\"font-size:13px;color:#5c6370;\">{}</p>",
                        lines(text)
                    );
                }
            }
        }
        out.push_str("</div>\n</body>\n</html>\n");
        out
    }
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// Escapes text and turns its line breaks into `<br>`.
fn lines(text: &str) -> String {
    text.lines().map(escape).collect::<Vec<_>>().join("<br>\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Doc {
        Doc {
            lang: "fr",
            title: "Convocation <b>".into(),
            blocks: vec![
                Block::Para("Bonjour <Zoé> & \"co\",".into()),
                Block::Facts(vec![("Date".into(), "lundi\nmardi".into())]),
                Block::Link {
                    intro: "Votre lien :".into(),
                    url: "https://d.example/j/a\"b<c>".into(),
                },
                Block::Actions {
                    intro: "Serez-vous là ?".into(),
                    actions: vec![("Oui".into(), "https://d.example/j/k/rsvp?answer=accepted&x=1".into())],
                },
                Block::Quote {
                    label: "Notes".into(),
                    text: "<script>alert(1)</script>\nligne 2".into(),
                },
                Block::Footer("Dialogue".into()),
            ],
        }
    }

    #[test]
    fn html_escapes_every_text_and_url() {
        let html = doc().html();
        assert!(html.contains("<html lang=\"fr\">"));
        assert!(html.contains("<title>Convocation &lt;b&gt;</title>"));
        assert!(html.contains("Bonjour &lt;Zoé&gt; &amp; &quot;co&quot;,"));
        assert!(html.contains("href=\"https://d.example/j/a&quot;b&lt;c&gt;\""));
        assert!(html.contains("answer=accepted&amp;x=1"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;<br>\nligne 2"));
        assert!(html.contains("lundi<br>\nmardi"));
    }

    #[test]
    fn text_says_the_same() {
        let text = doc().text();
        assert!(
            text.starts_with("Bonjour <Zoé> & \"co\",\n\nDate : lundi\nmardi\n"),
            "{text}"
        );
        assert!(text.contains("Votre lien :\nhttps://d.example/j/a\"b<c>\n"));
        assert!(text.contains("- Oui : https://d.example/j/k/rsvp?answer=accepted&x=1\n"));
        assert!(text.contains("> <script>alert(1)</script>\n> ligne 2\n"));
        assert!(text.ends_with("-- \nDialogue\n"));
    }
}
