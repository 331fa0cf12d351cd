//! The directory crate against real peers, each started by its test on a free port in a
//! temporary directory: OpenID provider (npm `oidc-provider`, `oidc_provider::`) and OpenLDAP
//! (`slapd`, `slapd::`). A missing peer fails the test with how to install it.

mod oidc_provider;
mod slapd;
mod support;
