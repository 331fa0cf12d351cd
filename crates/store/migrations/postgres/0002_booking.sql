-- Booking: the address book, courses, series, sessions and their participants; API tokens.
CREATE TABLE contacts (
    id         TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    email_norm TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    company    TEXT NOT NULL DEFAULT '',
    locale     TEXT,
    time_zone  TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE courses (
    id                       TEXT PRIMARY KEY,
    title                    TEXT NOT NULL,
    code                     TEXT,
    description              TEXT NOT NULL DEFAULT '',
    default_duration_minutes BIGINT NOT NULL,
    owner_id                 TEXT NOT NULL REFERENCES users (id),
    archived                 BOOLEAN NOT NULL DEFAULT FALSE,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL
);
CREATE UNIQUE INDEX courses_code ON courses (code) WHERE code IS NOT NULL;

CREATE TABLE course_trainers (
    course_id TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (course_id, user_id)
);

CREATE TABLE course_learners (
    course_id  TEXT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    PRIMARY KEY (course_id, contact_id)
);

CREATE TABLE series (
    id         TEXT PRIMARY KEY,
    rrule      TEXT NOT NULL,
    time_zone  TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    uid          TEXT NOT NULL UNIQUE,
    course_id    TEXT REFERENCES courses (id),
    series_id    TEXT REFERENCES series (id),
    title        TEXT NOT NULL,
    starts_at    BIGINT NOT NULL,
    ends_at      BIGINT NOT NULL,
    time_zone    TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('scheduled', 'cancelled')),
    room         TEXT NOT NULL UNIQUE,
    notes        TEXT NOT NULL DEFAULT '',
    sequence     BIGINT NOT NULL DEFAULT 0,
    created_by   TEXT REFERENCES users (id),
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    cancelled_at BIGINT
);
CREATE INDEX sessions_starts ON sessions (starts_at);
CREATE INDEX sessions_series ON sessions (series_id, starts_at);
CREATE INDEX sessions_course ON sessions (course_id, starts_at);

CREATE TABLE session_participants (
    id           TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('trainer', 'moderator', 'learner', 'guest')),
    user_id      TEXT REFERENCES users (id),
    contact_id   TEXT REFERENCES contacts (id),
    name         TEXT NOT NULL,
    email        TEXT NOT NULL,
    email_norm   TEXT NOT NULL,
    link_version BIGINT NOT NULL DEFAULT 1,
    link_hash    TEXT NOT NULL UNIQUE,
    rsvp         TEXT NOT NULL DEFAULT 'pending' CHECK (rsvp IN ('pending', 'accepted', 'declined')),
    created_at   BIGINT NOT NULL,
    UNIQUE (session_id, email_norm)
);
CREATE INDEX participants_user ON session_participants (user_id, session_id);
CREATE INDEX participants_contact ON session_participants (contact_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
