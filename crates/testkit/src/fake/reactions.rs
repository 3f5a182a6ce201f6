//! What tests read about reactions.

use super::FakeGithub;
use crate::fault::lock;
use crate::model::Reaction;

impl FakeGithub {
    /// The reactions on comment `comment_id` of `repo` (`owner/name`), oldest first.
    pub fn reactions(&self, repo: &str, comment_id: u64) -> Vec<Reaction> {
        lock(&self.state)
            .reactions
            .iter()
            .filter(|r| r.repo.eq_ignore_ascii_case(repo) && r.comment_id == comment_id)
            .cloned()
            .collect()
    }
}
