//! The embedded catalog loads, passes its consistency checks and answers lookups.

use promptops_core::Catalog;

#[test]
fn embedded_catalog_loads_and_is_consistent() {
    let catalog = Catalog::from_toml_str(Catalog::embedded_source())
        .unwrap_or_else(|e| panic!("embedded catalog rejected: {e}"));
    assert_eq!(catalog.gpus().len(), 8);
    assert_eq!(Catalog::embedded().prices_as_of(), catalog.prices_as_of());
}
