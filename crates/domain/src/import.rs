//! Importing people from a spreadsheet: which column is which field (guessed from French or
//! English headers, chosen by the user on the preview), and what each line would do (added,
//! already there, or refused with its problems). Nothing here reads files or writes anything.

use std::collections::{BTreeMap, BTreeSet};

use crate::contact::{ContactError, ContactPlan, ContactRequest, plan_contact};

/// A field a column may fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Name,
    FirstName,
    Email,
    Company,
    Locale,
    TimeZone,
}

impl Field {
    pub const ALL: [Field; 6] = [
        Field::Name,
        Field::FirstName,
        Field::Email,
        Field::Company,
        Field::Locale,
        Field::TimeZone,
    ];

    /// The form and API value: `name`, `first_name`, `email`, `company`, `locale`, `time_zone`.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::FirstName => "first_name",
            Field::Email => "email",
            Field::Company => "company",
            Field::Locale => "locale",
            Field::TimeZone => "time_zone",
        }
    }

    pub fn parse(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == s.trim())
    }
}

/// A header as compared: lower case, without accents, spaces, dashes, dots or underscores.
fn folded(header: &str) -> String {
    header
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            c => c,
        })
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The field a header names, in French or English (`Nom`, `Prénom`, `E-mail`, `Courriel`,
/// `Société`, `Langue`, `Fuseau horaire`, `Last name`, `Given name`, `Time zone`…).
pub fn guess(header: &str) -> Option<Field> {
    let h = folded(header);
    let field = match h.as_str() {
        "nom" | "nomdefamille" | "nomdenaissance" | "nomdusage" | "name" | "lastname" | "familyname" | "surname"
        | "nomcomplet" | "fullname" | "nometprenom" | "prenometnom" | "participant" | "stagiaire" | "apprenant"
        | "learner" => Field::Name,
        "prenom" | "prenoms" | "firstname" | "givenname" | "forename" => Field::FirstName,
        "email" | "mail" | "courriel" | "adressemail" | "adresseemail" | "adressecourriel" | "emailaddress"
        | "adressemel" | "mel" => Field::Email,
        "organisation" | "organization" | "entreprise" | "societe" | "company" | "employeur" | "employer"
        | "structure" | "etablissement" => Field::Company,
        "langue" | "language" | "lang" | "locale" | "languepreferee" | "preferredlanguage" => Field::Locale,
        "fuseau" | "fuseauhoraire" | "timezone" | "zone" | "tz" | "zonehoraire" => Field::TimeZone,
        _ => return None,
    };
    Some(field)
}

/// The column of each field, guessed from the header row (the first column naming a field
/// wins it).
pub fn guess_mapping(header: &[String]) -> Vec<Option<Field>> {
    let mut seen = BTreeSet::new();
    header.iter().map(|h| guess(h).filter(|f| seen.insert(*f))).collect()
}

/// Why a column mapping cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("no column holds the email address")]
    NoEmail,
    #[error("no column holds the name")]
    NoName,
    #[error("two columns hold the {0:?}")]
    Twice(Field),
}

/// Checks a mapping: an email column, a name column, each field at most once.
pub fn check_mapping(mapping: &[Option<Field>]) -> Result<(), Vec<MappingError>> {
    let mut errors = Vec::new();
    let mut counts: BTreeMap<Field, usize> = BTreeMap::new();
    for f in mapping.iter().flatten() {
        *counts.entry(*f).or_default() += 1;
    }
    if !counts.contains_key(&Field::Email) {
        errors.push(MappingError::NoEmail);
    }
    if !counts.contains_key(&Field::Name) {
        errors.push(MappingError::NoName);
    }
    errors.extend(
        counts
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(f, _)| MappingError::Twice(f)),
    );
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// A language as people write it in a spreadsheet: `fr`, `en`, `français`, `English`…
fn language(value: &str) -> String {
    match folded(value).as_str() {
        "francais" | "french" | "fr" | "frfr" => "fr".to_owned(),
        "anglais" | "english" | "en" | "engb" | "enus" => "en".to_owned(),
        _ => value.trim().to_owned(),
    }
}

/// What a line of the file would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineOutcome {
    /// A valid person, to be added.
    Add(ContactPlan),
    /// A valid person who is already there: nothing to do.
    Already(ContactPlan),
    /// Refused, with every problem.
    Invalid(Vec<LineProblem>),
}

/// A problem of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineProblem {
    Contact(ContactError),
    /// The same address appeared on an earlier line.
    Duplicate {
        first_line: usize,
    },
}

/// A line of the file and what it would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLine {
    /// The line number in the file (the header is line 1).
    pub line: usize,
    pub request: ContactRequest,
    pub outcome: LineOutcome,
}

impl ImportLine {
    pub fn plan(&self) -> Option<&ContactPlan> {
        match &self.outcome {
            LineOutcome::Add(p) => Some(p),
            _ => None,
        }
    }
}

/// The lines after the header, each checked: blank lines are skipped; an address seen on an
/// earlier line is a duplicate; one in `already` (normalised addresses) is already there.
pub fn plan_lines(rows: &[Vec<String>], mapping: &[Option<Field>], already: &BTreeSet<String>) -> Vec<ImportLine> {
    let mut first_seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let line = i + 2;
        let mut request = ContactRequest::default();
        for (cell, field) in row.iter().zip(mapping) {
            let Some(field) = field else { continue };
            let value = cell.trim().to_owned();
            match field {
                Field::Name => request.name = value,
                Field::FirstName => request.first_name = value,
                Field::Email => request.email = value,
                Field::Company => request.company = value,
                Field::Locale => request.locale = language(&value),
                Field::TimeZone => request.time_zone = value,
            }
        }
        let outcome = match plan_contact(&request) {
            Err(errors) => LineOutcome::Invalid(errors.into_iter().map(LineProblem::Contact).collect()),
            Ok(plan) => {
                let key = plan.email.normalized();
                if let Some(first_line) = first_seen.get(&key) {
                    LineOutcome::Invalid(vec![LineProblem::Duplicate {
                        first_line: *first_line,
                    }])
                } else {
                    first_seen.insert(key.clone(), line);
                    if already.contains(&key) {
                        LineOutcome::Already(plan)
                    } else {
                        LineOutcome::Add(plan)
                    }
                }
            }
        };
        out.push(ImportLine { line, request, outcome });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn headers_in_french_and_english() {
        let fr = strings(&[
            "Nom",
            "Prénom",
            "Adresse e-mail",
            "Société",
            "Langue",
            "Fuseau horaire",
            "Remarque",
        ]);
        assert_eq!(
            guess_mapping(&fr),
            vec![
                Some(Field::Name),
                Some(Field::FirstName),
                Some(Field::Email),
                Some(Field::Company),
                Some(Field::Locale),
                Some(Field::TimeZone),
                None
            ]
        );
        let en = strings(&[
            "E-mail",
            "Last name",
            "First Name",
            "Organization",
            "Time zone",
            "Email",
        ]);
        // The second email column is left for the user to map.
        assert_eq!(
            guess_mapping(&en),
            vec![
                Some(Field::Email),
                Some(Field::Name),
                Some(Field::FirstName),
                Some(Field::Company),
                Some(Field::TimeZone),
                None
            ]
        );
        assert_eq!(check_mapping(&guess_mapping(&en)), Ok(()));
        assert_eq!(
            check_mapping(&[Some(Field::Email), Some(Field::Email)]),
            Err(vec![MappingError::NoName, MappingError::Twice(Field::Email)])
        );
        assert_eq!(
            check_mapping(&[None]),
            Err(vec![MappingError::NoEmail, MappingError::NoName])
        );
    }

    #[test]
    fn lines_added_already_there_duplicate_or_invalid() {
        let mapping = vec![
            Some(Field::Name),
            Some(Field::FirstName),
            Some(Field::Email),
            Some(Field::Locale),
        ];
        let rows = vec![
            strings(&["Martin", "Claire", "claire@example.org", "Français"]),
            strings(&["", "", "", ""]),
            strings(&["Durand", "", "nope", "de"]),
            strings(&["Martin", "C.", "CLAIRE@example.org", ""]),
            strings(&["Petit", "Léa", "lea@example.org", "English"]),
            strings(&["Short"]),
        ];
        let already = BTreeSet::from(["lea@example.org".to_owned()]);
        let lines = plan_lines(&rows, &mapping, &already);
        assert_eq!(lines.iter().map(|l| l.line).collect::<Vec<_>>(), vec![2, 4, 5, 6, 7]);
        match &lines[0].outcome {
            LineOutcome::Add(p) => {
                assert_eq!(p.first_name, "Claire");
                assert_eq!(p.locale, Some(crate::Locale::Fr));
            }
            other => panic!("{other:?}"),
        }
        match &lines[1].outcome {
            LineOutcome::Invalid(problems) => assert_eq!(problems.len(), 2),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            lines[2].outcome,
            LineOutcome::Invalid(vec![LineProblem::Duplicate { first_line: 2 }])
        );
        assert!(matches!(&lines[3].outcome, LineOutcome::Already(p) if p.locale == Some(crate::Locale::En)));
        assert!(matches!(&lines[4].outcome, LineOutcome::Invalid(_)));
        assert_eq!(lines.iter().filter(|l| l.plan().is_some()).count(), 1);
    }
}
