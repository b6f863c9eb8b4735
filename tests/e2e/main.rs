//! End-to-end tests: the real `twostep` binary on free ports, driven by real
//! clients. One test binary, one module per story group.

#![allow(dead_code)]

mod common;

mod accessibility;
mod admin;
mod api;
mod authenticators;
mod backup;
mod behind_haproxy;
mod behind_openssh;
mod benchmarks;
mod browser;
mod cli;
mod codes_saved;
mod conformance;
mod crash;
mod git;
mod hardening;
mod hardware_tokens;
mod health;
mod housekeeping;
mod limits;
mod metrics;
mod oauth;
mod oidc;
mod package;
mod passkeys;
mod phishing_resistant;
mod policy;
mod postgres;
mod recover;
mod route_matrix;
mod schema;
mod security_keys;
mod several_nodes;
mod shutdown;
mod ssh_certificates;
mod ssh_password;
mod ssh_recovery;
mod ssh_security_keys;
mod takeover;
mod tls;
mod two_step;
mod ways_back_in;
mod workspaces;
