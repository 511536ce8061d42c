//! Outbound channels: how Twofold reaches people outside the browser. Mail today (SMTP, or the
//! clearly labelled simulator); texts, calls and Web Push join here behind the same outbox.

pub mod mail;
pub mod telephony;
pub mod web_push;
