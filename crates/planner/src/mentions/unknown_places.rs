//! A place the catalog does not know, named where a place would stand ("near Seattle", "in
//! Ireland", "based in San Francisco"). When the request names no region, zone or area,
//! the plan says the place was not read and the default region planned. Before, the
//! default region was planned without a word: VMs asked for near Seattle went to Iowa.
//!
//! Only a note, never a refusal: a capitalised word after "in" is as often a tool ("in
//! PyTorch") as a place, and the note costs nothing when it is not one.

use std::collections::HashSet;
use std::sync::LazyLock;

use promptops_core::{Catalog, ExpiryRequest, place_key};
use regex::Regex;

// A capitalised name of up to three words where a place stands: right after the VMs or GPUs
// and "in" ("2 T4 VMs in Ireland"), or after "near", "close to", "based in", "located in".
// Case matters: "in Ireland" is a name, "in it" is not; "code written in Rust" is no place.
static PLACE_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:\b(?i:vms?|gpus?|instances?|nodes?|machines?|servers?|box|boxes|[a-z]\d{1,3}s?)\s+in|\b(?:near|close\s+to|based\s+in|located\s+in))\s+(?:the\s+)?(?P<place>\p{Lu}\p{Ll}+(?:[ -]\p{Lu}\p{Ll}+){0,2})\b",
    )
    .expect("place pattern")
});

/// Capitalised words after "in" that are no place: tools and the like. (Days and months
/// are the lifetime reader's date words.)
const NOT_PLACES: &[&str] = &[
    "python",
    "pytorch",
    "tensorflow",
    "jupyter",
    "colab",
    "slack",
    "github",
    "gitlab",
    "terraform",
    "docker",
    "kubernetes",
    "streamlit",
    "english",
    "linux",
    "ubuntu",
    "windows",
    "google",
    "cloud",
    "production",
    "staging",
    "total",
    "parallel",
    "advance",
    "addition",
    "case",
    "general",
    "order",
    "short",
    "particular",
    "any",
    "our",
    "my",
    "this",
    "that",
    "prod",
    "dev",
    "test",
    "one",
    "two",
];

/// One note per place named that the catalog does not know.
pub(super) fn notes(text: &str, catalog: &Catalog) -> Vec<String> {
    let mut known: HashSet<String> = HashSet::new();
    for region in catalog.region_list() {
        known.extend(region.places.iter().map(|p| place_key(p)));
    }
    for area in catalog.areas() {
        known.extend(area.names.iter().map(|n| place_key(n)));
    }
    for other in catalog.other_regions() {
        known.extend(other.places.iter().map(|p| place_key(p)));
    }
    let mut notes: Vec<String> = Vec::new();
    for caps in PLACE_AFTER.captures_iter(text) {
        let Some(place) = caps.name("place").map(|m| m.as_str()) else {
            continue;
        };
        let key = place_key(place);
        let first = key.split(' ').next().unwrap_or_default();
        let date =
            crate::lifetime::is_date_word(first) || ExpiryRequest::parse_end(first).is_some();
        if known.contains(&key) || date || NOT_PLACES.contains(&first) {
            continue;
        }
        let note = format!(
            "\"{place}\" was not read as a place: the catalog knows regions by their cities, states and countries (e.g. Oregon, Iowa, Frankfurt, Tokyo), and this is none of them, so the region was chosen as if no place were named. Name a region (e.g. \"us-west1\")"
        );
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_places_are_named_and_known_ones_and_tools_are_not() {
        let catalog = Catalog::embedded();
        for (text, place) in [
            ("Need 2 T4 VMs near Seattle", "Seattle"),
            ("Need 2 T4 VMs in Ireland", "Ireland"),
            ("2 T4 VMs near San Francisco", "San Francisco"),
        ] {
            let notes = notes(text, catalog);
            assert_eq!(notes.len(), 1, "{text:?}: {notes:?}");
            assert!(notes[0].starts_with(&format!("\"{place}\" was not read as a place")));
        }
        for text in [
            "2 T4 VMs in Oregon",
            "2 T4 VMs in Europe",
            "2 T4 VMs to train in PyTorch",
            "2 T4 VMs in March",
            "2 T4 VMs near Friday",
            "2 T4 VMs in us-west1",
            "Need 2 T4 VMs to run code written in Rust",
            "Need 2 T4 VMs, we work in Java mostly",
        ] {
            assert!(notes(text, catalog).is_empty(), "{text:?}");
        }
    }
}
