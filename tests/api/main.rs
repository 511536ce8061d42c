//! The one integration-test binary. Each module tests one area as a user or client meets it.

mod browser_steps;
mod helpers;
mod webdriver;

mod admin;
mod browser;
mod browser_helpdesk;
mod browser_push;
mod browser_recovery;
mod cli;
mod duo;
mod enroll;
mod import;
mod invitations;
mod login;
mod logs;
mod mail;
mod policies;
mod prompt;
mod push;
mod push_setup;
mod recovery;
mod security;
mod settings;
mod setup;
mod storage;
mod trust;
mod web_push;
