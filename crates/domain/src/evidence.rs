//! The evidence chain of an attendance sheet: the signatures of a session, sealed so that a
//! later change to any of them, or to their order or number, shows.
//!
//! Each [`SignatureRecord`] (who signed, for which half-day, when by the server's clock, from
//! which address and browser, and the SHA-256 of what was signed) has a canonical byte form
//! ([`SignatureRecord::canonical`], below), and the records of a session are chained:
//!
//! ```text
//! link_0 = HMAC-SHA256(key, "dialogue/evidence/v1/genesis" ‖ u64be(len(session_id)) ‖ session_id)
//! link_n = HMAC-SHA256(key, link_{n-1} ‖ canonical(record_n))          for n = 1, 2, …
//! ```
//!
//! The key is derived by the caller from the server's secret (32 bytes, [`EvidenceKey`]); the
//! database alone cannot forge a link. Beside each link's MAC, a [`Link`] keeps one short tag
//! per field (`HMAC-SHA256(key, "dialogue/evidence/v1/field" ‖ tag ‖ u64be(len) ‖ value)`, its
//! first [`FIELD_TAG_LEN`] bytes) so that [`verify`] can say which field of a record was
//! changed, not only which record. Every comparison of MACs and tags is constant-time.
//!
//! [`verify`] walks the chain and returns the [`Seal`] it ends with (how many records, the
//! last link). Removing records at the end leaves a valid, shorter chain: to detect it, keep
//! the latest seal apart from the records (for example on the session) and compare it with
//! what [`verify`] returns.
//!
//! # Canonical byte format, version 1
//!
//! ```text
//! record := 0x01 field{8}
//! field  := tag:u8 length:u64be value[length]
//!
//! tag  value
//!  1   signer kind: ASCII "participant" or "account"
//!  2   signer id: UTF-8, as given
//!  3   signer's display name: UTF-8, as given (no normalisation)
//!  4   half-day: year:i16be month:u8 day:u8 half:u8 (0 morning, 1 afternoon)
//!  5   server time: Unix seconds:i64be nanoseconds:i32be
//!  6   client address: 4 bytes (IPv4) or 16 bytes (IPv6), network order, as given
//!  7   user agent: UTF-8, as given
//!  8   SHA-256 of what was signed: 32 bytes (see [`content_digest`])
//! ```
//!
//! Every field is length-prefixed, so no two different records share a byte form. A stored
//! [`Link`] is `0x01 ‖ mac[32] ‖ tag_1[8] ‖ … ‖ tag_8[8]` ([`LINK_LEN`] bytes).

use crate::links::hex;
use std::fmt;
use std::net::IpAddr;

use jiff::Timestamp;
use ring::{digest, hmac};

use crate::attendance::{Half, HalfDay};

/// The version of the byte formats this module writes and reads.
pub const EVIDENCE_FORMAT_VERSION: u8 = 1;

/// Length of a field tag: the first bytes of its HMAC-SHA256.
pub const FIELD_TAG_LEN: usize = 8;

/// Length of a MAC (HMAC-SHA256).
pub const MAC_LEN: usize = 32;

/// Length of a stored [`Link`].
pub const LINK_LEN: usize = 1 + MAC_LEN + FIELD_TAG_LEN * Field::ALL.len();

const GENESIS_LABEL: &[u8] = b"dialogue/evidence/v1/genesis";
const FIELD_LABEL: &[u8] = b"dialogue/evidence/v1/field";
const CONTENT_LABEL: &[u8] = b"dialogue/evidence/v1/content";

/// The key that seals a session's signatures (32 bytes, derived by the caller from the
/// server's secret for this purpose only). `Debug` does not show it.
#[derive(Clone)]
pub struct EvidenceKey(hmac::Key);

impl EvidenceKey {
    /// A key from its 32 bytes.
    pub fn new(bytes: &[u8; 32]) -> EvidenceKey {
        EvidenceKey(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }
}

impl fmt::Debug for EvidenceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EvidenceKey(…)")
    }
}

/// Whether the signer is a participant of the session or an account (a trainer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignerKind {
    /// A participant (learner, guest, external moderator), by participant id.
    Participant,
    /// An account (trainer, manager), by account id.
    Account,
}

impl SignerKind {
    fn as_str(self) -> &'static str {
        match self {
            SignerKind::Participant => "participant",
            SignerKind::Account => "account",
        }
    }
}

/// Who signed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Signer {
    /// Participant or account.
    pub kind: SignerKind,
    /// The participant's or account's id.
    pub id: String,
    /// The name shown on the sheet when they signed.
    pub display_name: String,
}

/// One signature on an attendance sheet, as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SignatureRecord {
    /// Who signed.
    pub signer: Signer,
    /// The half-day signed for.
    pub half_day: HalfDay,
    /// When, by the server's clock.
    pub signed_at: Timestamp,
    /// The client's address, as the server determined it.
    pub client_address: IpAddr,
    /// The browser's `User-Agent`.
    pub user_agent: String,
    /// [`content_digest`] of what was signed.
    pub content_sha256: [u8; 32],
}

/// A field of a [`SignatureRecord`], in canonical order; its discriminant is its tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// [`Signer::kind`].
    SignerKind = 1,
    /// [`Signer::id`].
    SignerId = 2,
    /// [`Signer::display_name`].
    DisplayName = 3,
    /// [`SignatureRecord::half_day`].
    HalfDay = 4,
    /// [`SignatureRecord::signed_at`].
    SignedAt = 5,
    /// [`SignatureRecord::client_address`].
    ClientAddress = 6,
    /// [`SignatureRecord::user_agent`].
    UserAgent = 7,
    /// [`SignatureRecord::content_sha256`].
    ContentSha256 = 8,
}

impl Field {
    /// Every field, in canonical order.
    pub const ALL: [Field; 8] = [
        Field::SignerKind,
        Field::SignerId,
        Field::DisplayName,
        Field::HalfDay,
        Field::SignedAt,
        Field::ClientAddress,
        Field::UserAgent,
        Field::ContentSha256,
    ];

    /// The field's tag in the byte format.
    pub fn tag(self) -> u8 {
        self as u8
    }

    /// A stable name, e.g. `user_agent`.
    pub fn name(self) -> &'static str {
        match self {
            Field::SignerKind => "signer_kind",
            Field::SignerId => "signer_id",
            Field::DisplayName => "display_name",
            Field::HalfDay => "half_day",
            Field::SignedAt => "signed_at",
            Field::ClientAddress => "client_address",
            Field::UserAgent => "user_agent",
            Field::ContentSha256 => "content_sha256",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl SignatureRecord {
    /// The value of one field in the byte format (without tag and length).
    pub fn field_value(&self, field: Field) -> Vec<u8> {
        match field {
            Field::SignerKind => self.signer.kind.as_str().as_bytes().to_vec(),
            Field::SignerId => self.signer.id.as_bytes().to_vec(),
            Field::DisplayName => self.signer.display_name.as_bytes().to_vec(),
            Field::HalfDay => half_day_bytes(self.half_day).to_vec(),
            Field::SignedAt => {
                let mut out = Vec::with_capacity(12);
                out.extend_from_slice(&self.signed_at.as_second().to_be_bytes());
                out.extend_from_slice(&self.signed_at.subsec_nanosecond().to_be_bytes());
                out
            }
            Field::ClientAddress => match self.client_address {
                IpAddr::V4(a) => a.octets().to_vec(),
                IpAddr::V6(a) => a.octets().to_vec(),
            },
            Field::UserAgent => self.user_agent.as_bytes().to_vec(),
            Field::ContentSha256 => self.content_sha256.to_vec(),
        }
    }

    /// The canonical byte form (version 1, see the module documentation).
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = vec![EVIDENCE_FORMAT_VERSION];
        for field in Field::ALL {
            out.push(field.tag());
            push_prefixed(&mut out, &self.field_value(field));
        }
        out
    }
}

/// What a person signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedContent<'a> {
    /// The drawn signature, as the PNG the browser sent.
    Png(&'a [u8]),
    /// A typed name, as typed.
    TypedName(&'a str),
}

/// The SHA-256 of what was signed together with what it applies to:
/// `SHA-256("dialogue/evidence/v1/content" ‖ u64be(len) ‖ session_id ‖ half-day[5] ‖ kind ‖
/// u64be(len) ‖ content)`, with kind `0x01` for a PNG and `0x02` for a typed name, and the
/// half-day in the record's format.
pub fn content_digest(session_id: &str, half_day: HalfDay, content: SignedContent<'_>) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(CONTENT_LABEL);
    ctx.update(&(session_id.len() as u64).to_be_bytes());
    ctx.update(session_id.as_bytes());
    ctx.update(&half_day_bytes(half_day));
    let (kind, bytes) = match content {
        SignedContent::Png(png) => (1u8, png),
        SignedContent::TypedName(name) => (2u8, name.as_bytes()),
    };
    ctx.update(&[kind]);
    ctx.update(&(bytes.len() as u64).to_be_bytes());
    ctx.update(bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The seal of one record: the chain's MAC at this record and one tag per field.
#[derive(Clone)]
pub struct Link {
    mac: [u8; MAC_LEN],
    field_tags: [[u8; FIELD_TAG_LEN]; Field::ALL.len()],
}

impl Link {
    /// The chain's MAC at this record (`link_n`).
    pub fn mac(&self) -> &[u8; MAC_LEN] {
        &self.mac
    }

    /// The stored form: `0x01 ‖ mac ‖ tags` ([`LINK_LEN`] bytes).
    pub fn to_bytes(&self) -> [u8; LINK_LEN] {
        let mut out = [0u8; LINK_LEN];
        out[0] = EVIDENCE_FORMAT_VERSION;
        out[1..1 + MAC_LEN].copy_from_slice(&self.mac);
        for (i, tag) in self.field_tags.iter().enumerate() {
            let at = 1 + MAC_LEN + i * FIELD_TAG_LEN;
            out[at..at + FIELD_TAG_LEN].copy_from_slice(tag);
        }
        out
    }

    /// Reads the stored form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Link, LinkFormatError> {
        if bytes.len() != LINK_LEN {
            return Err(LinkFormatError::Length(bytes.len()));
        }
        if bytes[0] != EVIDENCE_FORMAT_VERSION {
            return Err(LinkFormatError::Version(bytes[0]));
        }
        let mut link = Link {
            mac: [0; MAC_LEN],
            field_tags: [[0; FIELD_TAG_LEN]; Field::ALL.len()],
        };
        link.mac.copy_from_slice(&bytes[1..1 + MAC_LEN]);
        for (i, tag) in link.field_tags.iter_mut().enumerate() {
            let at = 1 + MAC_LEN + i * FIELD_TAG_LEN;
            tag.copy_from_slice(&bytes[at..at + FIELD_TAG_LEN]);
        }
        Ok(link)
    }
}

impl PartialEq for Link {
    fn eq(&self, other: &Self) -> bool {
        constant_time_eq(&self.to_bytes(), &other.to_bytes())
    }
}

impl Eq for Link {}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Link({})", hex(&self.mac))
    }
}

/// Why stored link bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkFormatError {
    /// Not [`LINK_LEN`] bytes long.
    #[error("an evidence link is {LINK_LEN} bytes long, not {0}")]
    Length(usize),
    /// A version this code does not know.
    #[error("unknown evidence link version {0}")]
    Version(u8),
}

/// Where a chain stands: how many records it seals and its last link (`link_0` for none).
/// Equality is constant-time.
#[derive(Clone)]
pub struct Seal {
    count: usize,
    head: [u8; MAC_LEN],
}

impl Seal {
    /// A seal read back from storage.
    pub fn new(count: usize, head: [u8; MAC_LEN]) -> Seal {
        Seal { count, head }
    }

    /// How many records the chain seals.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The chain's last MAC.
    pub fn head(&self) -> &[u8; MAC_LEN] {
        &self.head
    }
}

impl PartialEq for Seal {
    fn eq(&self, other: &Self) -> bool {
        // Both sides are compared in full, whatever differs.
        let same_head = constant_time_eq(&self.head, &other.head);
        same_head & (self.count == other.count)
    }
}

impl Eq for Seal {}

impl fmt::Debug for Seal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seal({} records, {})", self.count, hex(&self.head))
    }
}

/// The first place where stored records and links disagree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("evidence record {index}: {kind}")]
pub struct Tampered {
    /// The index (from 0) of the first record that fails.
    pub index: usize,
    /// How it fails.
    pub kind: TamperKind,
}

impl Tampered {
    /// The first field found changed, when the failure is a changed record.
    pub fn field(&self) -> Option<Field> {
        match &self.kind {
            TamperKind::Altered { fields } => fields.first().copied(),
            _ => None,
        }
    }
}

/// How a record fails verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TamperKind {
    /// The record differs from the one sealed at this place in these fields (a changed
    /// record, or another record put in its place).
    Altered {
        /// The fields whose tags do not match, in canonical order.
        fields: Vec<Field>,
    },
    /// The record is one that was sealed, but not after the records before it: a record was
    /// removed, inserted or moved before it, or it was moved, or its stored MAC was changed.
    Unchained,
    /// The record and the chain agree but the link's field tags were changed.
    LinkAltered,
    /// There are more records than links: this record has none.
    MissingLink,
    /// There are more links than records: this link has no record.
    MissingRecord,
}

impl fmt::Display for TamperKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TamperKind::Altered { fields } => {
                f.write_str("changed (")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(field.name())?;
                }
                f.write_str(")")
            }
            TamperKind::Unchained => f.write_str("out of sequence (records removed, inserted or moved)"),
            TamperKind::LinkAltered => f.write_str("its stored link was changed"),
            TamperKind::MissingLink => f.write_str("no link for this record"),
            TamperKind::MissingRecord => f.write_str("a link without its record"),
        }
    }
}

/// The start of a session's chain (no record yet): `link_0`.
pub fn genesis(key: &EvidenceKey, session_id: &str) -> Seal {
    let mut ctx = hmac::Context::with_key(&key.0);
    ctx.update(GENESIS_LABEL);
    ctx.update(&(session_id.len() as u64).to_be_bytes());
    ctx.update(session_id.as_bytes());
    Seal {
        count: 0,
        head: mac_bytes(ctx.sign()),
    }
}

/// Seals one more record after `seal`: its link, and the chain's new seal.
pub fn append(key: &EvidenceKey, seal: &Seal, record: &SignatureRecord) -> (Link, Seal) {
    let link = link_for(key, &seal.head, record);
    let next = Seal {
        count: seal.count + 1,
        head: link.mac,
    };
    (link, next)
}

/// Seals a session's records, in order: one link per record.
pub fn seal(key: &EvidenceKey, session_id: &str, records: &[SignatureRecord]) -> Vec<Link> {
    let mut current = genesis(key, session_id);
    records
        .iter()
        .map(|record| {
            let (link, next) = append(key, &current, record);
            current = next;
            link
        })
        .collect()
}

/// Checks a session's records against their stored links, in order, and returns the seal
/// the chain ends with, or the first record that fails and how.
pub fn verify(
    key: &EvidenceKey,
    session_id: &str,
    records: &[SignatureRecord],
    links: &[Link],
) -> Result<Seal, Tampered> {
    let mut current = genesis(key, session_id);
    for index in 0..records.len().max(links.len()) {
        let (record, stored) = match (records.get(index), links.get(index)) {
            (Some(record), Some(stored)) => (record, stored),
            (Some(_), None) => {
                return Err(Tampered {
                    index,
                    kind: TamperKind::MissingLink,
                });
            }
            _ => {
                return Err(Tampered {
                    index,
                    kind: TamperKind::MissingRecord,
                });
            }
        };
        let expected = link_for(key, &current.head, record);
        let chained = constant_time_eq(&expected.mac, &stored.mac);
        let altered: Vec<Field> = Field::ALL
            .into_iter()
            .zip(expected.field_tags.iter().zip(&stored.field_tags))
            .filter(|(_, (e, s))| !constant_time_eq(*e, *s))
            .map(|(field, _)| field)
            .collect();
        let kind = match (chained, altered.is_empty()) {
            (true, true) => {
                current = Seal {
                    count: index + 1,
                    head: expected.mac,
                };
                continue;
            }
            (true, false) => TamperKind::LinkAltered,
            (false, false) => TamperKind::Altered { fields: altered },
            (false, true) => TamperKind::Unchained,
        };
        return Err(Tampered { index, kind });
    }
    Ok(current)
}

fn link_for(key: &EvidenceKey, previous: &[u8; MAC_LEN], record: &SignatureRecord) -> Link {
    let mut ctx = hmac::Context::with_key(&key.0);
    ctx.update(previous);
    ctx.update(&record.canonical());
    let mac = mac_bytes(ctx.sign());
    let mut field_tags = [[0u8; FIELD_TAG_LEN]; Field::ALL.len()];
    for (field, tag) in Field::ALL.into_iter().zip(field_tags.iter_mut()) {
        let mut ctx = hmac::Context::with_key(&key.0);
        ctx.update(FIELD_LABEL);
        ctx.update(&[field.tag()]);
        let value = record.field_value(field);
        ctx.update(&(value.len() as u64).to_be_bytes());
        ctx.update(&value);
        tag.copy_from_slice(&ctx.sign().as_ref()[..FIELD_TAG_LEN]);
    }
    Link { mac, field_tags }
}

fn mac_bytes(tag: hmac::Tag) -> [u8; MAC_LEN] {
    let mut out = [0u8; MAC_LEN];
    // HMAC-SHA256 tags are always 32 bytes long.
    out.copy_from_slice(tag.as_ref());
    out
}

fn half_day_bytes(half_day: HalfDay) -> [u8; 5] {
    let [y0, y1] = half_day.date.year().to_be_bytes();
    let [month] = half_day.date.month().to_be_bytes();
    let [day] = half_day.date.day().to_be_bytes();
    let half = match half_day.half {
        Half::Morning => 0,
        Half::Afternoon => 1,
    };
    [y0, y1, month, day, half]
}

fn push_prefixed(out: &mut Vec<u8>, value: &[u8]) {
    out.extend_from_slice(&(value.len() as u64).to_be_bytes());
    out.extend_from_slice(value);
}

/// Compares two byte strings in a time that depends on their length only, not on where
/// they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // `black_box` keeps the optimiser from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const KEY: [u8; 32] = [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
        30, 31,
    ];

    fn key() -> EvidenceKey {
        EvidenceKey::new(&KEY)
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The record of the golden vector below.
    fn golden() -> SignatureRecord {
        let half_day = HalfDay::morning(date(2026, 3, 30));
        SignatureRecord {
            signer: Signer {
                kind: SignerKind::Participant,
                id: "p-42".into(),
                display_name: "Zoé Martin".into(),
            },
            half_day,
            signed_at: "2026-03-30T07:05:09.5Z".parse().unwrap(),
            client_address: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
            user_agent: "Mozilla/5.0 (X11; Linux x86_64)".into(),
            content_sha256: content_digest("s-1", half_day, SignedContent::TypedName("Zoé Martin")),
        }
    }

    /// Four signatures of one session, all fields varied.
    fn records() -> Vec<SignatureRecord> {
        let d = date(2026, 3, 30);
        let record = |n: u8, kind, half_day: HalfDay, address: IpAddr| SignatureRecord {
            signer: Signer {
                kind,
                id: format!("id-{n}"),
                display_name: format!("Personne {n}"),
            },
            half_day,
            signed_at: Timestamp::from_second(1_774_854_000 + i64::from(n) * 60).unwrap(),
            client_address: address,
            user_agent: format!("agent {n}"),
            content_sha256: content_digest("s-1", half_day, SignedContent::Png(&[n; 40])),
        };
        vec![
            record(
                1,
                SignerKind::Account,
                HalfDay::morning(d),
                IpAddr::V4(Ipv4Addr::LOCALHOST),
            ),
            record(
                2,
                SignerKind::Participant,
                HalfDay::morning(d),
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
            ),
            record(
                3,
                SignerKind::Participant,
                HalfDay::afternoon(d),
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3)),
            ),
            record(
                4,
                SignerKind::Participant,
                HalfDay::afternoon(d),
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 4)),
            ),
        ]
    }

    /// The byte format and the chain, computed independently with Python's `hmac` and
    /// `hashlib` from the documented format:
    ///
    /// ```text
    /// import hmac, hashlib, struct, datetime, ipaddress
    /// key = bytes(range(32)); sid = b"s-1"
    /// def lp(b): return struct.pack(">Q", len(b)) + b
    /// hd = struct.pack(">hBBB", 2026, 3, 30, 0); name = "Zoé Martin".encode()
    /// content = hashlib.sha256(b"dialogue/evidence/v1/content" + lp(sid) + hd + b"\x02" + lp(name)).digest()
    /// secs = int(datetime.datetime(2026,3,30,7,5,9,tzinfo=datetime.timezone.utc).timestamp())
    /// fields = [b"participant", b"p-42", name, hd, struct.pack(">qi", secs, 500_000_000),
    ///           ipaddress.ip_address("203.0.113.7").packed, b"Mozilla/5.0 (X11; Linux x86_64)", content]
    /// canon = b"\x01" + b"".join(bytes([i+1]) + lp(v) for i, v in enumerate(fields))
    /// link0 = hmac.new(key, b"dialogue/evidence/v1/genesis" + lp(sid), hashlib.sha256).digest()
    /// link1 = hmac.new(key, link0 + canon, hashlib.sha256).digest()
    /// tags = [hmac.new(key, b"dialogue/evidence/v1/field" + bytes([i+1]) + lp(v), hashlib.sha256).digest()[:8]
    ///         for i, v in enumerate(fields)]
    /// print(content.hex(), canon.hex(), link0.hex(), (b"\x01" + link1 + b"".join(tags)).hex())
    /// ```
    #[test]
    fn golden_vector_from_an_independent_implementation() {
        let record = golden();
        assert_eq!(
            record.content_sha256.to_vec(),
            unhex("7745dd5783f5af7589908d6128c0efbc5864300601cc003b0d10aee855ac5be7")
        );
        assert_eq!(
            record.canonical(),
            unhex(concat!(
                "0101000000000000000b7061727469636970616e74020000000000000004702d343203000000000000000b",
                "5a6fc3a9204d617274696e04000000000000000507ea031e0005000000000000000c0000000069ca20a5",
                "1dcd6500060000000000000004cb00710707000000000000001f4d6f7a696c6c612f352e3020285831313b",
                "204c696e7578207838365f3634290800000000000000207745dd5783f5af7589908d6128c0efbc586430",
                "0601cc003b0d10aee855ac5be7"
            ))
        );
        let start = genesis(&key(), "s-1");
        assert_eq!(start.count(), 0);
        assert_eq!(
            start.head().to_vec(),
            unhex("14a0bb4e7eb864d168a1a9dd5416543eaa4f6a962202c9c1af4b630e7adfbbd3")
        );
        let links = seal(&key(), "s-1", std::slice::from_ref(&record));
        let stored = unhex(concat!(
            "015d3d522a7ea1152260e703436576d65ab3a401200bd951cf0e1dfd007ca45e2a",
            "667fae58d935b887aca9baec5e5faf25cd078e96e19656cf790dd031afb64e8a6d08a0f7cc7d2a5f63",
            "0b32406c938bc0efda6aca470da7282b67be51995b51d2"
        ));
        assert_eq!(links[0].to_bytes().to_vec(), stored);
        assert_eq!(Link::from_bytes(&stored).unwrap(), links[0]);
        let sealed = verify(&key(), "s-1", &[record], &links).unwrap();
        assert_eq!(sealed.count(), 1);
        assert_eq!(sealed.head(), links[0].mac());
    }

    #[test]
    fn an_intact_chain_verifies_and_ends_with_the_appended_seal() {
        let records = records();
        let links = seal(&key(), "s-1", &records);
        assert_eq!(links.len(), records.len());
        // Appending one at a time gives the same links and seal.
        let mut current = genesis(&key(), "s-1");
        for (record, link) in records.iter().zip(&links) {
            let (appended, next) = append(&key(), &current, record);
            assert_eq!(&appended, link);
            current = next;
        }
        assert_eq!(verify(&key(), "s-1", &records, &links), Ok(current.clone()));
        assert_eq!(current.count(), 4);
        assert_eq!(current, Seal::new(4, *links[3].mac()));
        // An empty sheet verifies to its genesis.
        assert_eq!(verify(&key(), "s-1", &[], &[]), Ok(genesis(&key(), "s-1")));
        // Links survive their stored form.
        let reread: Vec<Link> = links.iter().map(|l| Link::from_bytes(&l.to_bytes()).unwrap()).collect();
        assert_eq!(verify(&key(), "s-1", &records, &reread), Ok(current));
    }

    /// Changes one field of a record to another valid value.
    fn alter(record: &mut SignatureRecord, field: Field) {
        match field {
            Field::SignerKind => {
                record.signer.kind = match record.signer.kind {
                    SignerKind::Account => SignerKind::Participant,
                    SignerKind::Participant => SignerKind::Account,
                }
            }
            Field::SignerId => record.signer.id.push('x'),
            Field::DisplayName => record.signer.display_name = record.signer.display_name.to_uppercase(),
            Field::HalfDay => {
                record.half_day.half = match record.half_day.half {
                    Half::Morning => Half::Afternoon,
                    Half::Afternoon => Half::Morning,
                }
            }
            Field::SignedAt => record.signed_at += jiff::SignedDuration::from_nanos(1),
            Field::ClientAddress => {
                record.client_address = match record.client_address {
                    IpAddr::V4(a) => IpAddr::V6(a.to_ipv6_mapped()),
                    IpAddr::V6(_) => IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
                }
            }
            Field::UserAgent => record.user_agent.push(' '),
            Field::ContentSha256 => record.content_sha256[31] ^= 1,
        }
    }

    #[test]
    fn any_changed_field_of_any_record_is_found_at_that_record() {
        let records = records();
        let links = seal(&key(), "s-1", &records);
        for index in 0..records.len() {
            for field in Field::ALL {
                let mut changed = records.clone();
                alter(&mut changed[index], field);
                assert_ne!(changed[index], records[index]);
                let err = verify(&key(), "s-1", &changed, &links).unwrap_err();
                assert_eq!(
                    err,
                    Tampered {
                        index,
                        kind: TamperKind::Altered { fields: vec![field] }
                    },
                    "{field} of record {index}"
                );
                assert_eq!(err.field(), Some(field));
            }
        }
        // Several fields at once are all named.
        let mut changed = records.clone();
        alter(&mut changed[2], Field::UserAgent);
        alter(&mut changed[2], Field::SignedAt);
        let err = verify(&key(), "s-1", &changed, &links).unwrap_err();
        assert_eq!(
            err.kind,
            TamperKind::Altered {
                fields: vec![Field::SignedAt, Field::UserAgent]
            }
        );
        assert_eq!(err.to_string(), "evidence record 2: changed (signed_at, user_agent)");
    }

    #[test]
    fn reordering_deleting_and_inserting_are_found() {
        let records = records();
        let links = seal(&key(), "s-1", &records);
        let fails_at = |records: &[SignatureRecord], links: &[Link]| verify(&key(), "s-1", records, links).unwrap_err();

        // Two records swapped with their links: both intact, out of sequence.
        let (mut r, mut l) = (records.clone(), links.clone());
        r.swap(1, 2);
        l.swap(1, 2);
        assert_eq!(
            fails_at(&r, &l),
            Tampered {
                index: 1,
                kind: TamperKind::Unchained
            }
        );
        // Two records swapped, links left in place: each place holds another record.
        let mut r = records.clone();
        r.swap(2, 3);
        let err = fails_at(&r, &links);
        assert_eq!(err.index, 2);
        assert!(matches!(err.kind, TamperKind::Altered { .. }));

        // A record deleted with its link, in the middle or first.
        for index in [0, 1, 2] {
            let (mut r, mut l) = (records.clone(), links.clone());
            r.remove(index);
            l.remove(index);
            assert_eq!(
                fails_at(&r, &l),
                Tampered {
                    index,
                    kind: TamperKind::Unchained
                }
            );
        }
        // A record deleted without its link, and the other way round.
        let mut r = records.clone();
        r.remove(3);
        assert_eq!(
            fails_at(&r, &links),
            Tampered {
                index: 3,
                kind: TamperKind::MissingRecord
            }
        );
        let mut l = links.clone();
        l.pop();
        assert_eq!(
            fails_at(&records, &l),
            Tampered {
                index: 3,
                kind: TamperKind::MissingLink
            }
        );
        // The last record deleted with its link leaves a valid, shorter chain: the seal kept
        // apart tells.
        let full = verify(&key(), "s-1", &records, &links).unwrap();
        let shorter = verify(&key(), "s-1", &records[..3], &links[..3]).unwrap();
        assert_ne!(shorter, full);
        assert_eq!(shorter.count(), 3);

        // A copy of a record inserted with a copy of its link.
        let (mut r, mut l) = (records.clone(), links.clone());
        r.insert(2, records[0].clone());
        l.insert(2, links[0].clone());
        assert_eq!(
            fails_at(&r, &l),
            Tampered {
                index: 2,
                kind: TamperKind::Unchained
            }
        );
        // A new record inserted with a link made under another key.
        let forged = SignatureRecord {
            signer: Signer {
                kind: SignerKind::Participant,
                id: "intrus".into(),
                display_name: "Intrus".into(),
            },
            ..records[1].clone()
        };
        let other_key = EvidenceKey::new(&[7; 32]);
        let (forged_link, _) = append(&other_key, &Seal::new(1, *links[0].mac()), &forged);
        let (mut r, mut l) = (records.clone(), links.clone());
        r.insert(1, forged);
        l.insert(1, forged_link);
        let err = fails_at(&r, &l);
        assert_eq!(err.index, 1);
        assert!(matches!(err.kind, TamperKind::Altered { .. }));
    }

    #[test]
    fn another_key_session_or_changed_link_fails() {
        let records = records();
        let links = seal(&key(), "s-1", &records);
        let err = verify(&EvidenceKey::new(&[9; 32]), "s-1", &records, &links).unwrap_err();
        assert_eq!(err.index, 0);
        assert!(matches!(err.kind, TamperKind::Altered { .. }));
        // The same records presented as another session's.
        assert_eq!(
            verify(&key(), "s-2", &records, &links),
            Err(Tampered {
                index: 0,
                kind: TamperKind::Unchained
            })
        );
        // A changed MAC, and changed field tags, in the stored links.
        for (at, kind) in [(5, TamperKind::Unchained), (LINK_LEN - 1, TamperKind::LinkAltered)] {
            let mut bytes = links[2].to_bytes();
            bytes[at] ^= 0x80;
            let mut l = links.clone();
            l[2] = Link::from_bytes(&bytes).unwrap();
            assert_eq!(verify(&key(), "s-1", &records, &l), Err(Tampered { index: 2, kind }));
        }
    }

    #[test]
    fn link_format_errors() {
        let link = seal(&key(), "s-1", &records()[..1]).remove(0);
        let bytes = link.to_bytes();
        assert_eq!(bytes.len(), 97);
        assert_eq!(Link::from_bytes(&bytes[..96]), Err(LinkFormatError::Length(96)));
        let mut v2 = bytes;
        v2[0] = 2;
        assert_eq!(Link::from_bytes(&v2), Err(LinkFormatError::Version(2)));
    }

    #[test]
    fn content_digests_bind_what_was_signed_to_its_session_and_half_day() {
        let d = HalfDay::morning(date(2026, 3, 30));
        let name = content_digest("s-1", d, SignedContent::TypedName("Zoé"));
        let others = [
            content_digest("s-2", d, SignedContent::TypedName("Zoé")),
            content_digest(
                "s-1",
                HalfDay::afternoon(date(2026, 3, 30)),
                SignedContent::TypedName("Zoé"),
            ),
            content_digest("s-1", d, SignedContent::Png("Zoé".as_bytes())),
            content_digest("s-1", d, SignedContent::TypedName("Zoe")),
        ];
        for other in others {
            assert_ne!(name, other);
        }
        assert_eq!(name, content_digest("s-1", d, SignedContent::TypedName("Zoé")));
    }

    #[test]
    fn macs_are_compared_in_constant_time() {
        // The comparison used for every MAC and tag: right answers for a difference at any
        // position (its time depends on the length only; measuring it is not a unit test).
        let a = [0x5au8; 32];
        assert!(constant_time_eq(&a, &a));
        for i in 0..32 {
            for bit in 0..8 {
                let mut b = a;
                b[i] ^= 1 << bit;
                assert!(!constant_time_eq(&a, &b), "byte {i}, bit {bit}");
            }
        }
        assert!(!constant_time_eq(&a, &a[..31]));
        assert!(constant_time_eq(&[], &[]));
        // Links and seals compare through it.
        let links = seal(&key(), "s-1", &records());
        assert_eq!(links[0], links[0].clone());
        assert_ne!(links[0], links[1]);
        assert_ne!(Seal::new(1, [0; 32]), Seal::new(2, [0; 32]));
        assert_ne!(Seal::new(1, [0; 32]), Seal::new(1, [1; 32]));
    }

    #[test]
    fn the_key_is_not_printed() {
        assert_eq!(format!("{:?}", key()), "EvidenceKey(…)");
        let seal = genesis(&key(), "s-1");
        assert!(format!("{seal:?}").starts_with("Seal(0 records, 14a0bb4e"));
    }
}
