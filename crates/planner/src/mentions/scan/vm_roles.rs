//! VMs asked for in roles: "1 master + 3 workers, 8 GPUs per worker", "1 head node and 4
//! worker nodes with A100s", "3 T4 workers and 1 coordinator", "2 GPU nodes and a CPU
//! node". All VMs of one deployment are alike (one machine type, the same GPUs), so a
//! request for VMs in different roles cannot be planned as written. Before, the role's
//! count was no count at all ("head" or "master" is no VM noun), and the workers alone were
//! planned without a word. Now such a request is refused on both planners, naming each
//! group and what to write. Only a role listed with other VMs counts ("1 master + 3
//! workers", lines of a list); one named apart ("2 T4 VMs; the app talks to 1 database
//! server we already have") is context.
//!
//! A role alone ("2 head nodes with 2 T4 each", "a master node with 4 A100s") is a count of
//! VMs like any other: before, "2 head nodes" fell to the default of 1 VM.

use promptops_core::ValidationError;

use super::{CountKind, Head, Mentioned, Role, Scanner, Token, is_filler, is_vm_noun};

/// One count of VMs: its count and its first and last token.
#[derive(Clone, Copy)]
struct Group {
    count: u32,
    start: usize,
    end: usize,
}

/// A role that is a noun of its own: "1 master", "a coordinator". Other roles need a VM
/// noun after them ("a login node", "1 manager VM"): "1 manager" is as often a person.
fn is_role_noun(word: &str) -> bool {
    matches!(
        word,
        "master"
            | "masters"
            | "coordinator"
            | "coordinators"
            | "controller"
            | "controllers"
            | "scheduler"
            | "schedulers"
            | "bastion"
            | "bastions"
            | "jumpbox"
            | "jumphost"
    )
}

/// A role before a VM noun ("head node", "CPU node", "storage server").
fn is_role_adjective(word: &str) -> bool {
    is_role_noun(word)
        || matches!(
            word,
            "head"
                | "login"
                | "manager"
                | "leader"
                | "driver"
                | "chief"
                | "gateway"
                | "jump"
                | "cpu"
                | "cpu-only"
                | "storage"
                | "nfs"
                | "database"
                | "db"
                | "web"
                | "proxy"
                | "monitoring"
                | "control-plane"
                | "management"
        )
}

impl Scanner<'_> {
    /// Reads the roles of the request's VMs (see the module): refuses VMs in different
    /// roles, and counts a role's VMs when it is the only count of VMs.
    pub(super) fn find_vm_roles(&mut self) {
        let mut roles: Vec<Group> = (0..self.tokens.len())
            .filter_map(|i| self.role_group(i))
            .collect();
        if roles.is_empty() {
            return;
        }
        let inside =
            |groups: &[Group], i: usize| groups.iter().any(|g| (g.start..=g.end).contains(&i));
        let others: Vec<Group> = (0..self.tokens.len())
            .filter(|&i| !inside(&roles, i))
            .filter_map(|i| self.vm_group(i))
            .filter(|g| !inside(&roles, g.end))
            .collect();
        // A role named apart from the VMs asked for ("2 T4 VMs; the app talks to 1 database
        // server we already have") is context, not a VM of the request.
        if !others.is_empty() {
            let all: Vec<Group> = roles.iter().chain(&others).copied().collect();
            roles.retain(|role| all.iter().any(|other| self.side_by_side(role, other)));
            if roles.is_empty() {
                return;
            }
        }
        if self.read_roles_as_breakdown(&roles, &others) {
            return;
        }
        for group in roles.iter().chain(&others) {
            self.roles[group.start] = Role::Used;
        }
        if let ([only], []) = (roles.as_slice(), others.as_slice()) {
            let written = self.quoted(only.start, only.end);
            self.mentions
                .push_count(CountKind::Vms, Mentioned::new(only.count, written));
            return;
        }
        self.refuse_roles(&roles, &others);
    }

    /// "4 T4 VMs: 1 master and 3 workers": VMs counted first and then told apart by role
    /// are that count's VMs, all alike; the roles are said and not counted again.
    fn read_roles_as_breakdown(&mut self, roles: &[Group], others: &[Group]) -> bool {
        let Some((counted, rest)) = others.split_first() else {
            return false;
        };
        let parts: Vec<Group> = roles.iter().chain(rest).copied().collect();
        let sum = parts
            .iter()
            .fold(0u32, |sum, g| sum.saturating_add(g.count));
        if sum != counted.count || parts.iter().any(|g| g.start < counted.end) {
            return false;
        }
        let first = parts.iter().map(|g| g.start).min().unwrap_or(counted.end);
        let last = parts.iter().map(|g| g.end).max().unwrap_or(counted.end);
        let notice = format!(
            "\"{}\" read as the roles of the {} VMs; all VMs of a deployment have the same GPUs",
            self.quoted(first, last),
            counted.count
        );
        self.mentions.notices.push(notice);
        for part in &parts {
            self.roles[part.start] = Role::Used;
        }
        true
    }

    fn refuse_roles(&mut self, roles: &[Group], others: &[Group]) {
        let mut groups: Vec<Group> = roles.iter().chain(others).copied().collect();
        groups.sort_by_key(|g| g.start);
        let named: Vec<String> = groups
            .iter()
            .map(|g| format!("\"{}\"", self.quoted(g.start, g.end)))
            .collect();
        let named = match named.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => return,
        };
        let total = groups
            .iter()
            .fold(0u32, |sum, g| sum.saturating_add(g.count));
        let plain = others
            .iter()
            .fold(0u32, |sum, g| sum.saturating_add(g.count));
        let alone = if plain > 0 {
            format!("ask for the GPU VMs alone (e.g. \"{plain} VMs\"), or ")
        } else {
            String::new()
        };
        let message = format!(
            "{named} are VMs in different roles, but all VMs of a deployment are alike (one machine type, the same GPUs); {alone}for every VM with the same GPUs (e.g. \"{total} VMs\")"
        );
        let first = groups.first().map_or(0, |g| g.start);
        let last = groups.last().map_or(first, |g| g.end);
        let written = self.quoted(first, last);
        self.mentions
            .unclear
            .push(ValidationError::new("vm_count", &written, message));
    }

    /// A count of VMs in a role at `i`: "1 master", "a head node", "2 T4 coordinator VMs".
    fn role_group(&self, i: usize) -> Option<Group> {
        let count = self.count_word(i)?;
        // Past GPU names and fillers ("1 T4 head node", "a dedicated CPU node").
        let mut j = i + 1;
        while j < (i + 4).min(self.tokens.len())
            && (self.roles[j] == Role::Gpu || self.word(j).is_some_and(is_filler))
        {
            j += 1;
        }
        let word = self.free_word(j)?;
        if !is_role_adjective(word) {
            return None;
        }
        let noun_after = self.word(j + 1).is_some_and(is_vm_noun);
        let end = if noun_after {
            j + 1
        } else if is_role_noun(word) && self.ends_role_noun(j + 1) {
            j
        } else {
            return None;
        };
        Some(Group {
            count,
            start: i,
            end,
        })
    }

    /// A count of VMs at `i` with its noun ("3 workers", "4 worker nodes", "2 GPU nodes").
    fn vm_group(&self, i: usize) -> Option<Group> {
        let count = self.count_word(i)?;
        let Head::Vm(mut noun) = self.find_head(i + 1)? else {
            return None;
        };
        // "4 worker nodes": the noun is the last of them.
        while self.word(noun + 1).is_some_and(is_vm_noun) {
            noun += 1;
        }
        Some(Group {
            count,
            start: i,
            end: noun,
        })
    }

    /// Whether the token at `next` may follow a role that is its own noun: "1 master + 3
    /// workers", "a coordinator and 4 workers", "a coordinator, 4 workers"; not "a master
    /// student" or "a scheduler service".
    fn ends_role_noun(&self, next: usize) -> bool {
        match self.word(next) {
            None => true,
            Some(word) => {
                matches!(word, "and" | "plus" | "with" | "in" | "on" | "for")
                    || self.count_word(next).is_some()
            }
        }
    }

    /// Whether two groups are listed together: only joining words or marks stand between
    /// them ("1 master + 3 workers", "3 T4 workers and 1 coordinator", "- 1 head node⏎- 4
    /// workers").
    fn side_by_side(&self, a: &Group, b: &Group) -> bool {
        let (left, right) = if a.end < b.start {
            (a, b)
        } else if b.end < a.start {
            (b, a)
        } else {
            return false;
        };
        (left.end + 1..right.start).all(|j| match &self.tokens[j] {
            Token::Break(_) => true,
            Token::Word(word) => matches!(word.as_str(), "and" | "plus" | "with" | "also" | "&"),
        })
    }
}
