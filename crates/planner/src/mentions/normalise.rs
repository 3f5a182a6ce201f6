//! Rewrites what people type into the plain form the scanner reads, and refuses numbers
//! that cannot be read safely. Every rewrite that changes a value is stated as a reading;
//! nothing is replaced silently:
//! - compatibility forms (NFKC): full-width digits ("２台") are digits;
//! - look-alike letters from other scripts inside a Latin word ("Т4" with a Cyrillic "Т",
//!   "us-wеst1" with a Cyrillic "е") are read as the Latin letters they imitate;
//! - thousands separators ("1,010 VMs") are dropped, so the count is 1010, not 10;
//! - Japanese counters: 台 counts machines, 枚 and 基 count GPUs (per machine when machines
//!   are counted too, unless 合計 says "in total");
//!   Chinese counts with 台 read the same way, 两 ("two") included, and 块/张 count GPUs
//!   right before a GPU model or 显卡 (elsewhere 块 is money); the reading names only the
//!   counters the text holds;
//! - "single node" and "on the same VM" are one VM ("2 T4s on the same VM"); "one VM per
//!   GPU" and "each GPU on its own VM" are one GPU per VM;
//! - vulgar fractions ("½", "2½") are written out ("1/2", "2 1/2") so that the scanner
//!   refuses them as fractions instead of reading "2½" as 21/2 after NFKC;
//! - negative numbers ("-5 VMs") and fractions ("2.5 VMs") are refused.

use std::sync::LazyLock;

use promptops_core::ValidationError;
use regex::{Captures, Regex};
use unicode_normalization::UnicodeNormalization;

/// The text as the scanner reads it, how it was read, and what cannot be read.
pub(super) struct Normalised {
    pub text: String,
    pub readings: Vec<String>,
    pub errors: Vec<ValidationError>,
}

static THOUSANDS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d{1,3}(?:,\d{3})+\b").expect("thousands pattern"));
static NEGATIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s:=(])([-\u{2212}]\d+(?:[.,]\d+)?)\b").expect("negative pattern")
});
static FRACTION_COUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(\d+[.,]\d+)\s*(?:[a-z][a-z0-9-]*\s+){0,2}(vms?|gpus?|machines?|instances?|nodes?|servers?|hosts?|boxes)\b",
    )
    .expect("fraction pattern")
});
static SINGLE_NODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bsingle[-\s](node|vm|machine|instance|server|box|host)\b")
        .expect("single node pattern")
});
/// "2 T4s on the same VM": one VM (not "the same machine type", which names no VM).
static SAME_NODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(on|in|into|onto)\s+(?:the\s+)?same\s+(node|vm|machine|instance|server|box|host)\b(-?\s*types?\b)?",
    )
    .expect("same node pattern")
});
/// "one VM per GPU", "each GPU on its own VM": one GPU in each VM (it was read as one VM
/// holding every GPU).
static VM_PER_GPU: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:(?:one|a|1|a\s+single|a\s+separate)\s+(vm|node|machine|instance|server|box|host)\s+(?:per|for\s+each|for\s+every|for\s+each\s+single)\s+gpu(\s+(?:types?|models?|kinds?))?|each\s+gpu\s+(?:on|in)\s+(?:its\s+own|a\s+separate|a\s+dedicated)\s+(vm|node|machine|instance|server|box|host))\b",
    )
    .expect("vm per gpu pattern")
});
/// "A100-SXM4-40GB", "V100-SXM2-16GB", "A100-PCIE-80GB": a GPU, its form factor and its
/// memory joined by dashes, as `nvidia-smi` names them, read as written apart (the joined
/// word was no name at all).
static DASHED_FORM_FACTOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b([a-z]\d{2,3})-(sxm\d?|pcie)-(\d{1,3}\s*gb)\b")
        .expect("dashed form factor pattern")
});
static KANJI_COUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([〇零一二两兩三四五六七八九十]+)\s*(台|枚|基|块|塊|张|張)")
        .expect("kanji pattern")
});
static MACHINE_COUNTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d+)\s*台").expect("machine counter pattern"));
static GPU_TOTAL_COUNTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:合計|全部で|計)\s*(\d+)\s*(枚|基)").expect("total counter pattern")
});
/// Chinese counts cards with 块 and 张 ("4块A100", "两张T4", "2张显卡"), but 块 is also
/// money ("预算100块"): read as GPUs only right before a GPU, a GPU model or 显卡/卡.
static CARD_COUNTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(\d+)\s*(块|塊|张|張)\s*((?:nvidia\s*)?(?:[a-z]+\d+[a-z0-9]*|gpus?)(?-u:\b)|显卡|顯卡|卡)",
    )
    .expect("card counter pattern")
});
/// "dual-T4", "quad A100", "dual-GPU": a multiplying word before a GPU, read as "2x T4"
/// or "2-GPU" (it was passed over, and "dual-T4" hid the GPU's name).
static MULTIPLYING_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(dual|twin|quad|octa|octo)[-\s]+((?:nvidia[-\s]+)?(?:gpus?|[a-z]{1,2}\d{1,3}[a-z0-9]*)\b)",
    )
    .expect("multiplying word pattern")
});
static GPU_COUNTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d+)\s*(枚|基)").expect("gpu counter pattern"));

pub(super) fn normalise(text: &str) -> Normalised {
    let mut readings = Vec::new();
    let mut errors = Vec::new();
    let text: String = vulgar_fractions_written_out(text).nfkc().collect();
    let text = latin_look_alikes(&text, &mut readings);
    let text = japanese_places(&text);
    let text = japanese_counters(&text, &mut readings);
    let text = vm_shapes(&text, &mut readings);
    let text = THOUSANDS
        .replace_all(&text, |caps: &Captures| {
            let written = &caps[0];
            let plain = written.replace(',', "");
            readings.push(format!(
                "\"{written}\" read as {plain} (commas as thousands separators)"
            ));
            plain
        })
        .into_owned();
    for caps in NEGATIVE.captures_iter(&text) {
        let written = &caps[1];
        errors.push(ValidationError::new(
            "count",
            written,
            format!(
                "\"{written}\" is negative; counts and sizes are whole numbers of at least 1 (to remove a deployment comment `/promptops destroy`)"
            ),
        ));
    }
    for caps in FRACTION_COUNT.captures_iter(&text) {
        let written = &caps[0];
        errors.push(ValidationError::new(
            "count",
            written,
            format!("\"{written}\" is not a whole number; VMs and GPUs are counted in whole units"),
        ));
    }
    // The refused numbers are blanked so that no digit of them is read as a count.
    let text = NEGATIVE.replace_all(&text, " ").into_owned();
    let text = FRACTION_COUNT.replace_all(&text, " ").into_owned();
    Normalised {
        text,
        readings,
        errors,
    }
}

/// How GPUs sit on VMs, written out: "single node" and "on the same VM" as one VM, "one VM
/// per GPU" as one GPU per VM, a GPU's dashed form factor and memory apart, and a
/// multiplying word ("dual-T4") as its count. Each rewrite that changes a value is a
/// reading.
fn vm_shapes(text: &str, readings: &mut Vec<String>) -> String {
    let text = SINGLE_NODE.replace_all(text, "1 $1").into_owned();
    let text = DASHED_FORM_FACTOR
        .replace_all(&text, "$1 $2 $3")
        .into_owned();
    let text = SAME_NODE
        .replace_all(&text, |caps: &Captures| {
            if caps.get(3).is_some() {
                return caps[0].to_owned();
            }
            let read = format!("{} 1 {}", &caps[1], &caps[2]);
            readings.push(format!("\"{}\" read as {read}", &caps[0]));
            read
        })
        .into_owned();
    let text = VM_PER_GPU
        .replace_all(&text, |caps: &Captures| {
            // "a VM per GPU type" counts GPU types, not GPUs.
            if caps.get(2).is_some() {
                return caps[0].to_owned();
            }
            let noun = caps.get(1).or(caps.get(3)).map_or("VM", |m| m.as_str());
            let read = format!("1 GPU per {noun}");
            readings.push(format!("\"{}\" read as {read}", &caps[0]));
            read
        })
        .into_owned();
    MULTIPLYING_WORD
        .replace_all(&text, |caps: &Captures| {
            let times = match caps[1].to_ascii_lowercase().as_str() {
                "dual" | "twin" => 2,
                "quad" => 4,
                _ => 8,
            };
            // "dual-GPU" as "2-GPU", which counts the GPUs of each VM.
            let read = if caps[2].to_ascii_lowercase().starts_with("gpu") {
                format!("{times}-{}", &caps[2])
            } else {
                format!("{times}x {}", &caps[2])
            };
            readings.push(format!("\"{}\" read as {read}", &caps[0]));
            read
        })
        .into_owned()
}

/// "½" as " 1⁄2" and "2½" as "2 1⁄2": NFKC alone would glue the whole number to the
/// numerator ("21⁄2"). The tokenizer keeps "1⁄2" one word, a fraction.
fn vulgar_fractions_written_out(text: &str) -> String {
    let vulgar = |c: char| matches!(c, '\u{BC}'..='\u{BE}' | '\u{2150}'..='\u{215F}' | '\u{2189}');
    if !text.contains(vulgar) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if vulgar(c) {
            out.push(' ');
            out.extend(std::iter::once(c).nfkc());
        } else {
            out.push(c);
        }
    }
    out
}

/// Cyrillic and Greek letters that look like Latin ones, for words that otherwise hold
/// Latin letters or digits (a whole Cyrillic word is left alone: it is not a name).
fn latin_look_alike(c: char) -> Option<char> {
    let latin = match c {
        'а' | 'α' => 'a',
        'Α' | 'А' => 'A',
        'В' | 'Β' => 'B',
        'с' | 'ϲ' => 'c',
        'С' | 'Ϲ' => 'C',
        'ԁ' => 'd',
        'е' | 'ε' => 'e',
        'Е' | 'Ε' => 'E',
        'Н' | 'Η' => 'H',
        'і' | 'ι' => 'i',
        'І' | 'Ι' => 'I',
        'ј' => 'j',
        'Ј' => 'J',
        'К' | 'Κ' => 'K',
        'κ' => 'k',
        'М' | 'Μ' => 'M',
        'Ν' => 'N',
        'о' | 'ο' => 'o',
        'О' | 'Ο' => 'O',
        'р' | 'ρ' => 'p',
        'Р' | 'Ρ' => 'P',
        'ѕ' => 's',
        'Ѕ' => 'S',
        'Т' | 'Τ' => 'T',
        'υ' => 'u',
        'ν' => 'v',
        'ԝ' => 'w',
        'х' | 'χ' => 'x',
        'Х' | 'Χ' => 'X',
        'у' => 'y',
        'У' | 'Υ' => 'Y',
        'Ζ' => 'Z',
        _ => return None,
    };
    Some(latin)
}

fn latin_look_alikes(text: &str, readings: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let mut flush = |word: &mut String, out: &mut String| {
        let mixed = word.chars().any(|c| c.is_ascii_alphanumeric())
            && word.chars().any(|c| latin_look_alike(c).is_some());
        if mixed {
            let read: String = word
                .chars()
                .map(|c| latin_look_alike(c).unwrap_or(c))
                .collect();
            readings.push(format!(
                "\"{word}\" contains look-alike letters from another script; read as \"{read}\""
            ));
            out.push_str(&read);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '"' | '\'') {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Japanese names of the catalog's places, in the spelling the place index knows.
fn japanese_places(text: &str) -> String {
    const PLACES: [(&str, &str); 4] = [
        ("東京", " Tokyo "),
        ("大阪", " Osaka "),
        ("台湾", " Taiwan "),
        ("シンガポール", " Singapore "),
    ];
    let mut out = text.to_owned();
    for (japanese, latin) in PLACES {
        out = out.replace(japanese, latin);
    }
    out
}

fn kanji_number(text: &str) -> Option<u32> {
    // 两/兩 is the Chinese "two" before a counter ("两台" two machines); 零 is zero.
    let digit = |c: char| match c {
        '两' | '兩' => Some(2),
        '零' => Some(0),
        _ => "〇一二三四五六七八九".chars().position(|k| k == c),
    };
    let (tens, units) = match text.split_once('十') {
        Some((before, after)) => {
            let tens = if before.is_empty() {
                1
            } else {
                digit(before.chars().next()?)?
            };
            let units = match after.chars().next() {
                Some(c) => digit(c)?,
                None => 0,
            };
            (tens, units)
        }
        None if text.chars().count() == 1 => (0, digit(text.chars().next()?)?),
        None => return None,
    };
    u32::try_from(tens * 10 + units).ok()
}

/// Counters after numbers: 台 counts machines, 枚/基 (and 块/张 before a GPU) count GPUs.
/// The reading names only
/// the counters that were read, so that a text without them gets no note about them.
fn japanese_counters(text: &str, readings: &mut Vec<String>) -> String {
    if !text.contains(['台', '枚', '基', '块', '塊', '张', '張']) {
        return text.to_owned();
    }
    let text = KANJI_COUNT
        .replace_all(text, |caps: &Captures| match kanji_number(&caps[1]) {
            Some(n) => format!("{n}{}", &caps[2]),
            None => caps[0].to_owned(),
        })
        .into_owned();
    let machines_counted = MACHINE_COUNTER.is_match(&text);
    let text = MACHINE_COUNTER.replace_all(&text, " $1 VMs ").into_owned();
    let mut total_counters: Vec<String> = Vec::new();
    let text = GPU_TOTAL_COUNTER
        .replace_all(&text, |caps: &Captures| {
            total_counters.push(caps[2].to_owned());
            format!(" {} GPUs in total ", &caps[1])
        })
        .into_owned();
    let per_machine = if machines_counted { " each" } else { "" };
    let mut gpu_counters: Vec<String> = Vec::new();
    let text = GPU_COUNTER
        .replace_all(&text, |caps: &Captures| {
            gpu_counters.push(caps[2].to_owned());
            format!(" {} GPUs{per_machine} ", &caps[1])
        })
        .into_owned();
    let text = CARD_COUNTER
        .replace_all(&text, |caps: &Captures| {
            gpu_counters.push(caps[2].to_owned());
            // The GPU named stays; 显卡/卡 ("graphics card") is what "GPUs" says.
            let model = if caps[3].ends_with('卡') {
                ""
            } else {
                &caps[3]
            };
            format!(" {} {model} GPUs{per_machine} ", &caps[1])
        })
        .into_owned();
    let mut read = Vec::new();
    if machines_counted {
        read.push("台 as VMs".to_owned());
    }
    if !total_counters.is_empty() {
        read.push(format!(
            "{} after 合計 as GPUs in total",
            counters(total_counters)
        ));
    }
    if !gpu_counters.is_empty() {
        let per = if machines_counted { " per VM" } else { "" };
        read.push(format!("{} as GPUs{per}", counters(gpu_counters)));
    }
    if !read.is_empty() {
        readings.push(format!("Counters read: {}", read.join(", ")));
    }
    text
}

/// "枚" or "枚/基": the distinct counters, in the order written.
fn counters(mut found: Vec<String>) -> String {
    let mut seen = Vec::new();
    found.retain(|c| {
        let new = !seen.contains(c);
        seen.push(c.clone());
        new
    });
    found.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kanji_numbers() {
        assert_eq!(kanji_number("三"), Some(3));
        assert_eq!(kanji_number("十"), Some(10));
        assert_eq!(kanji_number("十二"), Some(12));
        assert_eq!(kanji_number("二十"), Some(20));
        assert_eq!(kanji_number("台"), None);
        assert_eq!(kanji_number("两"), Some(2));
    }

    #[test]
    fn counter_readings_name_only_the_counters_present() {
        let read = normalise("我需要两台带T4的虚拟机");
        assert!(read.text.contains(" 2 VMs "), "{}", read.text);
        assert_eq!(read.readings, ["Counters read: 台 as VMs"]);
        let read = normalise("T4を2枚");
        assert_eq!(read.readings, ["Counters read: 枚 as GPUs"]);
        assert!(normalise("台式机").readings.is_empty());
    }

    #[test]
    fn vulgar_fractions_keep_their_whole_part_apart() {
        assert_eq!(normalise("2½ A100").text, "2 1\u{2044}2 A100");
    }

    #[test]
    fn look_alikes_inside_latin_words_only() {
        let read = normalise("2 \u{0422}4 in us-w\u{0435}st1, привет");
        assert_eq!(read.text, "2 T4 in us-west1, привет");
        assert_eq!(read.readings.len(), 2);
    }
}
