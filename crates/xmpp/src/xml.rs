//! XML for the XMPP stream: a small element tree, its escaped serialisation, and a
//! reader that parses one top-level element (a stanza) at a time with hard limits.
//!
//! RFC 6120 §11 restricts stream XML: no comments, processing instructions, DTDs or
//! entity references other than the five predefined ones and character references.
//! The reader refuses all of those, so nothing the server sends is expanded.
//!
//! What a hostile server can make us hold is bounded: the bytes read from the socket
//! for one stanza (including quick-xml's read-ahead of at most one buffer), and the
//! nesting depth of the element tree (so building and dropping it never recurses deep).

use std::io;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, Take};

/// `http://etherx.jabber.org/streams`, the namespace of `<stream:stream>` and its
/// `<stream:features>` and `<stream:error>` children.
pub(crate) const NS_STREAM: &str = "http://etherx.jabber.org/streams";
/// The default namespace of a client stream.
pub(crate) const NS_CLIENT: &str = "jabber:client";
/// Stanza error conditions and texts (RFC 6120 §8.3).
pub(crate) const NS_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
/// Stream error conditions and texts (RFC 6120 §4.9).
pub(crate) const NS_STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";

/// Deepest element nesting accepted in one stanza. Ad-hoc command answers go five
/// levels deep (iq, command, x, field, value).
pub(crate) const MAX_DEPTH: usize = 32;

/// One XML element with its namespace resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) ns: String,
    /// Attributes by their name as written (`type`, `xml:lang`); XMPP's stanza
    /// attributes carry no namespace.
    pub(crate) attrs: Vec<(String, String)>,
    pub(crate) children: Vec<Node>,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    pub(crate) fn new(name: &str, ns: &str) -> Self {
        Self {
            name: name.to_owned(),
            ns: ns.to_owned(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Adds (or replaces) an attribute.
    pub(crate) fn attr(mut self, key: &str, value: &str) -> Self {
        self.set_attr(key, value);
        self
    }

    pub(crate) fn set_attr(&mut self, key: &str, value: &str) {
        match self.attrs.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => value.clone_into(v),
            None => self.attrs.push((key.to_owned(), value.to_owned())),
        }
    }

    pub(crate) fn child(mut self, child: Element) -> Self {
        self.children.push(Node::Element(child));
        self
    }

    pub(crate) fn text(mut self, text: &str) -> Self {
        self.push_text(text);
        self
    }

    fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        match self.children.last_mut() {
            Some(Node::Text(t)) => t.push_str(text),
            _ => self.children.push(Node::Text(text.to_owned())),
        }
    }

    pub(crate) fn get_attr(&self, key: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub(crate) fn is(&self, name: &str, ns: &str) -> bool {
        self.name == name && self.ns == ns
    }

    /// The child elements, in order.
    pub(crate) fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    pub(crate) fn get_child(&self, name: &str, ns: &str) -> Option<&Element> {
        self.elements().find(|e| e.is(name, ns))
    }

    /// The element's own text (its text children, concatenated).
    pub(crate) fn text_content(&self) -> String {
        self.children
            .iter()
            .filter_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                Node::Element(_) => None,
            })
            .collect()
    }

    /// Serialises the element; `parent_ns` is the default namespace in scope, so
    /// `xmlns` is written only where it changes.
    pub(crate) fn write_to(&self, out: &mut String, parent_ns: &str) {
        out.push('<');
        out.push_str(&self.name);
        if self.ns != parent_ns {
            out.push_str(" xmlns='");
            escape_into(&self.ns, out);
            out.push('\'');
        }
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("='");
            escape_into(v, out);
            out.push('\'');
        }
        if self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        for child in &self.children {
            match child {
                Node::Element(e) => e.write_to(out, &self.ns),
                Node::Text(t) => escape_into(t, out),
            }
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }

    /// The element as a top-level stanza of a client stream.
    pub(crate) fn to_stanza(&self) -> String {
        let mut out = String::with_capacity(256);
        self.write_to(&mut out, NS_CLIENT);
        out
    }
}

/// Whether XML 1.0 can carry `c` at all (§2.2 `Char`): callers refuse input with
/// other characters rather than send something the server would reject.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escapes text or an attribute value (either quote style). Characters XML cannot
/// carry become U+FFFD: the public API refuses them earlier, this only guarantees
/// that nothing malformed is ever written.
pub(crate) fn escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// Why reading from the stream failed.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The connection failed or closed.
    Io(io::Error),
    /// One stanza exceeded the byte limit.
    TooLarge(usize),
    /// One stanza nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Not well-formed, or XML that XMPP forbids.
    Malformed(String),
    /// The server ended the stream (`</stream:stream>`).
    Closed,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "connection error: {e}"),
            Self::TooLarge(n) => write!(f, "the server sent a stanza larger than {n} bytes"),
            Self::TooDeep => write!(f, "the server sent a stanza nested deeper than {MAX_DEPTH} elements"),
            Self::Malformed(m) => write!(f, "the server sent invalid XML: {m}"),
            Self::Closed => f.write_str("the server closed the stream"),
        }
    }
}

/// The XML side of one connection: a namespace-aware parser over a byte budget, and
/// the same transport for writing.
pub(crate) struct XmlStream<S> {
    reader: NsReader<BufReader<Take<S>>>,
    buf: Vec<u8>,
    max_stanza: usize,
}

impl<S: AsyncRead + AsyncWrite + Unpin> XmlStream<S> {
    /// A stream over `transport` whose stanzas may be at most `max_stanza` bytes.
    pub(crate) fn new(transport: S, max_stanza: usize) -> Self {
        Self::from_buffered(BufReader::new(transport.take(max_stanza as u64)), max_stanza)
    }

    fn from_buffered(inner: BufReader<Take<S>>, max_stanza: usize) -> Self {
        let mut reader = NsReader::from_reader(inner);
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.trim_text(false);
        Self {
            reader,
            buf: Vec::new(),
            max_stanza,
        }
    }

    /// A new parser for a restarted stream (after SASL success), keeping whatever the
    /// transport already buffered.
    pub(crate) fn restart(self) -> Self {
        let max = self.max_stanza;
        Self::from_buffered(self.reader.into_inner(), max)
    }

    /// The transport, for a TLS upgrade. Refused when the server already sent bytes
    /// past `<proceed/>`: they would be plaintext injected ahead of the handshake.
    pub(crate) fn into_transport(self) -> Result<S, ReadError> {
        let buffered = self.reader.into_inner();
        if !buffered.buffer().is_empty() {
            return Err(ReadError::Malformed(
                "data after <proceed/>, before the TLS handshake".to_owned(),
            ));
        }
        Ok(buffered.into_inner().into_inner())
    }

    fn transport(&mut self) -> &mut S {
        self.reader.get_mut().get_mut().get_mut()
    }

    /// Writes raw, already escaped XML and flushes it.
    pub(crate) async fn send_raw(&mut self, xml: &str) -> io::Result<()> {
        let t = self.transport();
        t.write_all(xml.as_bytes()).await?;
        t.flush().await
    }

    /// Ends the transport (TLS close_notify, then TCP FIN).
    pub(crate) async fn shutdown(&mut self) -> io::Result<()> {
        self.transport().shutdown().await
    }

    fn reset_budget(&mut self) {
        self.reader.get_mut().get_mut().set_limit(self.max_stanza as u64);
    }

    fn budget_spent(&mut self) -> bool {
        self.reader.get_mut().get_mut().limit() == 0
    }

    fn map_error(&mut self, e: quick_xml::Error) -> ReadError {
        if self.budget_spent() {
            return ReadError::TooLarge(self.max_stanza);
        }
        match e {
            quick_xml::Error::Io(io) => ReadError::Io(io::Error::new(io.kind(), io.to_string())),
            other => ReadError::Malformed(other.to_string()),
        }
    }

    /// Reads the server's `<stream:stream>` opening tag (after an optional XML
    /// declaration) and returns it, without children.
    pub(crate) async fn read_stream_header(&mut self) -> Result<Element, ReadError> {
        self.reset_budget();
        loop {
            self.buf.clear();
            let (ns, event) = match self.reader.read_resolved_event_into_async(&mut self.buf).await {
                Ok((ns, event)) => (namespace(&ns), event),
                Err(e) => return Err(self.map_error(e)),
            };
            match event {
                Event::Decl(_) => {}
                Event::Text(t) if t.xml10_content().trim().is_empty() => {}
                Event::Start(start) => {
                    let ns = ns?;
                    let name = start.local_name();
                    if name.as_ref() != "stream" || ns != NS_STREAM {
                        return Err(ReadError::Malformed(format!(
                            "expected <stream:stream>, got <{}> in {ns:?}",
                            name.as_ref()
                        )));
                    }
                    let mut el = Element::new("stream", NS_STREAM);
                    el.attrs = attributes(&start)?;
                    return Ok(el);
                }
                Event::Eof => return Err(self.eof()),
                other => return Err(ReadError::Malformed(format!("expected <stream:stream>, got {other:?}"))),
            }
        }
    }

    fn eof(&mut self) -> ReadError {
        if self.budget_spent() {
            ReadError::TooLarge(self.max_stanza)
        } else {
            ReadError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ))
        }
    }

    /// Reads the next child of the stream: a whole stanza (or features, or a stream
    /// error), within the byte budget and depth limit.
    pub(crate) async fn read_stanza(&mut self) -> Result<Element, ReadError> {
        self.reset_budget();
        let mut stack: Vec<Element> = Vec::new();
        loop {
            self.buf.clear();
            let (ns, event) = match self.reader.read_resolved_event_into_async(&mut self.buf).await {
                Ok((ns, event)) => (namespace(&ns), event),
                Err(e) => return Err(self.map_error(e)),
            };
            match event {
                Event::Start(start) => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(ReadError::TooDeep);
                    }
                    let mut el = Element::new(start.local_name().as_ref(), &ns?);
                    el.attrs = attributes(&start)?;
                    stack.push(el);
                }
                Event::End(_) => match stack.pop() {
                    None => return Err(ReadError::Closed),
                    Some(el) => match stack.last_mut() {
                        Some(parent) => parent.children.push(Node::Element(el)),
                        None => return Ok(el),
                    },
                },
                Event::Text(t) => {
                    // Text between stanzas is whitespace keep-alive: ignored.
                    if let Some(top) = stack.last_mut() {
                        top.push_text(&t.xml10_content());
                    }
                }
                Event::CData(c) => {
                    if let Some(top) = stack.last_mut() {
                        top.push_text(&c.xml10_content());
                    }
                }
                Event::GeneralRef(r) => {
                    let resolved = if r.is_char_ref() {
                        match r.resolve_char_ref() {
                            Ok(Some(c)) if is_xml_char(c) => c.to_string(),
                            _ => {
                                return Err(ReadError::Malformed(format!(
                                    "bad character reference &{};",
                                    r.xml10_content()
                                )));
                            }
                        }
                    } else {
                        let name = r.xml10_content();
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(s) => s.to_owned(),
                            None => return Err(ReadError::Malformed(format!("undeclared entity &{name};"))),
                        }
                    };
                    if let Some(top) = stack.last_mut() {
                        top.push_text(&resolved);
                    }
                }
                Event::Eof => return Err(self.eof()),
                Event::Empty(_) => {
                    // expand_empty_elements turns these into Start + End.
                    return Err(ReadError::Malformed("unexpected empty-element event".to_owned()));
                }
                Event::Comment(_) | Event::PI(_) | Event::DocType(_) | Event::Decl(_) => {
                    return Err(ReadError::Malformed(
                        "comments, processing instructions and DTDs are not allowed in XMPP".to_owned(),
                    ));
                }
            }
        }
    }
}

fn namespace(ns: &ResolveResult<'_>) -> Result<String, ReadError> {
    match ns {
        ResolveResult::Bound(ns) => Ok(ns.as_ref().to_owned()),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(prefix) => Err(ReadError::Malformed(format!("undeclared prefix {prefix:?}"))),
    }
}

fn attributes(start: &quick_xml::events::BytesStart<'_>) -> Result<Vec<(String, String)>, ReadError> {
    let mut out = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| ReadError::Malformed(e.to_string()))?;
        let key = attr.key.as_ref();
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| ReadError::Malformed(e.to_string()))?;
        if let Some(c) = value.chars().find(|&c| !is_xml_char(c)) {
            return Err(ReadError::Malformed(format!(
                "character U+{:04X} in an attribute",
                u32::from(c)
            )));
        }
        out.push((key.to_owned(), value.into_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    async fn feed(server_bytes: &[u8], max: usize) -> (XmlStream<tokio::io::DuplexStream>, tokio::io::DuplexStream) {
        let (client, mut server) = duplex(1 << 20);
        server.write_all(server_bytes).await.unwrap();
        (XmlStream::new(client, max), server)
    }

    const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='d.test' id='x' version='1.0'>";

    #[test]
    fn serialisation_escapes_text_and_attributes() {
        let el = Element::new("iq", NS_CLIENT)
            .attr("to", "a'b\"c<d>&e")
            .child(Element::new("query", "urn:x").child(Element::new("v", "urn:x").text("<&>'\"\u{0}x")));
        assert_eq!(
            el.to_stanza(),
            "<iq to='a&apos;b&quot;c&lt;d&gt;&amp;e'><query xmlns='urn:x'><v>&lt;&amp;&gt;&apos;&quot;\u{FFFD}x</v></query></iq>"
        );
    }

    #[tokio::test]
    async fn reads_header_then_stanzas_with_namespaces_and_entities() {
        let input = format!(
            "{HEADER}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features> \n<iq type='result' id='a&amp;b'><x:q xmlns:x='urn:q'>1 &lt; 2 &#x41;<![CDATA[<raw>]]></x:q></iq>"
        );
        let (mut s, _server) = feed(input.as_bytes(), 4096).await;
        let header = s.read_stream_header().await.unwrap();
        assert_eq!(header.get_attr("version"), Some("1.0"));
        let features = s.read_stanza().await.unwrap();
        assert!(features.is("features", NS_STREAM));
        let mechs = features
            .get_child("mechanisms", "urn:ietf:params:xml:ns:xmpp-sasl")
            .unwrap();
        assert_eq!(mechs.elements().next().unwrap().text_content(), "SCRAM-SHA-1");
        let iq = s.read_stanza().await.unwrap();
        assert!(iq.is("iq", NS_CLIENT));
        assert_eq!(iq.get_attr("id"), Some("a&b"));
        let q = iq.get_child("q", "urn:q").unwrap();
        assert_eq!(q.text_content(), "1 < 2 A<raw>");
    }

    #[tokio::test]
    async fn end_of_stream_is_reported() {
        let input = format!("{HEADER}</stream:stream>");
        let (mut s, _server) = feed(input.as_bytes(), 4096).await;
        s.read_stream_header().await.unwrap();
        assert!(matches!(s.read_stanza().await, Err(ReadError::Closed)));
    }

    #[tokio::test]
    async fn a_stanza_over_the_budget_is_refused_without_reading_it_all() {
        let (client, mut server) = duplex(1 << 16);
        let mut s = XmlStream::new(client, 8 * 1024);
        let writer = tokio::spawn(async move {
            server.write_all(HEADER.as_bytes()).await?;
            server.write_all(b"<message><body>").await?;
            // An endless body: the reader must stop on its own.
            let chunk = vec![b'a'; 4096];
            for _ in 0..10_000 {
                server.write_all(&chunk).await?;
            }
            Ok::<_, io::Error>(())
        });
        s.read_stream_header().await.unwrap();
        assert!(matches!(s.read_stanza().await, Err(ReadError::TooLarge(8192))));
        writer.abort();
    }

    #[tokio::test]
    async fn the_budget_is_per_stanza() {
        let mut input = HEADER.to_owned();
        for i in 0..50 {
            input.push_str(&format!("<message id='{i}'><body>{}</body></message>", "b".repeat(500)));
        }
        let (mut s, _server) = feed(input.as_bytes(), 2048).await;
        s.read_stream_header().await.unwrap();
        for i in 0..50 {
            let m = s.read_stanza().await.unwrap();
            assert_eq!(m.get_attr("id"), Some(i.to_string().as_str()));
        }
    }

    #[tokio::test]
    async fn deep_nesting_is_refused() {
        let input = format!("{HEADER}{}", "<a>".repeat(MAX_DEPTH + 1));
        let (mut s, _server) = feed(input.as_bytes(), 4096).await;
        s.read_stream_header().await.unwrap();
        assert!(matches!(s.read_stanza().await, Err(ReadError::TooDeep)));
    }

    #[tokio::test]
    async fn forbidden_xml_is_refused() {
        for bad in [
            "<!DOCTYPE x [<!ENTITY a 'b'>]><iq/>",
            "<iq><!-- c --></iq>",
            "<iq><?pi x?></iq>",
            "<iq>&custom;</iq>",
            "<iq>&#0;</iq>",
            "<iq><p:x/></iq>",
            "<iq><a></b></iq>",
        ] {
            let input = format!("{HEADER}{bad}");
            let (mut s, _server) = feed(input.as_bytes(), 4096).await;
            s.read_stream_header().await.unwrap();
            let r = s.read_stanza().await;
            assert!(matches!(r, Err(ReadError::Malformed(_))), "{bad}: {r:?}");
        }
    }

    #[tokio::test]
    async fn closed_connection_is_an_io_error() {
        let (client, server) = duplex(1024);
        drop(server);
        let mut s = XmlStream::new(client, 4096);
        assert!(matches!(s.read_stream_header().await, Err(ReadError::Io(_))));
    }

    #[tokio::test]
    async fn only_a_stream_header_opens_the_stream() {
        let (mut s, _server) = feed(b"<html>", 4096).await;
        assert!(matches!(s.read_stream_header().await, Err(ReadError::Malformed(_))));
    }

    #[tokio::test]
    async fn bytes_after_proceed_block_the_tls_upgrade() {
        let input = format!("{HEADER}<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><iq/>");
        let (mut s, _server) = feed(input.as_bytes(), 4096).await;
        s.read_stream_header().await.unwrap();
        s.read_stanza().await.unwrap();
        assert!(matches!(s.into_transport(), Err(ReadError::Malformed(_))));
    }
}
