//! People counted with what each gets: "5 users each with a T4 VM" (5 VMs), "3
//! developers, each gets 2 VMs" (6 VMs), "4 students each with a T4" (4 VMs, one T4 each).

use super::{CountKind, Head, Mentioned, Role, Scanner};

fn is_person_noun(word: &str) -> bool {
    matches!(
        word,
        "users"
            | "developers"
            | "devs"
            | "engineers"
            | "people"
            | "students"
            | "researchers"
            | "scientists"
            | "members"
            | "interns"
            | "analysts"
            | "teams"
            | "customers"
            | "tenants"
            | "participants"
            | "trainees"
            | "testers"
    )
}

/// What each of several people gets: how many, the index of that count (none for "their
/// own"), and whether VMs or GPUs.
struct Share {
    per_person: u32,
    count_index: Option<usize>,
    head: Head,
}

/// Words that may stand between "each" and what each gets ("each with", "each gets their").
fn leads_to_a_share(word: &str) -> bool {
    matches!(
        word,
        "with"
            | "gets"
            | "get"
            | "getting"
            | "having"
            | "has"
            | "have"
            | "needs"
            | "need"
            | "wants"
            | "want"
            | "using"
            | "on"
            | "should"
            | "receives"
            | "their"
            | "his"
            | "her"
            | "its"
            | "will"
    )
}

impl Scanner<'_> {
    /// "5 users each with a T4 VM" (5 VMs), "3 developers, each gets 2 VMs" (6 VMs),
    /// "4 students each with a T4" (4 VMs with one T4 each).
    pub(super) fn find_people_each(&mut self) {
        for i in 0..self.tokens.len() {
            if let Some((people, share)) = self.people_each_at(i) {
                self.push_people_each(i, people, share);
            }
        }
    }

    /// How many people the count at `i` names ("5 users ... each"), and what each gets.
    fn people_each_at(&self, i: usize) -> Option<(u32, Share)> {
        let word = self.free_word(i)?;
        if matches!(word, "a" | "an") {
            return None;
        }
        let people = self.count_word(i)?;
        let noun = (i + 1..i + 3).find(|j| self.word(*j).is_some_and(is_person_noun))?;
        let each = (noun + 1..noun + 4).find(|j| self.word(*j) == Some("each"))?;
        Some((people, self.share_after(each)?))
    }

    /// What each person gets, within a few words after "each" at `each`: "with 2 VMs",
    /// "gets a T4", "their own VM".
    fn share_after(&self, each: usize) -> Option<Share> {
        for j in each + 1..each + 5 {
            let next = self.word(j)?;
            if let Some(per_person) = self.count_word(j)
                && let Some(head) = self.find_head(j + 1)
            {
                return Some(Share {
                    per_person,
                    count_index: Some(j),
                    head,
                });
            }
            if next == "own"
                && let Some(head) = self.find_head(j + 1)
            {
                return Some(Share {
                    per_person: 1,
                    count_index: None,
                    head,
                });
            }
            if !leads_to_a_share(next) {
                return None;
            }
        }
        None
    }

    /// Records `people` VMs (times what each gets), or one VM each with the GPUs each gets.
    fn push_people_each(&mut self, i: usize, people: u32, share: Share) {
        let per_person = share.per_person;
        match share.head {
            Head::Vm(end) => {
                let written = self.written(i, end);
                let vms = people.saturating_mul(per_person);
                let reading = if per_person == 1 {
                    format!("\"{written}\" read as one VM for each of the {people}: {vms} VMs")
                } else {
                    format!(
                        "\"{written}\" read as {per_person} VMs for each of the {people}: {vms} VMs"
                    )
                };
                self.mentions.push_count(
                    CountKind::Vms,
                    Mentioned::new(vms, written).with_reading(reading),
                );
            }
            Head::Gpu(end) => {
                let written = self.written(i, end);
                let reading = format!(
                    "\"{written}\" read as one VM each: {people} VMs with {per_person} GPU(s) each"
                );
                self.mentions.push_count(
                    CountKind::Vms,
                    Mentioned::new(people, written.clone()).with_reading(reading),
                );
                self.mentions
                    .push_count(CountKind::PerVm, Mentioned::new(per_person, written));
            }
        }
        self.roles[i] = Role::Used;
        if let Some(j) = share.count_index {
            self.roles[j] = Role::Used;
        }
    }
}
