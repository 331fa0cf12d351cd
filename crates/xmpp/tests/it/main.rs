//! Peer tests: the admin client against a real Prosody. `.ci/test` requires the
//! `prosody_admin::` tests to have run.

mod peer;
mod prosody_admin;
