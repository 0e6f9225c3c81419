//! Integration tests: each starts a real Steppe on 127.0.0.1 with a fresh database and talks HTTP to it.
//! Set STEPPE_TEST_DATABASE_URL=postgres://… to run the same suite on PostgreSQL (one new database per test).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fleet;
mod harness;
mod remote;
mod s3;
mod smtp;

mod admin;
mod archive;
mod backup;
mod browser;
mod cli;
mod comments;
mod delivery;
mod errors;
mod exhaustion;
mod federation;
mod followers;
mod fuzz_corpus;
mod hardening;
mod import;
mod inbox;
mod intake;
mod interop;
mod media;
mod moving;
mod notifications;
mod pages;
mod posts;
mod publishing;
mod reader;
mod reading;
mod scheduling;
mod settings;
mod signatures;
mod takeover;
mod writing;
