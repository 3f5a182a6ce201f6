//! Addresses of dashboard pages, for links in GitHub comments. GitHub readers reach the
//! dashboard only through `PROMPTOPS_PUBLIC_URL`; without it comments carry no link.

/// Builds dashboard addresses under the public URL (when one is set).
#[derive(Debug, Clone, Default)]
pub struct DashboardLinks {
    public_url: Option<url::Url>,
}

impl DashboardLinks {
    pub fn new(public_url: Option<url::Url>) -> Self {
        Self { public_url }
    }

    /// The page of run `id`, e.g. `https://ops.example.com/dashboard/runs/42`.
    pub fn run(&self, id: i64) -> Option<String> {
        self.page(&format!("dashboard/runs/{id}"))
    }

    /// `path` (relative, no leading slash) under the public URL, which may itself have a
    /// path (`https://example.com/promptops`).
    fn page(&self, path: &str) -> Option<String> {
        let base = self.public_url.as_ref()?;
        Some(format!("{}/{path}", base.as_str().trim_end_matches('/')))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_exist_only_with_a_public_url_and_keep_its_path() {
        assert_eq!(DashboardLinks::default().run(4), None);
        let links = DashboardLinks::new(Some("https://example.com/promptops/".parse().unwrap()));
        assert_eq!(
            links.run(42).as_deref(),
            Some("https://example.com/promptops/dashboard/runs/42")
        );
    }
}
