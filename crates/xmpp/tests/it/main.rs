//! The admin client against a real Prosody (`prosody_admin`, which `.ci/test`
//! requires to have run) and against servers that misbehave on purpose
//! (`hostile_server`).

mod hostile_server;
mod peer;
mod prosody_admin;
