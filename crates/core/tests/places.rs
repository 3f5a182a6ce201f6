//! Place and area names in the catalog: the place names of the request phrasings resolve to
//! their regions however they are typed, and a catalog whose names clash is rejected.

use promptops_core::{Catalog, CatalogError, place_key};
use proptest::prelude::*;

fn catalog() -> &'static Catalog {
    Catalog::embedded()
}

fn inconsistencies(text: &str) -> Vec<String> {
    match Catalog::from_toml_str(text) {
        Err(CatalogError::Inconsistent(problems)) => problems,
        other => panic!("expected an inconsistent catalog, got {other:?}"),
    }
}

fn edited(from: &str, to: &str) -> String {
    let source = Catalog::embedded_source();
    assert!(source.contains(from), "catalog text lacks {from:?}");
    source.replacen(from, to, 1)
}

#[test]
fn places_name_their_regions() {
    let cases = [
        ("Oregon", "us-west1"),
        ("Iowa", "us-central1"),
        ("South Carolina", "us-east1"),
        ("Northern Virginia", "us-east4"),
        ("virginia", "us-east4"),
        ("Netherlands", "europe-west4"),
        ("the Netherlands", "europe-west4"),
        ("Eemshaven", "europe-west4"),
        // The capitals of countries with one region ("London or Amsterdam" planned London).
        ("Amsterdam", "europe-west4"),
        ("Brussels", "europe-west1"),
        ("Belgium", "europe-west1"),
        ("London", "europe-west2"),
        ("Frankfurt", "europe-west3"),
        ("Tokyo", "asia-northeast1"),
        ("Seoul", "asia-northeast3"),
        ("Singapore", "asia-southeast1"),
        ("Taiwan", "asia-east1"),
        ("Mumbai", "asia-south1"),
        ("Sydney", "australia-southeast1"),
        ("Montréal", "northamerica-northeast1"),
        ("MONTREAL", "northamerica-northeast1"),
        ("São Paulo", "southamerica-east1"),
        ("Sao Paulo", "southamerica-east1"),
        ("sao  paulo", "southamerica-east1"),
    ];
    for (place, region) in cases {
        assert_eq!(catalog().region_for_place(place), Some(region), "{place}");
    }
    for not_a_place in ["", "Mars", "us-west1", "Europe", "Zurich", "oregon trail"] {
        assert_eq!(
            catalog().region_for_place(not_a_place),
            None,
            "{not_a_place}"
        );
    }
}

#[test]
fn areas_list_catalog_regions_in_order() {
    let europe = catalog().area_named("europe").expect("Europe is an area");
    assert_eq!(europe.regions[0], "europe-west1");
    assert!(europe.regions.iter().all(|r| r.starts_with("europe-")));
    let us = catalog().area_named("the U.S.").expect("the US is an area");
    assert_eq!(us.name, "the US");
    assert!(us.regions.iter().all(|r| r.starts_with("us-")));
    assert!(catalog().area_named("Asia").is_some());
    assert!(
        catalog().area_named("us").is_none(),
        "the pronoun is not an area"
    );
    assert!(catalog().area_named("Oregon").is_none());
}

#[test]
fn place_keys_ignore_case_accents_and_punctuation() {
    assert_eq!(place_key("São  Paulo!"), "sao paulo");
    assert_eq!(place_key("U.S."), "u s");
    assert_eq!(place_key("Zürich"), "zurich");
    assert_eq!(place_key("Saint-Ghislain"), "saint ghislain");
}

#[test]
fn clashing_or_unknown_place_and_area_names_are_rejected() {
    let twice = edited(
        "places = [\"Frankfurt\"]",
        "places = [\"Frankfurt\", \"Oregon\"]",
    );
    let problems = inconsistencies(&twice);
    assert!(
        problems.iter().any(|p| p.contains("\"Oregon\"")
            && p.contains("europe-west3")
            && p.contains("us-west1")),
        "{problems:?}"
    );

    let region_as_place = edited("places = [\"Frankfurt\"]", "places = [\"europe-west3\"]");
    let problems = inconsistencies(&region_as_place);
    assert!(
        problems.iter().any(|p| p.contains("region or zone name")),
        "{problems:?}"
    );

    let unknown_region = edited(
        "regions = [\"southamerica-east1\"]",
        "regions = [\"southamerica-west1\"]",
    );
    let problems = inconsistencies(&unknown_region);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("southamerica-west1")
                && p.contains("not one of the catalog's regions")),
        "{problems:?}"
    );

    let area_is_place = edited("names = [\"Asia\"]", "names = [\"Asia\", \"Tokyo\"]");
    let problems = inconsistencies(&area_is_place);
    assert!(
        problems.iter().any(|p| p.contains("\"Tokyo\"")),
        "{problems:?}"
    );

    let offered_elsewhere = edited(
        "places = [\"Zurich\", \"Switzerland\"]",
        "places = [\"Zurich\", \"London\"]",
    );
    let problems = inconsistencies(&offered_elsewhere);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("\"London\"") && p.contains("europe-west6")),
        "{problems:?}"
    );
    let listed = edited("name = \"europe-west6\"", "name = \"europe-west2\"");
    let problems = inconsistencies(&listed);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("other_regions lists \"europe-west2\"")),
        "{problems:?}"
    );

    let empty = edited("places = [\"Frankfurt\"]", "places = [\"--\"]");
    let problems = inconsistencies(&empty);
    assert!(
        problems.iter().any(|p| p.contains("empty place name")),
        "{problems:?}"
    );
}

proptest! {
    /// Every place of the catalog is found in any letter case.
    #[test]
    fn every_place_is_found_in_any_case(
        index in 0usize..64,
        upper in prop::collection::vec(any::<bool>(), 32),
    ) {
        let places: Vec<(&str, &str)> = catalog()
            .region_list()
            .iter()
            .flat_map(|r| r.places.iter().map(move |p| (p.as_str(), r.name.as_str())))
            .collect();
        let (place, region) = places[index % places.len()];
        let typed: String = place
            .chars()
            .zip(upper.iter().cycle())
            .map(|(c, up)| if *up { c.to_uppercase().next().unwrap_or(c) } else { c.to_lowercase().next().unwrap_or(c) })
            .collect();
        prop_assert_eq!(catalog().region_for_place(&typed), Some(region), "{}", typed);
    }
}
