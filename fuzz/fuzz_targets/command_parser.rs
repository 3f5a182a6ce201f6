//! Comment command parsing: any text never panics, plan instructions come back trimmed, and
//! every error renders a reply that lists the commands.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promptops_commands::{Command, CommandError, SUBCOMMANDS, parse_commands};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    for result in parse_commands(body) {
        match result {
            Ok(Command::Plan { instructions }) => {
                assert_eq!(instructions.trim(), instructions);
            }
            Ok(command) => assert!(SUBCOMMANDS.contains(&command.name())),
            Err(error) => {
                if let CommandError::Unknown { given, .. } = &error {
                    assert!(!given.is_empty());
                }
                let reply = error.to_string();
                for name in SUBCOMMANDS {
                    assert!(reply.contains(name));
                }
            }
        }
    }
});
