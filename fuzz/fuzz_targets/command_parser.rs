//! Comment command parsing: any text never panics, plan instructions come back trimmed, and
//! every error renders a reply that lists the commands.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promptops_commands::{Command, CommandError, SUBCOMMANDS, parse_commands};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    check(parse_commands(body));
    // Comments without the prefix skip the Markdown pass; a leading command line forces it,
    // and nothing after that line can hide it.
    let forced = parse_commands(&format!("/promptops plan\n{body}"));
    assert!(matches!(forced.first(), Some(Ok(Command::Plan { .. }))));
    check(forced);
});

fn check(results: Vec<Result<Command, CommandError>>) {
    for result in results {
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
}
