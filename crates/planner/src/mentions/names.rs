//! Recognises names in single tokens: regions, zones and machine types (known or merely
//! shaped like one), and GPU-like model names the catalog does not know. A name the user
//! writes that looks like one of these but is not in the catalog must be reported, never
//! silently replaced by a default.

use std::sync::LazyLock;

use promptops_core::{Catalog, ValidationError};
use regex::Regex;

/// What a single token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Name {
    Region(String),
    Zone(String),
    MachineType(String),
}

// Google Cloud location names: <geography>-<direction><n>[-<zone letter>]. Anything shaped
// like one ("mars-north1", "us-mars1") is checked against the catalog, so that a made-up
// region is an error rather than silently replaced by the default region.
static LOCATION_SHAPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(([a-z]{2,})-([a-z]{2,})\d{1,2})(?:-([a-z]))?$").expect("location pattern")
});
const GEOGRAPHIES: [&str; 9] = [
    "us",
    "europe",
    "asia",
    "australia",
    "northamerica",
    "southamerica",
    "me",
    "africa",
    "eu",
];
const DIRECTIONS: [&str; 9] = [
    "central",
    "east",
    "west",
    "north",
    "south",
    "northeast",
    "southeast",
    "northwest",
    "southwest",
];

/// `(region, zone letter)` when `word` is shaped like a Google Cloud region or zone: a known
/// geography with any direction-like word ("us-mars1"), or any geography with a compass
/// direction ("mars-north1").
fn location_shape(word: &str) -> Option<(&str, Option<&str>)> {
    let caps = LOCATION_SHAPE.captures(word)?;
    let geography = caps.get(2)?.as_str();
    let direction = caps.get(3)?.as_str();
    let shaped = (GEOGRAPHIES.contains(&geography) && direction.len() >= 3)
        || DIRECTIONS.contains(&direction);
    if !shaped {
        return None;
    }
    let region = caps.get(1)?.as_str();
    Some((region, caps.get(4).map(|m| m.as_str())))
}

// Other clouds' region names ("us-west-2", "eu-central-1"): a common slip worth explaining.
static OTHER_CLOUD_REGION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:us|eu|ap|ca|sa|me|af|il|mx)-(?:east|west|north|south|central|northeast|southeast|northwest|southwest)-\d[a-z]?$").expect("other cloud region pattern")
});
// A region written with a dash before its number ("europe-west-4", "us-west-1-b"): read as
// the region when only Google Cloud names places so, refused with the region spelled alike
// when another cloud does (AWS's us-west-1 is in California, Google's us-west1 in Oregon).
// "europe-west-4" was passed over for the default region without a word.
static DASHED_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([a-z]{2,})-([a-z]{3,})-(\d{1,2})(?:-?([a-z]))?$").expect("dashed region pattern")
});
/// Geographies other clouds write with a dash before the number.
const SHARED_GEOGRAPHIES: [&str; 3] = ["us", "me", "eu"];

// Compute Engine machine type names: <family>-<kind>[-<size>].
static MACHINE_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z]\d[a-z]?-(?:[a-z]+-\d+[a-z]*|standard|highmem|highcpu|highgpu|ultragpu|megagpu|edgegpu|micro|small|medium|custom|ultramem|megamem|hypermem)(?:-\d+[a-z]*)?$").expect("machine type pattern")
});
// GPU model names: a family prefix and two or more digits ("k80", "a10g", "l40s", "mi300x").
static GPU_LIKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:rtx|gtx|mi|gb|gh|[abhklmptv])\d{2,4}[a-z]{0,2}$").expect("gpu-like pattern")
});

/// Classifies one token. `Ok(None)`: not a name. `Err`: shaped like a name the catalog lacks.
pub fn classify(word: &str, catalog: &Catalog) -> Result<Option<Name>, ValidationError> {
    if let Some((region, letter)) = location_shape(word) {
        if letter.is_some() {
            if catalog.is_known_zone(word) {
                return Ok(Some(Name::Zone(word.to_owned())));
            }
            let message = if catalog.is_known_region(region) {
                format!(
                    "zone {word} is not in the catalog; zones in {region}: {}",
                    catalog.zones_in_region(region).join(", ")
                )
            } else {
                format!(
                    "zone {word} is not in the catalog (region {region} is unknown); known regions: {}",
                    catalog.regions().join(", ")
                )
            };
            return Err(error("zone", word, message));
        }
        if catalog.is_known_region(word) {
            return Ok(Some(Name::Region(word.to_owned())));
        }
        let message = format!(
            "region {word} is not in the catalog; known regions: {}",
            catalog.regions().join(", ")
        );
        return Err(error("region", word, message));
    }
    if let Some(read) = dashed_region(word, catalog) {
        return read.map(Some);
    }
    if OTHER_CLOUD_REGION.is_match(word) {
        let message = format!(
            "{word} is not a Google Cloud region (they look like us-west1, zones like us-west1-b); known regions: {}",
            catalog.regions().join(", ")
        );
        return Err(error("region", word, message));
    }
    if MACHINE_TYPE.is_match(word) {
        if catalog.machine_type(word).is_some() {
            return Ok(Some(Name::MachineType(word.to_owned())));
        }
        let known: Vec<&str> = catalog
            .machine_types()
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        let message = format!(
            "machine type {word} is not in the catalog; known machine types: {}",
            known.join(", ")
        );
        return Err(error("machine_type", word, message));
    }
    Ok(None)
}

/// A region written with a dash before its number: the region or zone it names, the error
/// saying which region is spelled alike, or (for a Google Cloud geography) that no such
/// region is in the catalog. `None` for other clouds' names of no known region.
fn dashed_region(word: &str, catalog: &Catalog) -> Option<Result<Name, ValidationError>> {
    let caps = DASHED_NUMBER.captures(word)?;
    let geography = caps.get(1)?.as_str();
    let region = format!(
        "{geography}-{}{}",
        caps.get(2)?.as_str(),
        caps.get(3)?.as_str()
    );
    let Some(known) = catalog.region_list().iter().find(|r| r.name == region) else {
        // "europe-west-9": a Google Cloud geography, so a region name the catalog lacks
        // (it was passed over). Other clouds' names are explained below.
        let ours = GEOGRAPHIES.contains(&geography) && !SHARED_GEOGRAPHIES.contains(&geography);
        return ours.then(|| {
            let message = format!(
                "region {word} is not in the catalog; known regions: {}",
                catalog.regions().join(", ")
            );
            Err(error("region", word, message))
        });
    };
    let place = known
        .places
        .first()
        .map_or(String::new(), |place| format!(" ({place})"));
    if SHARED_GEOGRAPHIES.contains(&geography) {
        return Some(Err(error(
            "region",
            word,
            format!(
                "{word} is spelled like another cloud's region (a dash before the number); the Google Cloud region spelled alike is {region}{place}, which may be somewhere else: write {region} if you mean it; known regions: {}",
                catalog.regions().join(", ")
            ),
        )));
    }
    let Some(letter) = caps.get(4) else {
        return Some(Ok(Name::Region(region)));
    };
    let zone = format!("{region}-{}", letter.as_str());
    if catalog.is_known_zone(&zone) {
        return Some(Ok(Name::Zone(zone)));
    }
    Some(Err(error(
        "zone",
        word,
        format!(
            "zone {word} is not in the catalog; zones in {region}: {}",
            catalog.zones_in_region(&region).join(", ")
        ),
    )))
}

/// Whether `word` looks like a GPU model name (checked only for words that are not aliases).
pub fn looks_like_gpu(word: &str) -> bool {
    let singular = word.strip_suffix('s').unwrap_or(word);
    GPU_LIKE.is_match(word) || GPU_LIKE.is_match(singular)
}

/// Words that make a nearby GPU-like token clearly a GPU name ("K80 GPUs", "nvidia a10").
pub fn is_gpu_context_word(word: &str) -> bool {
    matches!(
        word,
        "gpu"
            | "gpus"
            | "nvidia"
            | "tesla"
            | "amd"
            | "radeon"
            | "instinct"
            | "geforce"
            | "quadro"
            | "rtx"
            | "gtx"
            | "card"
            | "cards"
            | "accelerator"
            | "accelerators"
    )
}

/// The error for a GPU name the catalog does not know, listing what it offers.
pub fn unknown_gpu(written: &str, catalog: &Catalog) -> ValidationError {
    let offered: Vec<String> = catalog
        .gpus()
        .iter()
        .map(|gpu| format!("{} ({})", gpu.name, gpu.id))
        .collect();
    error(
        "gpu_type",
        written,
        format!(
            "GPU {written} is not in the catalog; offered GPUs: {}",
            offered.join(", ")
        ),
    )
}

pub fn error(field: &str, value: &str, message: String) -> ValidationError {
    ValidationError::new(field, value, message)
}
