//! Parser for /promptops comment commands. No application dependencies.
