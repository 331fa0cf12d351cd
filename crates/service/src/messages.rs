//! The catalogue messages that explain the domain's refusals. Each is a key and its arguments
//! ([`Message`]); the surface that shows it renders it in the reader's language and zone.

use domain::UserInputError;
use domain::booking::BookingError;
use domain::course::CourseError;
use domain::localtime::LocalTimeError;
use i18n::Message;
use jitsi::KeyError;

/// The catalogue message explaining refused account input.
pub fn user_input(e: &UserInputError) -> Message {
    match e {
        UserInputError::EmailEmpty => Message::new("input.email_empty"),
        UserInputError::EmailInvalid(v) => Message::new("input.email_invalid").arg("value", v),
        UserInputError::EmailTooLong { max } => Message::new("input.email_too_long").arg("max", max),
        UserInputError::NameEmpty => Message::new("input.name_empty"),
        UserInputError::NameTooLong { max } => Message::new("input.name_too_long").arg("max", max),
        UserInputError::NameControl => Message::new("input.name_control"),
        UserInputError::PasswordTooShort { min } => Message::new("input.password_too_short").arg("min", min),
        UserInputError::PasswordTooLong { max } => Message::new("input.password_too_long").arg("max", max),
        UserInputError::UnknownTimeZone(v) => Message::new("input.time_zone_unknown").arg("value", v),
        UserInputError::UnknownLocale(v) => Message::new("input.locale_unknown").arg("value", v),
    }
}

/// The field a refused account input is about.
pub fn user_input_field(e: &UserInputError) -> &'static str {
    match e {
        UserInputError::EmailEmpty | UserInputError::EmailInvalid(_) | UserInputError::EmailTooLong { .. } => "email",
        UserInputError::NameEmpty | UserInputError::NameTooLong { .. } | UserInputError::NameControl => "display_name",
        UserInputError::PasswordTooShort { .. } | UserInputError::PasswordTooLong { .. } => "password",
        UserInputError::UnknownTimeZone(_) => "time_zone",
        UserInputError::UnknownLocale(_) => "locale",
    }
}

fn local(dt: &jiff::civil::DateTime) -> String {
    format!("{} {:02}:{:02}", dt.date(), dt.hour(), dt.minute())
}

/// The catalogue message for a domain booking error.
pub fn booking(e: &BookingError) -> Message {
    use domain::recurrence::RecurrenceError as R;
    match e {
        BookingError::TitleEmpty => Message::new("booking.error.title_empty"),
        BookingError::TitleTooLong { max } => Message::new("booking.error.title_too_long").arg("max", max),
        BookingError::TitleControl => Message::new("booking.error.title_control"),
        BookingError::NotesTooLong { max } => Message::new("booking.error.notes_too_long").arg("max", max),
        BookingError::DurationOutOfRange { minutes, min, max } => Message::new("booking.error.duration")
            .arg("minutes", minutes)
            .arg("min", min)
            .arg("max", max),
        BookingError::StartsInPast { .. } => Message::new("booking.error.past"),
        BookingError::TooFarAhead { years, .. } => Message::new("booking.error.too_far").arg("years", years),
        BookingError::EndsInPast { .. } => Message::new("booking.error.ends_in_past"),
        BookingError::UnknownTimeZone(z) => Message::new("input.time_zone_unknown").arg("value", z),
        BookingError::LocalTime(e) => local_time(e),
        BookingError::Rule(e) => rule(e),
        BookingError::Recurrence(e) => match &**e {
            R::Unbounded => Message::new("booking.error.unbounded"),
            R::FirstNotInRule { first } => Message::new("booking.error.first_not_in_rule").arg("date", first),
            R::EndsBeforeStart { .. } => Message::new("booking.error.ends_before_start"),
            R::NonexistentOccurrence { local: l, zone, .. } => Message::new("booking.error.nonexistent_occurrence")
                .arg("local", local(l))
                .arg("zone", zone),
            R::TooLong { .. } => Message::new("booking.error.too_long"),
            R::NoOccurrence | R::OutOfRange { .. } => Message::new("booking.error.out_of_range"),
        },
        BookingError::NoTrainer => Message::new("booking.error.no_trainer"),
        BookingError::TooManyModerators { count, max } => Message::new("booking.error.too_many_moderators")
            .arg("count", count)
            .arg("max", max),
        BookingError::TooManyParticipations {
            occurrences,
            people,
            max,
        } => Message::new("booking.error.too_many_participations")
            .arg("occurrences", occurrences)
            .arg("people", people)
            .arg("count", occurrences.saturating_mul(*people))
            .arg("max", max),
        BookingError::TooManyParticipants { count, max } => Message::new("booking.error.too_many_participants")
            .arg("count", count)
            .arg("max", max),
        BookingError::Person { error, .. } => user_input(error),
        BookingError::DuplicatePerson { email } => Message::new("booking.error.duplicate").arg("email", email),
    }
}

/// The catalogue message for an RRULE that cannot be read or is not supported.
pub fn rule(e: &domain::recurrence::RuleError) -> Message {
    use domain::recurrence::RuleError as E;
    match e {
        E::Empty => Message::new("booking.rule.empty"),
        E::Malformed { part } => Message::new("booking.rule.malformed").arg("part", part),
        E::Duplicate { key } => Message::new("booking.rule.duplicate").arg("key", key),
        E::MissingFrequency => Message::new("booking.rule.missing_freq"),
        E::Unsupported { part } => Message::new("booking.rule.unsupported").arg("part", part),
        E::InvalidValue { key, value } => Message::new("booking.rule.invalid_value")
            .arg("key", key)
            .arg("value", value),
        E::IntervalOutOfRange { interval } => Message::new("booking.rule.interval")
            .arg("interval", interval)
            .arg("max", domain::recurrence::MAX_INTERVAL),
        E::ZeroCount => Message::new("booking.rule.zero_count"),
        E::CountAndUntil => Message::new("booking.rule.count_and_until"),
        E::UntilNotUtc { value } => Message::new("booking.rule.until_not_utc").arg("value", value),
        E::OrdinalOutOfRange { nth } => Message::new("booking.rule.ordinal").arg("nth", nth),
        E::OrdinalNotAllowed { freq, by_day } => Message::new("booking.rule.ordinal_not_allowed")
            .arg("by_day", by_day)
            .arg("freq", freq),
        E::MonthDayOutOfRange { day } => Message::new("booking.rule.month_day").arg("day", day),
        E::NotWithFrequency { key, freq } => Message::new("booking.rule.not_with_frequency")
            .arg("key", key)
            .arg("freq", freq),
    }
}

/// The catalogue message for a local time that cannot be used.
pub fn local_time(e: &LocalTimeError) -> Message {
    match e {
        LocalTimeError::Nonexistent {
            local: l,
            zone,
            gap_start,
            gap_end,
        } => Message::new("booking.error.nonexistent")
            .arg("local", local(l))
            .arg("zone", zone)
            .arg("from", format!("{:02}:{:02}", gap_start.hour(), gap_start.minute()))
            .arg("to", format!("{:02}:{:02}", gap_end.hour(), gap_end.minute())),
        LocalTimeError::Ambiguous {
            local: l,
            zone,
            earlier,
            later,
        } => Message::new("booking.error.ambiguous")
            .arg("local", local(l))
            .arg("zone", zone)
            .arg("first", i18n::offset_label(earlier.offset()))
            .arg("second", i18n::offset_label(later.offset())),
        LocalTimeError::OutOfRange { .. } => Message::new("booking.error.out_of_range"),
    }
}

/// The catalogue message for a refused course field.
pub fn course(e: &CourseError) -> Message {
    match e {
        CourseError::Booking(b) => booking(b),
        CourseError::CodeTooLong { max } => Message::new("course.error.code_too_long").arg("max", max),
        CourseError::CodeInvalid => Message::new("course.error.code_invalid"),
        CourseError::DescriptionTooLong { max } => Message::new("course.error.description_too_long").arg("max", max),
        CourseError::ActionNature => Message::new("course.error.action_nature"),
    }
}

/// The catalogue message for a private key that cannot be used.
pub fn key(e: &KeyError) -> Message {
    match e {
        KeyError::EmptySecret => Message::new("jitsi.error.secret_required"),
        KeyError::EncryptedKey => Message::new("jitsi.error.key_encrypted"),
        KeyError::NotRsa | KeyError::UnsupportedPemLabel(_) => Message::new("jitsi.error.key_not_rsa"),
        KeyError::TooSmall => Message::new("jitsi.error.key_too_small"),
        KeyError::TooLarge => Message::new("jitsi.error.key_too_large"),
        KeyError::NotPem
        | KeyError::MissingPemEnd(_)
        | KeyError::UnexpectedPemHeader(_)
        | KeyError::InvalidBase64
        | KeyError::Rejected(_) => Message::new("jitsi.error.key_invalid"),
    }
}

/// The catalogue message for a server setting that cannot be used.
pub fn server_setting(e: domain::jitsi_server::SettingError) -> Message {
    use domain::jitsi_server::SettingError as E;
    Message::new(match e {
        E::NameRequired => "jitsi.error.name_required",
        E::NameInvalid => "jitsi.error.name_invalid",
        E::Mode => "jitsi.error.mode",
        E::BaseUrl => "jitsi.error.base_url",
        E::Domain => "jitsi.error.domain",
        E::AppId => "jitsi.error.app_id",
        E::AppIdInvalid => "jitsi.error.app_id_invalid",
        E::KeyId => "jitsi.error.key_id",
        E::KeyIdInvalid => "jitsi.error.key_id_invalid",
        E::SecretRequired => "jitsi.error.secret_required",
        E::SecretShort => "jitsi.error.secret_short",
        E::SecretInvalid => "jitsi.error.secret_invalid",
        E::ApiSecret => "jitsi.error.api_secret",
        E::Features => "jitsi.error.features",
        E::MaxOccupants => "jitsi.error.max_occupants",
        E::XmppHost => "jitsi.error.xmpp_host",
        E::XmppPort => "jitsi.error.xmpp_port",
        E::AdminJid => "jitsi.error.admin_jid",
        E::AdminPassword => "jitsi.error.admin_password",
    })
}
