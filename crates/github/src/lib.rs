//! GitHub edge: webhook signature verification, event parsing into the bot's own types, and the App client over octocrab.

pub mod client;
pub mod webhook;
