//! People counted with what each gets: "5 users each with a T4 VM" (5 VMs), "3
//! developers, each gets 2 VMs" (6 VMs), "4 students each with a T4" (4 VMs, one T4 each),
//! "10 people need a T4 each", "one T4 per person, 4 people", "30 attendees. Each attendee
//! needs a VM with a T4". A count of people that says
//! not what each gets ("T4 GPUs for 5 people") is refused when no VM count was read: the
//! default of one VM would drop it.

use promptops_core::ValidationError;

use super::tokens::{Boundary, Token};
use super::{CountKind, Head, Mentioned, Role, Scanner, is_gpu_noun, is_vm_noun};

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
            | "attendees"
            | "learners"
            | "employees"
            | "colleagues"
            | "teammates"
            | "contractors"
            | "collaborators"
            | "clients"
    )
}

/// One of the people `is_person_noun` counts: "per person", "for each developer".
fn is_one_person(word: &str) -> bool {
    word == "person" || is_person_noun(&format!("{word}s"))
}

/// What each of several people gets: how many, the index of that count (none for "their
/// own"), and whether VMs or GPUs.
#[derive(Clone, Copy)]
pub(super) struct Share {
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

/// A share per person in a request that counts no people, and the index of the word
/// naming the person ("developer").
#[derive(Clone, Copy)]
pub(super) struct PersonShare {
    share: Share,
    person: usize,
}

impl Scanner<'_> {
    /// "5 users each with a T4 VM" (5 VMs), "3 developers, each gets 2 VMs" (6 VMs),
    /// "4 students each with a T4" (4 VMs with one T4 each).
    pub(super) fn find_people_each(&mut self) {
        // Looked for once: a request may count people many times.
        let per_person = self.share_per_person();
        let mut counted = false;
        for i in 0..self.tokens.len() {
            if let Some((people, share)) = self.people_each_at(i, per_person.map(|p| p.share)) {
                self.push_people_each(i, people, share);
                counted = true;
            }
        }
        // "Each user needs a T4 VM" with no number of users: the share's own count ("a T4
        // VM") is not a count of the deployment, which was planned at 1 VM.
        if let Some(share) = per_person.filter(|_| !counted) {
            if let Some(j) = share.share.count_index {
                self.roles[j] = Role::Used;
            }
            self.share_without_people = Some(share);
        }
    }

    /// How many people the count at `i` names ("5 users ... each"), and what each gets:
    /// after "each" ("each with a T4") or before it ("need a T4 each"), or before "per
    /// person" anywhere in the request ("one T4 per person, 4 people").
    fn people_each_at(&self, i: usize, per_person: Option<Share>) -> Option<(u32, Share)> {
        let (people, noun) = self.people_at(i)?;
        let each = (noun + 1..noun + 9).find(|j| self.word(*j) == Some("each"));
        let share = match each {
            Some(each) => self
                .share_after(each)
                .or_else(|| self.share_ending_at(noun + 1, each)),
            None => None,
        };
        Some((people, share.or(per_person)?))
    }

    /// A count of people at `i` ("5 users"), and where its noun stands.
    fn people_at(&self, i: usize) -> Option<(u32, usize)> {
        let word = self.free_word(i)?;
        if matches!(word, "a" | "an") {
            return None;
        }
        let people = self.count_word(i)?;
        let noun = (i + 1..i + 3).find(|j| self.word(*j).is_some_and(is_person_noun))?;
        Some((people, noun))
    }

    /// A count and what it counts, ending right before `end` and starting at or after
    /// `from`: the "a T4" of "need a T4 each", the "one T4" of "one T4 per person".
    fn share_ending_at(&self, from: usize, end: usize) -> Option<Share> {
        (from.max(end.saturating_sub(5))..end).find_map(|k| {
            let per_person = self.count_word(k)?;
            let head = self.find_head(k + 1)?;
            let (Head::Vm(last) | Head::Gpu(last)) = head;
            (last + 1 == end).then_some(Share {
                per_person,
                count_index: Some(k),
                head,
            })
        })
    }

    /// What "per person" (or "each developer", "for every user") follows, first in the
    /// request: "one T4 per person"; or what it leads to: "each attendee needs a VM with a
    /// T4" (with "30 attendees" elsewhere, it was planned at 1 VM).
    fn share_per_person(&self) -> Option<PersonShare> {
        (1..self.tokens.len()).find_map(|j| {
            let marker = matches!(self.word(j - 1)?, "per" | "each" | "every");
            if !(marker && is_one_person(self.word(j)?)) {
                return None;
            }
            let before = if j >= 2 && self.word(j - 2) == Some("for") {
                j - 2
            } else {
                j - 1
            };
            self.share_ending_at(0, before)
                .or_else(|| self.share_after(j))
                .or_else(|| self.share_of_noun_before(before))
                .map(|share| PersonShare { share, person: j })
        })
    }

    /// A bare count right before `end` whose noun was named just before it: the "one" of
    /// "T4 VMs, one per engineer".
    fn share_of_noun_before(&self, end: usize) -> Option<Share> {
        let k = end.checked_sub(1)?;
        let per_person = self.count_word(k)?;
        let head = (k.saturating_sub(4)..k)
            .rev()
            .find_map(|m| match &self.tokens[m] {
                Token::Word(word) if is_vm_noun(word) => Some(Some(Head::Vm(m))),
                Token::Word(word) if is_gpu_noun(word) || self.roles[m] == Role::Gpu => {
                    Some(Some(Head::Gpu(m)))
                }
                Token::Break(Boundary::Line) => Some(None),
                _ => None,
            })??;
        Some(Share {
            per_person,
            count_index: Some(k),
            head,
        })
    }

    /// Reads a share per person when no people were counted: GPUs per person on the VMs or
    /// GPUs the request counts ("3 VMs, one T4 per developer" is one T4 on each VM); else
    /// refused, since how many people is what the deployment's size depends on.
    pub(super) fn read_share_without_people(&mut self) {
        let Some(PersonShare { share, person }) = self.share_without_people else {
            return;
        };
        let (Head::Vm(end) | Head::Gpu(end)) = share.head;
        let from = share.count_index.map_or(person - 1, |k| k.min(person - 1));
        let written = self.quoted(from, end.max(person));
        let counted = !self.mentions.vm_count.is_empty();
        let gpus_counted = counted || !self.mentions.total_gpus.is_empty();
        match share.head {
            Head::Gpu(_) if gpus_counted => {
                let reading = format!(
                    "\"{written}\" read as {} GPU(s) on each VM: the request names no number of {}",
                    share.per_person,
                    self.people_word(person)
                );
                self.mentions.push_count(
                    CountKind::PerVm,
                    Mentioned::new(share.per_person, written).with_reading(reading),
                );
            }
            Head::Vm(_) if counted => self.mentions.notices.push(format!(
                "\"{written}\" was not read as a count: the request names no number of {}",
                self.people_word(person)
            )),
            _ => {
                let people = self.people_word(person);
                self.errors.push(ValidationError::new(
                    "vm_count",
                    &written,
                    format!(
                        "\"{written}\" does not say how many {people} there are; write their number (\"5 {people}, each with {gpu} VM\") or the number of VMs",
                        gpu = self.one_example_gpu(),
                    ),
                ));
            }
        }
    }

    /// The plural of the person word at `j` ("developer": "developers").
    fn people_word(&self, j: usize) -> String {
        match self.word(j) {
            Some("person") | None => "people".to_owned(),
            Some(word) if is_person_noun(word) => word.to_owned(),
            Some(word) => format!("{word}s"),
        }
    }

    /// Refuses a count of people that says not what each gets ("T4 GPUs for 5 people")
    /// when no VM or GPU total was read: the deployment would be planned at one VM, the
    /// people dropped.
    pub(super) fn refuse_unread_people(&mut self) {
        if !(self.mentions.vm_count.is_empty() && self.mentions.total_gpus.is_empty()) {
            self.note_people_beside_vms();
            return;
        }
        for i in 0..self.tokens.len() {
            let Some((people, noun)) = self.people_at(i) else {
                continue;
            };
            let written = self.quoted(i, noun);
            let message = format!(
                "\"{written}\" does not say how many VMs or GPUs they need; write what each gets (\"{people} {noun}, each with {gpu} VM\") or the number of VMs",
                noun = self.word(noun).unwrap_or("people"),
                gpu = self.one_example_gpu(),
            );
            self.errors
                .push(ValidationError::new("vm_count", &written, message));
            self.roles[i] = Role::Used;
        }
    }

    /// A count of people beside a VM count that differs ("a T4 VM for 3 interns"): the VMs
    /// are planned as stated, and the plan says the people share them, with what to write
    /// for one each. Before, the people were passed over without a word.
    fn note_people_beside_vms(&mut self) {
        let Some(vms) = self.mentions.vm_count.first().map(|m| m.value) else {
            return;
        };
        for i in 0..self.tokens.len() {
            let Some((people, noun)) = self.people_at(i) else {
                continue;
            };
            if people == vms {
                continue;
            }
            let written = self.quoted(i, noun);
            self.mentions.notices.push(format!(
                "\"{written}\" is read as who uses the deployment: {vms} VM(s) planned as stated; for one VM each write \"{written}, each with {gpu} VM\"",
                gpu = self.one_example_gpu(),
            ));
            self.roles[i] = Role::Used;
        }
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
        // The words from the first of the two counts to the last of their nouns: the share
        // may come first ("one T4 per person, 4 people").
        let written_to = |end: usize| {
            let from = share.count_index.map_or(i, |j| j.min(i));
            let to = if end > i { end } else { i + 1 };
            self.written(from, to)
        };
        match share.head {
            Head::Vm(end) => {
                let written = written_to(end);
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
                let written = written_to(end);
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
