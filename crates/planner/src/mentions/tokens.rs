//! Splits free text into lower-case word tokens and clause breaks, and reads counts written
//! in digits or words. The mention scanner works on these tokens so that "n1-standard-8" or
//! "us-west1-b" stay one token and a number is never read out of the middle of a name.

/// One token of the request text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A lower-case word; may contain digits, dashes and inner dots ("us-west1-b", "2.5").
    Word(String),
    /// A clause boundary: sentence or list punctuation, a line break.
    Break(Boundary),
}

/// What ends a clause. A number alone on a line or in a table's cell is a form's answer
/// or a count cut off from its noun; one before "." or ")" may be a list's marker ("1.
/// A100 GPUs").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// A line break.
    Line,
    /// A Markdown table's column separator, "|".
    Cell,
    /// Punctuation: ",", ";", ".", "?"…
    Mark,
    /// An opening parenthesis: "A100 (x4)" sets a count off after its name.
    Paren,
    /// A closing parenthesis: "VM (T4) x3" multiplies what stands before the brackets.
    Close,
}

impl Token {
    pub fn word(&self) -> Option<&str> {
        match self {
            Token::Word(word) => Some(word),
            Token::Break(_) => None,
        }
    }
}

/// Tokenizes `text`. "/" is read as "per" ("2 GPUs/VM"), "w/" as "with", "×" and a "*"
/// between a number and a name as "x".
/// Numbers that are not whole stay one word ("1/2", "1e+3", ".5"), so that the scanner
/// refuses them instead of reading their digits as separate counts.
pub fn tokenize(text: &str) -> Vec<Token> {
    let lowered = text.to_lowercase();
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut chars = lowered.char_indices().peekable();
    while let Some((at, ch)) = chars.next() {
        let digit_next = chars.peek().is_some_and(|(_, next)| next.is_ascii_digit());
        match ch {
            'a'..='z' | '0'..='9' | '-' | '_' | '.' => current.push(ch),
            // "50%" and "50 %" are one word: a share, which the scanner refuses where a
            // count stands.
            '%' if !current.is_empty() && current.bytes().all(|b| b.is_ascii_digit()) => {
                current.push('%');
            }
            '%' if current.is_empty() => glue_percent(&mut tokens),
            // "1/2" and "1⁄2" (what "½" becomes) are fractions, not "1 per 2".
            '/' | '\u{2044}' if digit_next && current.ends_with(|c: char| c.is_ascii_digit()) => {
                current.push('/');
            }
            // "1e+3" is one number.
            '+' if digit_next && is_exponent_start(&current) => current.push('+'),
            // Dashes typed as en or em dashes ("3–5 VMs") are dashes.
            '–' | '—' => current.push('-'),
            // "~4 VMs" is "about 4 VMs".
            '~' => {
                flush(&mut current, &mut tokens);
                tokens.push(Token::Word("about".to_owned()));
            }
            '×' | '*' if ch == '×' || is_times_star(&lowered[..at], &lowered[at + 1..]) => {
                flush(&mut current, &mut tokens);
                tokens.push(Token::Word("x".to_owned()));
            }
            // "GPU: L4 / Count: 2 / Region: …": a "/" between spaces before a label
            // separates fields, as a line break would.
            '/' if current.is_empty() && starts_label(&lowered[at + 1..]) => {
                tokens.push(Token::Break(Boundary::Mark));
            }
            // "w/ 8 GPUs" is "with"; any other "/" reads "per" ("2 GPUs/VM").
            '/' if current == "w" => {
                current.clear();
                tokens.push(Token::Word("with".to_owned()));
            }
            '/' => {
                flush(&mut current, &mut tokens);
                tokens.push(Token::Word("per".to_owned()));
            }
            // "T4 -> L4", "T4 => L4" and "T4 → L4" read "T4 to L4".
            '>' if at > 0 && matches!(lowered.as_bytes()[at - 1], b'-' | b'=') => {
                flush(&mut current, &mut tokens);
                tokens.push(Token::Word("to".to_owned()));
            }
            '→' => {
                flush(&mut current, &mut tokens);
                tokens.push(Token::Word("to".to_owned()));
            }
            // A JSON key's closing quote keeps the key with its value ("vm_count": 2), as
            // YAML's "vm_count: 2" is kept.
            '"' if lowered[at + 1..].trim_start().starts_with(':') => {
                flush(&mut current, &mut tokens);
            }
            _ => {
                flush(&mut current, &mut tokens);
                if let Some(boundary) = boundary(ch) {
                    tokens.push(Token::Break(boundary));
                }
            }
        }
    }
    flush(&mut current, &mut tokens);
    drop_restated_counts(&mut tokens);
    read_je(&mut tokens);
    tokens
}

/// The clause boundary a character makes, if any. ':' and '=' make none: "VMs: 3" and
/// "vm_count = 3" keep noun and count together.
fn boundary(ch: char) -> Option<Boundary> {
    match ch {
        '\n' => Some(Boundary::Line),
        '|' => Some(Boundary::Cell),
        '(' => Some(Boundary::Paren),
        ')' => Some(Boundary::Close),
        ',' | ';' | '!' | '?' | '[' | ']' | '"' | '`' => Some(Boundary::Mark),
        _ => None,
    }
}

/// Whether `rest` starts with a space and then a label: one or two words and a colon
/// (" Count: 2", " GPU type: L4").
fn starts_label(rest: &str) -> bool {
    let Some(after_space) = rest.strip_prefix(|c: char| c == ' ' || c == '\t') else {
        return false;
    };
    let Some((label, _)) = after_space.split_once(':') else {
        return false;
    };
    let words: Vec<&str> = label.split_whitespace().collect();
    (1..=2).contains(&words.len())
        && label.len() == label.trim_end().len()
        && words
            .iter()
            .all(|w| w.chars().all(|c| c.is_alphabetic() || c == '_' || c == '-'))
}

/// Appends a "%" written apart ("50 %") to the number before it.
fn glue_percent(tokens: &mut [Token]) {
    if let Some(Token::Word(number)) = tokens.last_mut()
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
    {
        number.push('%');
    }
}

/// German "je" is "each" before a count ("mit je 2 T4") and "per" before a noun ("2 GPUs je
/// VM").
fn read_je(tokens: &mut [Token]) {
    for i in 0..tokens.len() {
        if tokens[i].word() != Some("je") {
            continue;
        }
        let before_count = tokens
            .get(i + 1)
            .and_then(Token::word)
            .is_some_and(|next| parse_count(next).is_some());
        tokens[i] = Token::Word(if before_count { "each" } else { "per" }.to_owned());
    }
}

/// Ends the word being read, if any, as a token (and a sentence's end after it).
fn flush(current: &mut String, tokens: &mut Vec<Token>) {
    if current.is_empty() {
        return;
    }
    // A trailing dot ends a sentence; trailing dashes/underscores are never part of a name.
    // A leading dot before a digit is a decimal point (".5 T4" is half a GPU, not 5).
    let decimal =
        current.starts_with('.') && current[1..].starts_with(|c: char| c.is_ascii_digit());
    let word = current
        .trim_end_matches(['.', '-', '_'])
        .trim_start_matches(['-', '_']);
    let word = if decimal {
        word
    } else {
        word.trim_start_matches('.')
    };
    let ends_sentence = current.ends_with('.');
    if let Some((times, name)) = split_multiplier(word) {
        // "2xA100" is "2x A100", as "8x H100" is read.
        tokens.push(Token::Word(times.to_owned()));
        tokens.push(Token::Word(name.to_owned()));
    } else if let Some((name, times)) = split_trailing_multiplier(word) {
        // "A100x8" is "A100 x8", as "A100 x 8" is read.
        tokens.push(Token::Word(name.to_owned()));
        tokens.push(Token::Word(times.to_owned()));
    } else if !word.is_empty() {
        tokens.push(Token::Word(in_english(word).to_owned()));
    }
    if ends_sentence {
        tokens.push(Token::Break(Boundary::Mark));
    }
    current.clear();
}

/// Drops a number's restatement in digits after it in words ("two (2) T4 VMs", as
/// contracts write them), so that the count reads through to its noun.
fn drop_restated_counts(tokens: &mut Vec<Token>) {
    let mut i = 0;
    while i + 3 < tokens.len() {
        let restated = match &tokens[i..i + 4] {
            [
                Token::Word(words),
                Token::Break(Boundary::Paren),
                Token::Word(digits),
                Token::Break(Boundary::Close),
            ] => {
                words != digits
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && parse_count(words).is_some()
                    && parse_count(words) == parse_count(digits)
            }
            _ => false,
        };
        if restated {
            tokens.drain(i + 1..i + 4);
        }
        i += 1;
    }
}

/// A multiplier glued to the name it multiplies ("2xa100", "4xt4"): `("2x", "a100")`. Only
/// a letter after the "x" makes one ("4x4" is a size, "2x" a multiplier alone).
fn split_multiplier(word: &str) -> Option<(&str, &str)> {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    let rest = word[digits..].strip_prefix('x')?;
    (digits > 0 && rest.starts_with(|c: char| c.is_ascii_lowercase()))
        .then(|| (&word[..=digits], rest))
}

/// A multiplier glued after a name that ends in a digit ("a100x8", "t4x2"):
/// `("a100", "x8")`. Not after a letter: "rtx4090" is a name.
fn split_trailing_multiplier(word: &str) -> Option<(&str, &str)> {
    let digits = word.bytes().rev().take_while(u8::is_ascii_digit).count();
    let name = word[..word.len() - digits].strip_suffix('x')?;
    let named = name.bytes().any(|b| b.is_ascii_lowercase())
        && name.bytes().next_back().is_some_and(|b| b.is_ascii_digit());
    (digits > 0 && named).then(|| (name, &word[name.len()..]))
}

/// Whether a "*" between `before` and `after` multiplies ("L4 * 4", "4*T4"), as "x" does:
/// a number on one side and a name or number on the other, on one line, with space on both
/// sides or on neither. Markdown's "**bold**", "*4*" and "* item" are not.
fn is_times_star(before: &str, after: &str) -> bool {
    // Only the space next to the "*" is looked at: a request may hold many of them.
    let (left, right) = (before.trim_end(), after.trim_start());
    let (gap_before, gap_after) = (&before[left.len()..], &after[..after.len() - right.len()]);
    let (Some(last), Some(first)) = (left.chars().next_back(), right.chars().next()) else {
        return false;
    };
    last.is_ascii_alphanumeric()
        && first.is_ascii_alphanumeric()
        && (last.is_ascii_digit() || first.is_ascii_digit())
        && !gap_before.contains('\n')
        && !gap_after.contains('\n')
        && gap_before.is_empty() == gap_after.is_empty()
}

/// Whether `word` is digits followed by "e", the start of "1e+3".
fn is_exponent_start(word: &str) -> bool {
    word.strip_suffix('e')
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

/// Count words, nouns and the few function words of a request in German, French and Spanish,
/// as the English word the scanner knows (after accents are folded: "fünf" is "funf").
/// Articles ("ein", "une", "una") read as "a", which counts one VM like "a VM".
fn in_english(word: &str) -> &str {
    match word {
        "ein" | "eine" | "einen" | "einem" | "un" | "une" | "una" => "a",
        "eins" | "uno" => "one",
        "zwei" | "deux" | "dos" => "two",
        "drei" | "trois" | "tres" => "three",
        "vier" | "quatre" | "cuatro" => "four",
        "funf" | "cinq" | "cinco" => "five",
        "sechs" | "seis" => "six",
        "sieben" | "sept" | "siete" => "seven",
        "acht" | "huit" | "ocho" => "eight",
        "neun" | "neuf" | "nueve" => "nine",
        "zehn" | "dix" | "diez" => "ten",
        "zwolf" | "douze" | "doce" => "twelve",
        "sechzehn" | "seize" | "dieciseis" => "sixteen",
        "zwanzig" | "vingt" | "veinte" => "twenty",
        "maschine" | "maschinen" | "rechner" | "instanz" | "instanzen" | "knoten" | "serveur"
        | "serveurs" | "noeud" | "noeuds" | "maquina" | "maquinas" | "servidor" | "servidores"
        | "instancia" | "instancias" | "nodo" | "nodos" => "vms",
        "grafikkarte" | "grafikkarten" | "carte" | "cartes" | "tarjeta" | "tarjetas" => "gpus",
        "pro" | "par" | "por" => "per",
        "mit" | "avec" | "con" => "with",
        "jeweils" | "chacune" | "chacun" | "cada" | "jede" | "jeder" | "jedem" => "each",
        "insgesamt" | "gesamt" => "total",
        _ => word,
    }
}

const UNITS: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [(&str, u32); 8] = [
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("eighty", 80),
    ("ninety", 90),
];

/// Reads a count: "5", "05", "five", "twenty-one", "a dozen" is handled by the scanner.
/// "2x" (as in "2x T4") reads as 2. Fractions and numbers past a million are not counts.
pub fn parse_count(word: &str) -> Option<u32> {
    // "2x" but not "six".
    let word = word
        .strip_suffix('x')
        .filter(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or(word);
    if word.bytes().all(|b| b.is_ascii_digit()) {
        // Nine digits always fit a u32; longer numbers are refused by the scanner.
        return if word.len() <= 9 {
            word.parse().ok()
        } else {
            None
        };
    }
    if let Some(index) = UNITS.iter().position(|unit| *unit == word) {
        return u32::try_from(index).ok();
    }
    match word {
        "hundred" => return Some(100),
        "dozen" => return Some(12),
        "single" => return Some(1),
        "pair" | "couple" => return Some(2),
        _ => {}
    }
    for (tens_word, tens) in TENS {
        if word == tens_word {
            return Some(tens);
        }
        if let Some(rest) = word
            .strip_prefix(tens_word)
            .and_then(|r| r.strip_prefix('-'))
        {
            let unit = UNITS[1..10].iter().position(|unit| *unit == rest)?;
            return Some(tens + u32::try_from(unit).ok()? + 1);
        }
    }
    None
}

/// Splits "200gb" into (200, "gb") and "5vms" into (5, "vms"): digits glued to a unit or noun.
pub fn split_number_suffix(word: &str) -> Option<(u32, &str)> {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits == word.len() || digits > 9 {
        return None;
    }
    let number = word[..digits].parse().ok()?;
    Some((number, &word[digits..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_in_digits_and_words() {
        assert_eq!(parse_count("5"), Some(5));
        assert_eq!(parse_count("five"), Some(5));
        assert_eq!(parse_count("twenty"), Some(20));
        assert_eq!(parse_count("twenty-one"), Some(21));
        assert_eq!(parse_count("thirteen"), Some(13));
        assert_eq!(parse_count("2x"), Some(2));
        assert_eq!(parse_count("six"), Some(6));
        assert_eq!(parse_count("sixteen"), Some(16));
        assert_eq!(parse_count("x"), None);
        assert_eq!(parse_count("2.5"), None);
        assert_eq!(parse_count("12345678"), Some(12_345_678));
        assert_eq!(parse_count("4294967297"), None);
        assert_eq!(parse_count("t4"), None);
    }

    #[test]
    fn names_stay_whole_and_punctuation_breaks_clauses() {
        let tokens = tokenize("Use n1-standard-8 in us-west1-b, 2 GPUs/VM.");
        let words: Vec<_> = tokens.iter().map(|t| t.word().unwrap_or("|")).collect();
        assert_eq!(
            words,
            [
                "use",
                "n1-standard-8",
                "in",
                "us-west1-b",
                "|",
                "2",
                "gpus",
                "per",
                "vm",
                "|"
            ]
        );
    }

    #[test]
    fn numbers_that_are_not_whole_stay_one_word() {
        for (text, word) in [
            ("1/2 a100", "1/2"),
            ("1\u{2044}2 a100", "1/2"),
            ("1e+3 vms", "1e+3"),
            (".5 t4", ".5"),
        ] {
            assert_eq!(tokenize(text)[0].word(), Some(word), "{text:?}");
        }
        assert_eq!(tokenize("2 gpus/vm")[2].word(), Some("per"));
    }

    #[test]
    fn a_star_multiplies_between_a_number_and_a_name() {
        let words = |text: &str| -> Vec<String> {
            tokenize(text)
                .iter()
                .map(|t| t.word().unwrap_or("|").to_owned())
                .collect()
        };
        assert_eq!(words("L4 * 4"), ["l4", "x", "4"]);
        assert_eq!(words("4*T4"), ["4", "x", "t4"]);
        // Markdown's emphasis and list items.
        assert_eq!(words("need *4* T4"), ["need", "4", "t4"]);
        assert_eq!(words("**GPU:** T4"), ["gpu", "t4"]);
        assert_eq!(words("us-west1\n* 4 VMs"), ["us-west1", "|", "4", "vms"]);
        assert_eq!(words("a * b"), ["a", "b"]);
    }

    #[test]
    fn a_share_is_one_word() {
        for text in ["50% more", "50 % more"] {
            assert_eq!(tokenize(text)[0].word(), Some("50%"), "{text:?}");
        }
    }

    #[test]
    fn glued_units_split() {
        assert_eq!(split_number_suffix("200gb"), Some((200, "gb")));
        assert_eq!(split_number_suffix("5vms"), Some((5, "vms")));
        assert_eq!(split_number_suffix("a100"), None);
        assert_eq!(split_number_suffix("200"), None);
    }
}
