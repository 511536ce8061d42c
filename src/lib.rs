//! Twofold: a self-hosted, self-service multi-factor authentication portal.
//! `main.rs` is only the command line; everything else lives here.

pub mod app;
pub mod channels;
pub mod cli;
pub mod clock;
pub mod config;
pub mod data_key;
pub mod directory;
pub mod domain;
pub mod duo;
pub mod factors;
pub mod geoip;
pub mod metrics;
pub mod oidc;
pub mod openid;
pub mod passwords;
pub mod policy;
pub mod radius;
pub mod scim;
pub mod secrets;
pub mod shutdown;
pub mod signin;
pub mod store;
pub mod tokens;
pub mod web;
pub mod words;
