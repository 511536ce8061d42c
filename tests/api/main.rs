//! The one integration-test binary. Each module tests one area as a user or client meets it.

mod browser_steps;
mod helpers;
mod webdriver;

mod admin;
mod browser;
mod browser_helpdesk;
mod browser_oidc;
mod browser_recovery;
mod browser_universal;
mod browser_tokens;
mod cli;
mod duo;
mod duo_apps;
mod enroll;
mod import;
mod invitations;
mod login;
mod logs;
mod mail;
mod ops;
mod oidc;
mod policies;
mod prompt;
mod recovery;
mod security;
mod settings;
mod setup;
mod storage;
mod tokens;
mod tokens_prompt;
mod trust;
mod universal;
mod universal_setup;
