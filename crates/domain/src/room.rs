//! Jitsi room names.
//!
//! A room name is made by the server, never chosen by a client: a readable slug of the session's
//! title followed by 128 random bits, so that it can be recognised in Jitsi's logs and cannot be
//! guessed. The randomness is supplied by the caller, which keeps this crate free of I/O.
//!
//! Names are lowercase ASCII letters, digits and single hyphens: Prosody lowercases room names
//! and they travel in URLs and JIDs, where anything else needs escaping.

use std::fmt;
use std::str::FromStr;

/// The longest slug kept from a title, in characters.
pub const MAX_SLUG_LEN: usize = 40;

/// The length of the random suffix: 128 bits in base32 without padding.
pub const SUFFIX_LEN: usize = 26;

/// The longest name [`RoomName::generate`] makes: slug, hyphen, suffix.
pub const MAX_GENERATED_LEN: usize = MAX_SLUG_LEN + 1 + SUFFIX_LEN;

/// The longest name [`RoomName::parse`] accepts.
pub const MAX_LEN: usize = 200;

/// The slug used when nothing readable is left of the title.
pub const FALLBACK_SLUG: &str = "session";

/// A valid Jitsi room name: `[a-z0-9]+` words joined by single hyphens, 1 to 200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomName(String);

/// Why a text is not a valid room name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomNameError {
    /// Nothing was given.
    #[error("the room name is empty")]
    Empty,
    /// More than [`MAX_LEN`] characters.
    #[error("the room name has {len} characters, at most {max} are allowed", max = MAX_LEN)]
    TooLong {
        /// Its length in characters.
        len: usize,
    },
    /// A character other than `a`-`z`, `0`-`9` and `-`.
    #[error("the room name contains {character:?} at position {position}: only a-z, 0-9 and - are allowed")]
    InvalidCharacter {
        /// The offending character.
        character: char,
        /// Its position, counted in characters from 0.
        position: usize,
    },
    /// The name starts with a hyphen.
    #[error("the room name starts with a hyphen")]
    LeadingHyphen,
    /// The name ends with a hyphen.
    #[error("the room name ends with a hyphen")]
    TrailingHyphen,
    /// Two hyphens in a row.
    #[error("the room name has two hyphens in a row at position {position}")]
    DoubleHyphen {
        /// The position of the second hyphen, counted in characters from 0.
        position: usize,
    },
}

impl RoomName {
    /// Makes the room name of a session titled `title`: `<slug>-<suffix>`.
    ///
    /// The slug is `title` folded to lowercase ASCII ([`slugify`]); the suffix is `random` in
    /// lowercase base32 ([`base32_lower`], 26 characters). `random` must come from a
    /// cryptographically secure generator: it is what makes the name unguessable.
    pub fn generate(title: &str, random: [u8; 16]) -> RoomName {
        let mut name = slugify(title);
        name.push('-');
        name.push_str(&base32_lower(&random));
        RoomName(name)
    }

    /// Validates a stored or received room name. Nothing is changed: a name with uppercase
    /// letters is refused, not lowercased.
    pub fn parse(name: &str) -> Result<RoomName, RoomNameError> {
        if name.is_empty() {
            return Err(RoomNameError::Empty);
        }
        let len = name.chars().count();
        if len > MAX_LEN {
            return Err(RoomNameError::TooLong { len });
        }
        let mut previous_hyphen = false;
        for (position, character) in name.chars().enumerate() {
            match character {
                'a'..='z' | '0'..='9' => previous_hyphen = false,
                '-' if position == 0 => return Err(RoomNameError::LeadingHyphen),
                '-' if previous_hyphen => return Err(RoomNameError::DoubleHyphen { position }),
                '-' => previous_hyphen = true,
                _ => {
                    return Err(RoomNameError::InvalidCharacter { character, position });
                }
            }
        }
        if previous_hyphen {
            return Err(RoomNameError::TrailingHyphen);
        }
        Ok(RoomName(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RoomName {
    type Err = RoomNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RoomName::parse(s)
    }
}

impl TryFrom<String> for RoomName {
    type Error = RoomNameError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        RoomName::parse(&s)
    }
}

impl From<RoomName> for String {
    fn from(name: RoomName) -> String {
        name.0
    }
}

impl AsRef<str> for RoomName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Encodes `bytes` in base32 with the RFC 4648 alphabet in lowercase (`a`-`z`, `2`-`7`),
/// without padding: 16 bytes give 26 characters.
pub fn base32_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u16 = 0;
    let mut bits: u32 = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[usize::from((buffer >> bits) & 0x1f)]));
        }
        // Keep only the bits not yet written (fewer than 5), so the shift above never loses any.
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[usize::from((buffer << (5 - bits)) & 0x1f)]));
    }
    out
}

/// The readable part of a room name: `title` lowercased and folded to ASCII.
///
/// - Letters of the Latin-1 Supplement and Latin Extended-A blocks lose their accents
///   (`é`→`e`, `ç`→`c`, `ł`→`l`, `đ`→`d`) or are spelled out (`œ`→`oe`, `æ`→`ae`, `ß`→`ss`,
///   `þ`→`th`); combining accents (titles typed in decomposed form) are dropped.
/// - ASCII letters and digits are kept, lowercased.
/// - Everything else (spaces, punctuation, CJK, emoji, ...) separates words; runs of
///   separators become one hyphen, and none is left at either end.
/// - The result has at most [`MAX_SLUG_LEN`] characters. A longer one is cut at its last
///   hyphen when that keeps at least half of the allowed length, otherwise in the middle of
///   a word.
/// - When nothing is left, the result is [`FALLBACK_SLUG`].
///
/// The result always matches `^[a-z0-9]+(-[a-z0-9]+)*$`.
pub fn slugify(title: &str) -> String {
    let mut slug = String::with_capacity(MAX_SLUG_LEN + 8);
    let mut pending_hyphen = false;
    // Stop once enough is kept to decide where to cut: MAX_SLUG_LEN characters and the next
    // one, so that a word ending exactly at the limit is seen to be whole.
    for c in title.chars() {
        if slug.len() > MAX_SLUG_LEN {
            break;
        }
        match fold(c) {
            Folded::Text(text) => {
                if pending_hyphen && !slug.is_empty() {
                    slug.push('-');
                }
                pending_hyphen = false;
                slug.push_str(text);
            }
            Folded::Char(ch) => {
                if pending_hyphen && !slug.is_empty() {
                    slug.push('-');
                }
                pending_hyphen = false;
                slug.push(ch);
            }
            Folded::Ignore => {}
            Folded::Separator => pending_hyphen = true,
        }
    }
    if slug.len() > MAX_SLUG_LEN {
        // The slug is ASCII, so byte indices are character indices.
        let cut = if slug.as_bytes()[MAX_SLUG_LEN] == b'-' {
            MAX_SLUG_LEN
        } else {
            match slug[..MAX_SLUG_LEN].rfind('-') {
                Some(at) if at >= MAX_SLUG_LEN / 2 => at,
                _ => MAX_SLUG_LEN,
            }
        };
        slug.truncate(cut);
        while slug.ends_with('-') {
            slug.pop();
        }
    }
    if slug.is_empty() {
        slug.push_str(FALLBACK_SLUG);
    }
    slug
}

/// What one character of a title becomes in a slug.
enum Folded {
    /// An ASCII letter or digit, lowercased.
    Char(char),
    /// One or more lowercase ASCII letters.
    Text(&'static str),
    /// Nothing, not even a separator (combining accents).
    Ignore,
    /// A word boundary.
    Separator,
}

fn fold(c: char) -> Folded {
    if c.is_ascii_alphanumeric() {
        return Folded::Char(c.to_ascii_lowercase());
    }
    if ('\u{0300}'..='\u{036f}').contains(&c) {
        return Folded::Ignore;
    }
    match fold_latin(c) {
        Some(text) => Folded::Text(text),
        None => Folded::Separator,
    }
}

/// The ASCII spelling of the letters of Latin-1 Supplement (U+00C0..U+00FF, plus the ordinal
/// indicators and superscript digits), Latin Extended-A (U+0100..U+017F), and the Romanian
/// comma-below letters of Latin Extended-B.
fn fold_latin(c: char) -> Option<&'static str> {
    let s = match c {
        'ª' => "a",
        'º' => "o",
        '²' => "2",
        '³' => "3",
        '¹' => "1",
        'µ' => "u",
        'À'..='Å' | 'à'..='å' => "a",
        'Æ' | 'æ' => "ae",
        'Ç' | 'ç' => "c",
        'È'..='Ë' | 'è'..='ë' => "e",
        'Ì'..='Ï' | 'ì'..='ï' => "i",
        'Ð' | 'ð' => "d",
        'Ñ' | 'ñ' => "n",
        'Ò'..='Ö' | 'ò'..='ö' | 'Ø' | 'ø' => "o",
        'Ù'..='Ü' | 'ù'..='ü' => "u",
        'Ý' | 'ý' | 'ÿ' => "y",
        'Þ' | 'þ' => "th",
        'ß' => "ss",
        // Latin Extended-A, in code point order.
        'Ā'..='ą' => "a",
        'Ć'..='č' => "c",
        'Ď'..='đ' => "d",
        'Ē'..='ě' => "e",
        'Ĝ'..='ģ' => "g",
        'Ĥ'..='ħ' => "h",
        'Ĩ'..='ı' => "i",
        'Ĳ' | 'ĳ' => "ij",
        'Ĵ' | 'ĵ' => "j",
        'Ķ' | 'ķ' => "k",
        // Kra, written q in Greenlandic since its 1973 reform.
        'ĸ' => "q",
        'Ĺ'..='ł' => "l",
        'Ń'..='ň' => "n",
        // ŉ is an apostrophe followed by n, as in Afrikaans 'n.
        'ŉ' => "n",
        'Ŋ' | 'ŋ' => "ng",
        'Ō'..='ő' => "o",
        'Œ' | 'œ' => "oe",
        'Ŕ'..='ř' => "r",
        'Ś'..='š' => "s",
        'Ţ'..='ŧ' => "t",
        'Ũ'..='ų' => "u",
        'Ŵ' | 'ŵ' => "w",
        'Ŷ'..='Ÿ' => "y",
        'Ź'..='ž' => "z",
        'ſ' => "s",
        // Romanian, in Latin Extended-B.
        'Ș' | 'ș' => "s",
        'Ț' | 'ț' => "t",
        _ => return None,
    };
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZERO: [u8; 16] = [0; 16];

    fn is_valid_shape(s: &str) -> bool {
        !s.is_empty()
            && s.split('-')
                .all(|w| !w.is_empty() && w.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9')))
    }

    /// A small deterministic generator (xorshift) for property-style tests.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn bytes(&mut self) -> [u8; 16] {
            let a = self.next().to_le_bytes();
            let b = self.next().to_le_bytes();
            let mut out = [0; 16];
            out[..8].copy_from_slice(&a);
            out[8..].copy_from_slice(&b);
            out
        }
    }

    #[test]
    fn base32_rfc4648_vectors() {
        // RFC 4648 section 10, lowercased and without padding.
        let cases: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "my"),
            (b"fo", "mzxq"),
            (b"foo", "mzxw6"),
            (b"foob", "mzxw6yq"),
            (b"fooba", "mzxw6ytb"),
            (b"foobar", "mzxw6ytboi"),
        ];
        for (input, expected) in cases {
            assert_eq!(base32_lower(input), expected);
        }
        assert_eq!(base32_lower(&[0; 16]), "a".repeat(26));
        assert_eq!(base32_lower(&[0xff; 16]), format!("{}4", "7".repeat(25)));
        assert_eq!(base32_lower(&[0xff; 5]), "77777777");
    }

    #[test]
    fn base32_lengths_and_alphabet() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for len in 0usize..64 {
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let s = base32_lower(&bytes);
            assert_eq!(s.len(), (len * 8).div_ceil(5));
            assert!(s.bytes().all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7')));
        }
    }

    #[test]
    fn base32_decodes_back() {
        // An independent decoder, written bit by bit.
        fn decode(s: &str) -> Vec<u8> {
            let bits: Vec<u8> = s
                .bytes()
                .flat_map(|c| {
                    let v = match c {
                        b'a'..=b'z' => c - b'a',
                        b'2'..=b'7' => c - b'2' + 26,
                        _ => panic!("bad char"),
                    };
                    (0..5).rev().map(move |i| (v >> i) & 1)
                })
                .collect();
            bits.chunks_exact(8)
                .map(|c| c.iter().fold(0u8, |acc, b| (acc << 1) | b))
                .collect()
        }
        let mut rng = Rng(42);
        for _ in 0..500 {
            let bytes = rng.bytes();
            assert_eq!(decode(&base32_lower(&bytes)), bytes);
        }
    }

    #[test]
    fn generate_examples() {
        let r = [
            0x00, 0x44, 0x32, 0x14, 0xc7, 0x42, 0x54, 0xb6, 0x35, 0xcf, 0x84, 0x65, 0x3a, 0x56, 0xd7, 0xc6,
        ];
        // Cross-checked with Python: base64.b32encode(bytes(r)).lower().
        let name = RoomName::generate("Séance 3 : Œuvres & Façades", r);
        assert_eq!(name.as_str(), "seance-3-oeuvres-facades-abcdefghijklmnopqrstuvwxyy");
        assert_eq!(
            RoomName::generate("", ZERO).as_str(),
            format!("session-{}", "a".repeat(26))
        );
    }

    #[test]
    fn slug_examples() {
        let cases = [
            ("Séance 3 : Œuvres & Façades", "seance-3-oeuvres-facades"),
            ("Formation Excel — niveau 2", "formation-excel-niveau-2"),
            ("L'été à Łódź", "l-ete-a-lodz"),
            ("Straße Ærø Þingvellir", "strasse-aero-thingvellir"),
            ("Đorđe Ħal Għargħur", "dorde-hal-gharghur"),
            ("ÀÁÂÃÄÅ àáâãäå", "aaaaaa-aaaaaa"),
            ("Ñandú ÿ", "nandu-y"),
            ("Şcoală în Țară și Ștefan", "scoala-in-tara-si-stefan"),
            ("会议 2026 🎉 réunion", "2026-reunion"),
            ("🎉🎉🎉", "session"),
            ("中文标题", "session"),
            ("", "session"),
            ("   ---   ", "session"),
            ("!!!Hello,,, World???", "hello-world"),
            ("UPPER lower MiXeD", "upper-lower-mixed"),
            ("tab\tnew\nline", "tab-new-line"),
            ("x² + y³", "x2-y3"),
            ("1/2 × 3 ÷ 4", "1-2-3-4"),
            // Decomposed (NFD) accents are dropped without splitting the word.
            ("Se\u{301}ance", "seance"),
            ("ŉ ĸ ŋ ſ ĳ", "n-q-ng-s-ij"),
        ];
        for (title, expected) in cases {
            assert_eq!(slugify(title), expected, "{title:?}");
        }
    }

    #[test]
    fn slug_truncation() {
        // Cut at the last hyphen within the limit.
        let title = "Introduction avancée à la programmation fonctionnelle en Rust";
        let slug = slugify(title);
        assert_eq!(slug, "introduction-avancee-a-la-programmation");
        assert!(slug.len() <= MAX_SLUG_LEN);
        // A word ending exactly at the limit is kept whole.
        let forty = format!("{}-{}", "a".repeat(19), "b".repeat(20));
        assert_eq!(forty.len(), 40);
        assert_eq!(slugify(&format!("{forty} cde")), forty);
        assert_eq!(slugify(&forty), forty);
        // One long word: cut in the middle.
        assert_eq!(slugify(&"x".repeat(100)), "x".repeat(40));
        // A short first word then a long one: cutting at the hyphen would keep too little.
        let s = slugify(&format!("ab {}", "c".repeat(60)));
        assert_eq!(s, format!("ab-{}", "c".repeat(37)));
        // Multi-letter foldings near the limit.
        let s = slugify(&"œ".repeat(30));
        assert_eq!(s, "oe".repeat(20));
        // Never ends with a hyphen after a cut.
        let s = slugify(&format!("{} {}", "a".repeat(39), "b".repeat(10)));
        assert_eq!(s, "a".repeat(39));
    }

    #[test]
    fn every_latin_letter_folds() {
        let ranges = ['\u{00c0}'..='\u{00ff}', '\u{0100}'..='\u{017f}'];
        for c in ranges.into_iter().flatten() {
            if c == '×' || c == '÷' {
                assert!(fold_latin(c).is_none());
                continue;
            }
            assert!(c.is_alphabetic(), "{c:?}");
            let folded = fold_latin(c).unwrap_or_else(|| panic!("{c:?} U+{:04X}", c as u32));
            assert!(
                !folded.is_empty() && folded.bytes().all(|b| b.is_ascii_lowercase()),
                "{c:?} -> {folded:?}"
            );
            // Upper and lower case fold alike.
            for lower in c.to_lowercase() {
                if let Some(l) = fold_latin(lower) {
                    assert_eq!(l, folded, "{c:?}/{lower:?}");
                }
            }
        }
    }

    #[test]
    fn property_generated_names_are_valid() {
        let alphabet: Vec<char> = concat!(
            "abcXYZ0189 -_.,;:!?'\"()[]{}/\\@#&%*+=<>|~^`$",
            "éèêëàâäîïôöùûüÿçœæÉÈÊÀÂÎÔÙÛÇŒÆßøØłŁđĐþÞðÐñÑåÅ",
            "ąćęńóśźżĄĆĘŃÓŚŹŻčďěňřšťůžČĎĚŇŘŠŤŮŽőűŐŰğışĞİŞ",
            "中文日本語한국어🎉👩‍🏫🇫🇷\u{301}\u{308}\u{200d}\u{a0}\t\n\r",
            "ΑΒΓαβγАБВабв×÷°±§¶·¿¡«»“”‘’—–…€£¥",
        )
        .chars()
        .collect();
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        for i in 0..5000 {
            let len = if i % 50 == 0 {
                300 + (rng.next() % 500) as usize
            } else {
                (rng.next() % 70) as usize
            };
            let title: String = (0..len)
                .map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize])
                .collect();
            let random = rng.bytes();
            let name = RoomName::generate(&title, random);
            let s = name.as_str();
            assert!(is_valid_shape(s), "{title:?} -> {s:?}");
            assert!(s.len() <= MAX_GENERATED_LEN, "{title:?} -> {s:?}");
            assert!(s.ends_with(&base32_lower(&random)));
            assert_eq!(RoomName::parse(s).as_ref(), Ok(&name));
            let slug = slugify(&title);
            assert!(is_valid_shape(&slug) && slug.len() <= MAX_SLUG_LEN);
            assert_eq!(s, format!("{slug}-{}", base32_lower(&random)));
            // Slugging is idempotent.
            assert_eq!(slugify(&slug), slug);
        }
    }

    #[test]
    fn distinct_randomness_gives_distinct_names() {
        let mut rng = Rng(7);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            assert!(seen.insert(RoomName::generate("Même titre", rng.bytes())));
        }
    }

    #[test]
    fn parse_accepts_valid_names() {
        for ok in ["a", "0", "abc-123", "a-b-c", &"x".repeat(200), "seance-3-abc"] {
            assert_eq!(RoomName::parse(ok).unwrap().as_str(), ok);
        }
        let n: RoomName = "daily-standup".parse().unwrap();
        assert_eq!(n.to_string(), "daily-standup");
        assert_eq!(String::from(n), "daily-standup");
    }

    #[test]
    fn parse_refuses_invalid_names() {
        use RoomNameError::*;
        let cases: [(&str, RoomNameError); 10] = [
            ("", Empty),
            ("-abc", LeadingHyphen),
            ("-", LeadingHyphen),
            ("abc-", TrailingHyphen),
            ("ab--c", DoubleHyphen { position: 3 }),
            (
                "Abc",
                InvalidCharacter {
                    character: 'A',
                    position: 0,
                },
            ),
            (
                "ab c",
                InvalidCharacter {
                    character: ' ',
                    position: 2,
                },
            ),
            (
                "séance",
                InvalidCharacter {
                    character: 'é',
                    position: 1,
                },
            ),
            (
                "a_b",
                InvalidCharacter {
                    character: '_',
                    position: 1,
                },
            ),
            (
                "room/../x",
                InvalidCharacter {
                    character: '/',
                    position: 4,
                },
            ),
        ];
        for (input, err) in cases {
            assert_eq!(RoomName::parse(input), Err(err), "{input:?}");
        }
        assert_eq!(RoomName::parse(&"x".repeat(201)), Err(TooLong { len: 201 }));
        assert_eq!(RoomName::parse(&"é".repeat(201)), Err(TooLong { len: 201 }));
        assert!(RoomName::try_from("a@b".to_owned()).is_err());
    }
}
