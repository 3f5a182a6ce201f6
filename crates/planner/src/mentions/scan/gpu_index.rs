//! A hash index of the catalog's GPU spellings for the scanner's n-gram lookups.

use std::collections::HashMap;

use promptops_core::Catalog;

/// Every GPU spelling of the catalog by its compact key, so that each word n-gram costs one
/// hash lookup per key instead of a scan over all spellings (issue bodies can be long).
/// Matches exactly what `Catalog::gpu_by_alias` matches: lower-cased alphanumerics, with and
/// without a "nvidia"/"tesla" prefix; the first GPU in catalog order wins.
pub(super) struct GpuIndex<'a> {
    by_key: HashMap<String, usize>,
    ids: Vec<&'a str>,
}

impl<'a> GpuIndex<'a> {
    pub(super) fn new(catalog: &'a Catalog) -> Self {
        let mut by_key = HashMap::new();
        let mut ids = Vec::new();
        for (index, gpu) in catalog.gpus().iter().enumerate() {
            ids.push(gpu.id.as_str());
            let spellings = [gpu.id.as_str(), gpu.name.as_str()]
                .into_iter()
                .chain(gpu.aliases.iter().map(String::as_str));
            for spelling in spellings {
                for key in alias_keys(spelling) {
                    by_key.entry(key).or_insert(index);
                }
            }
        }
        GpuIndex { by_key, ids }
    }

    pub(super) fn lookup(&self, text: &str) -> Option<&'a str> {
        alias_keys(text)
            .iter()
            .filter_map(|key| self.by_key.get(key))
            .min()
            .map(|index| self.ids[*index])
    }
}

pub(super) fn alias_keys(text: &str) -> Vec<String> {
    let compact: String = text
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let without_vendor = compact.strip_prefix("nvidia").unwrap_or(&compact);
    let without_brand = without_vendor
        .strip_prefix("tesla")
        .unwrap_or(without_vendor);
    let mut keys = vec![without_vendor.to_owned(), without_brand.to_owned()];
    keys.push(compact.clone());
    keys.retain(|k| !k.is_empty());
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index must agree with the catalog's own lookup on every spelling and on
    /// near-misses.
    #[test]
    fn gpu_index_agrees_with_the_catalog() {
        let catalog = Catalog::embedded();
        let index = GpuIndex::new(catalog);
        let mut texts: Vec<String> = catalog
            .gpus()
            .iter()
            .flat_map(|g| {
                let mut s = vec![g.id.clone(), g.name.clone(), format!("nvidia {}", g.id)];
                s.extend(g.aliases.iter().cloned());
                s
            })
            .collect();
        texts.extend(
            [
                "a100",
                "A100 80",
                "tesla",
                "nvidia",
                "t4 t4",
                "k80",
                "",
                "h100-80gb",
            ]
            .map(String::from),
        );
        for text in texts {
            assert_eq!(
                index.lookup(&text),
                catalog.gpu_by_alias(&text).map(|g| g.id.as_str()),
                "{text:?}"
            );
        }
    }
}
