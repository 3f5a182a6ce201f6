//! Parser for `/promptops` comment commands. No application dependencies.
//!
//! ```
//! use promptops_commands::{Command, CommandError, parse_commands};
//!
//! let parsed = parse_commands("Thanks!\n/promptops plan use two T4s\n> /promptops apply");
//! assert_eq!(
//!     parsed,
//!     vec![Ok(Command::Plan { instructions: "use two T4s".into() })]
//! );
//! let typo = parse_commands("/promptops aply");
//! assert_eq!(
//!     typo,
//!     vec![Err(CommandError::Unknown { given: "aply".into(), suggestion: Some("apply") })]
//! );
//! ```

mod button;
mod command;
mod help;
mod inert;
mod markdown;
mod parse;
mod sha;

pub use button::Button;
pub use command::{Command, CommandError, MAX_GIVEN_CHARS, SUBCOMMANDS, code_span};
pub use help::{PREFIX, help_text};
pub use inert::{inert_block, inert_inline, longest_backtick_run};
pub use parse::parse_commands;
pub use sha::{MIN_SHA_PREFIX, ShaPrefix};
