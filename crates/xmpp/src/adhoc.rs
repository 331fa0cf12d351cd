//! XEP-0050 ad-hoc commands with XEP-0004 data forms: execute a command, fill the
//! form the server returns, submit it, read the outcome.
//!
//! Prosody's `mod_adhoc` (0.12) answers `execute` with `status='executing'`, a
//! `sessionid` and a form; the submitted form (same `sessionid`) gets
//! `status='completed'` with `<note type='info'>` on success or
//! `<note type='error'>` on failure (e.g. "Account already exists"), or an IQ error
//! `forbidden` ("You don't have permission to execute this command") for a
//! non-admin. Commands are addressed to the domain, `to='<domain>'`.

use crate::error::{Error, Result};
use crate::stream::{Connection, StanzaError};
use crate::xml::{Element, NS_CLIENT};

pub(crate) const NS_COMMANDS: &str = "http://jabber.org/protocol/commands";
pub(crate) const NS_DATA: &str = "jabber:x:data";
pub(crate) const NS_DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";

/// One field of a data form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) var: String,
    pub(crate) kind: String,
    pub(crate) required: bool,
    pub(crate) values: Vec<String>,
}

/// A data form (`<x xmlns='jabber:x:data'/>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Form {
    pub(crate) kind: String,
    pub(crate) fields: Vec<Field>,
}

impl Form {
    pub(crate) fn parse(x: &Element) -> Self {
        let fields = x
            .elements()
            .filter(|f| f.is("field", NS_DATA))
            .filter_map(|f| {
                Some(Field {
                    // Fields without `var` are instructions (type fixed): nothing to fill.
                    var: f.get_attr("var")?.to_owned(),
                    kind: f.get_attr("type").unwrap_or("text-single").to_owned(),
                    required: f.get_child("required", NS_DATA).is_some(),
                    values: f
                        .elements()
                        .filter(|v| v.is("value", NS_DATA))
                        .map(Element::text_content)
                        .collect(),
                })
            })
            .collect();
        Self {
            kind: x.get_attr("type").unwrap_or("form").to_owned(),
            fields,
        }
    }
}

/// A value we put in a form.
pub(crate) struct Answer<'a> {
    pub(crate) var: &'a str,
    pub(crate) values: &'a [&'a str],
    /// When the server's form lacks this field, fail (the command would not do what
    /// we mean) rather than leave it out.
    pub(crate) needed: bool,
}

/// The submitted form: our answers for the fields the server asked, its hidden
/// fields echoed back. A required field we have no answer for, or a needed answer
/// the form has no field for, means this server's command is not the one we know.
pub(crate) fn fill(node: &str, form: &Form, answers: &[Answer<'_>]) -> Result<Element> {
    for a in answers {
        if a.needed && !form.fields.iter().any(|f| f.var == a.var) {
            return Err(Error::Protocol(format!("the form of {node} has no field {:?}", a.var)));
        }
    }
    let mut x = Element::new("x", NS_DATA).attr("type", "submit");
    for field in &form.fields {
        let values: Vec<&str> = match answers.iter().find(|a| a.var == field.var) {
            Some(a) => a.values.to_vec(),
            None if field.kind == "hidden" => field.values.iter().map(String::as_str).collect(),
            None if field.required => {
                return Err(Error::Protocol(format!(
                    "the form of {node} requires the field {:?}, which Dialogue does not know",
                    field.var
                )));
            }
            None => continue,
        };
        let mut el = Element::new("field", NS_DATA).attr("var", &field.var);
        for v in values {
            el = el.child(Element::new("value", NS_DATA).text(v));
        }
        x = x.child(el);
    }
    Ok(x)
}

/// The outcome of a completed command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Completed {
    /// `(type, text)` of each `<note/>`: `info`, `warn` or `error`.
    pub(crate) notes: Vec<(String, String)>,
    /// The result form, when the command returns data.
    pub(crate) form: Option<Form>,
}

impl Completed {
    fn parse(command: &Element) -> Self {
        let notes = command
            .elements()
            .filter(|n| n.is("note", NS_COMMANDS))
            .map(|n| (n.get_attr("type").unwrap_or("info").to_owned(), n.text_content()))
            .collect();
        let form = command.get_child("x", NS_DATA).map(Form::parse);
        Self { notes, form }
    }

    /// The first error note's text.
    pub(crate) fn error(&self) -> Option<&str> {
        self.notes.iter().find(|(k, _)| k == "error").map(|(_, t)| t.as_str())
    }

    /// All notes, for messages.
    pub(crate) fn summary(&self) -> String {
        let texts: Vec<&str> = self.notes.iter().map(|(_, t)| t.trim()).collect();
        if texts.is_empty() {
            "no note".to_owned()
        } else {
            texts.join("; ")
        }
    }
}

fn command_iq(to: &str, command: Element) -> Element {
    Element::new("iq", NS_CLIENT)
        .attr("type", "set")
        .attr("to", to)
        .child(command)
}

/// The `<command/>` of an answer, or the refusal an IQ error means.
fn command_of(node: &str, answer: &Element) -> Result<Element> {
    if answer.get_attr("type") == Some("error") {
        let error = StanzaError::from_iq(answer);
        // mod_adhoc also puts a canceled <command/> with an error note in the
        // refusal; the stanza text says the same.
        let note = answer
            .get_child("command", NS_COMMANDS)
            .map(Completed::parse)
            .and_then(|c| c.error().map(str::to_owned));
        let reason = match (&error.text, note) {
            (None, Some(note)) => format!("{note} ({})", error.condition),
            _ => error.reason(),
        };
        return Err(Error::Refused {
            command: node.to_owned(),
            reason,
        });
    }
    answer
        .get_child("command", NS_COMMANDS)
        .cloned()
        .ok_or_else(|| Error::Protocol(format!("the answer to {node} carries no <command/>")))
}

/// Runs the two-stage command `node` at `to`: execute, fill the form with
/// `answers`, submit. Returns the completed command's notes and result form.
pub(crate) async fn run(conn: &mut Connection, to: &str, node: &str, answers: &[Answer<'_>]) -> Result<Completed> {
    let execute = Element::new("command", NS_COMMANDS)
        .attr("node", node)
        .attr("action", "execute");
    let answer = conn.request(command_iq(to, execute)).await?;
    let command = command_of(node, &answer)?;
    match command.get_attr("status") {
        Some("executing") => {}
        Some("completed") => return Ok(Completed::parse(&command)),
        Some("canceled") => {
            return Err(Error::Refused {
                command: node.to_owned(),
                reason: Completed::parse(&command).summary(),
            });
        }
        other => return Err(Error::Protocol(format!("{node} answered with status {other:?}"))),
    }
    let session = command
        .get_attr("sessionid")
        .ok_or_else(|| Error::Protocol(format!("{node} is executing without a sessionid")))?
        .to_owned();
    let form = command
        .get_child("x", NS_DATA)
        .map(Form::parse)
        .ok_or_else(|| Error::Protocol(format!("{node} asked for no form")))?;
    let submitted = match fill(node, &form, answers) {
        Ok(x) => x,
        Err(e) => {
            cancel(conn, to, node, &session).await;
            return Err(e);
        }
    };
    let submit = Element::new("command", NS_COMMANDS)
        .attr("node", node)
        .attr("sessionid", &session)
        .attr("action", "complete")
        .child(submitted);
    let answer = conn.request(command_iq(to, submit)).await?;
    let command = command_of(node, &answer)?;
    match command.get_attr("status") {
        Some("completed") => Ok(Completed::parse(&command)),
        Some("canceled") => Err(Error::Refused {
            command: node.to_owned(),
            reason: Completed::parse(&command).summary(),
        }),
        Some("executing") => {
            cancel(conn, to, node, &session).await;
            Err(Error::Protocol(format!("{node} asked for more than one form")))
        }
        other => Err(Error::Protocol(format!("{node} answered with status {other:?}"))),
    }
}

/// Cancels a command session so the server drops its state; best effort (the error
/// that led here is what the caller reports).
async fn cancel(conn: &mut Connection, to: &str, node: &str, session: &str) {
    let cancel = Element::new("command", NS_COMMANDS)
        .attr("node", node)
        .attr("sessionid", session)
        .attr("action", "cancel");
    let _ = conn.request(command_iq(to, cancel)).await;
}

/// The command nodes `to` lists for us (disco#items on the commands node): only
/// those we may run, so an admin's list differs from a user's.
pub(crate) async fn list(conn: &mut Connection, to: &str) -> Result<Vec<String>> {
    let iq = Element::new("iq", NS_CLIENT)
        .attr("type", "get")
        .attr("to", to)
        .child(Element::new("query", NS_DISCO_ITEMS).attr("node", NS_COMMANDS));
    let answer = conn.request(iq).await?;
    if answer.get_attr("type") == Some("error") {
        return Err(Error::Refused {
            command: format!("disco#items {NS_COMMANDS}"),
            reason: StanzaError::from_iq(&answer).reason(),
        });
    }
    let query = answer
        .get_child("query", NS_DISCO_ITEMS)
        .ok_or_else(|| Error::Protocol("the disco#items answer has no <query/>".to_owned()))?;
    Ok(query
        .elements()
        .filter(|i| i.is("item", NS_DISCO_ITEMS))
        .filter_map(|i| i.get_attr("node").map(str::to_owned))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(var: &str, kind: &str, required: bool, values: &[&str]) -> Element {
        let mut f = Element::new("field", NS_DATA).attr("var", var).attr("type", kind);
        if required {
            f = f.child(Element::new("required", NS_DATA));
        }
        for v in values {
            f = f.child(Element::new("value", NS_DATA).text(v));
        }
        f
    }

    /// The add-user form as Prosody 0.12's mod_admin_adhoc sends it.
    fn add_user_form() -> Form {
        Form::parse(
            &Element::new("x", NS_DATA)
                .attr("type", "form")
                .child(Element::new("title", NS_DATA).text("Adding a User"))
                .child(field(
                    "FORM_TYPE",
                    "hidden",
                    false,
                    &["http://jabber.org/protocol/admin"],
                ))
                .child(field("accountjid", "jid-single", true, &[]))
                .child(field("password", "text-private", false, &[]))
                .child(field("password-verify", "text-private", false, &[])),
        )
    }

    #[test]
    fn fills_the_fields_asked_and_echoes_hidden_ones() {
        let form = add_user_form();
        assert_eq!(form.fields.len(), 4);
        assert!(form.fields[1].required);
        let x = fill(
            "add-user",
            &form,
            &[
                Answer {
                    var: "accountjid",
                    values: &["zoe@d.test"],
                    needed: true,
                },
                Answer {
                    var: "password",
                    values: &["p<w"],
                    needed: true,
                },
                Answer {
                    var: "password-verify",
                    values: &["p<w"],
                    needed: false,
                },
            ],
        )
        .unwrap();
        assert_eq!(
            x.write_to_string(),
            "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/admin</value></field><field var='accountjid'><value>zoe@d.test</value></field><field var='password'><value>p&lt;w</value></field><field var='password-verify'><value>p&lt;w</value></field></x>"
        );
    }

    #[test]
    fn a_form_we_do_not_know_is_refused() {
        let form = add_user_form();
        let missing = fill(
            "add-user",
            &form,
            &[Answer {
                var: "jid",
                values: &["x"],
                needed: true,
            }],
        );
        assert!(matches!(missing, Err(Error::Protocol(_))));
        // accountjid is required and unanswered.
        let unanswered = fill(
            "add-user",
            &form,
            &[Answer {
                var: "password",
                values: &["x"],
                needed: true,
            }],
        );
        assert!(matches!(unanswered, Err(Error::Protocol(m)) if m.contains("accountjid")));
        // An optional answer the form lacks is left out.
        let x = fill(
            "add-user",
            &form,
            &[
                Answer {
                    var: "accountjid",
                    values: &["a@d"],
                    needed: true,
                },
                Answer {
                    var: "extra",
                    values: &["x"],
                    needed: false,
                },
            ],
        )
        .unwrap();
        assert!(!x.write_to_string().contains("extra"));
    }

    #[test]
    fn refusals_carry_the_servers_text() {
        let answer = Element::new("iq", NS_CLIENT)
            .attr("type", "error")
            .child(
                Element::new("command", NS_COMMANDS).attr("status", "canceled").child(
                    Element::new("note", NS_COMMANDS)
                        .attr("type", "error")
                        .text("No permission"),
                ),
            )
            .child(
                Element::new("error", NS_CLIENT)
                    .attr("type", "auth")
                    .child(Element::new("forbidden", crate::xml::NS_STANZAS)),
            );
        match command_of("n", &answer) {
            Err(Error::Refused { command, reason }) => {
                assert_eq!(command, "n");
                assert_eq!(reason, "No permission (forbidden)");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn completed_notes() {
        let c = Completed::parse(
            &Element::new("command", NS_COMMANDS)
                .attr("status", "completed")
                .child(Element::new("note", NS_COMMANDS).attr("type", "info").text("fine"))
                .child(
                    Element::new("note", NS_COMMANDS)
                        .attr("type", "error")
                        .text("Account already exists"),
                ),
        );
        assert_eq!(c.error(), Some("Account already exists"));
        assert_eq!(c.summary(), "fine; Account already exists");
        assert_eq!(Completed::default().summary(), "no note");
    }

    impl Element {
        fn write_to_string(&self) -> String {
            let mut s = String::new();
            self.write_to(&mut s, NS_CLIENT);
            s
        }
    }
}
