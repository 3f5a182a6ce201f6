//! Run logs: the file each run phase's complete masked output goes to, and how long those
//! files are kept.
//!
//! A log is named `<deployment>.<kind>-<random>-<phase>.log`: the `.` (never part of a
//! deployment name) says whose log it is, and the known phase suffix says which run
//! (`<deployment>.<kind>-<random>`) it belongs to, so that retention can count runs rather
//! than files (a run writes one to three logs).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Runs per deployment whose logs are kept by default.
pub const DEFAULT_KEEP_RUNS_PER_DEPLOYMENT: usize = 20;

/// Age after which a log is deleted by default, whatever its deployment.
pub const DEFAULT_MAX_LOG_AGE: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// How many run logs are kept. Pruning happens after each run, for that run's deployment
/// (count) and for every log in the log dir (age).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRetention {
    /// The logs of this many newest runs of a deployment are kept; older runs' logs are
    /// deleted. At least 1 (the run just finished).
    pub keep_runs_per_deployment: usize,
    /// Logs last written longer ago than this are deleted; `None` keeps logs regardless of age.
    pub max_age: Option<Duration>,
}

impl Default for LogRetention {
    fn default() -> LogRetention {
        LogRetention {
            keep_runs_per_deployment: DEFAULT_KEEP_RUNS_PER_DEPLOYMENT,
            max_age: Some(DEFAULT_MAX_LOG_AGE),
        }
    }
}

impl LogRetention {
    /// The problem with these settings, if any: (setting, message).
    pub(crate) fn problem(&self) -> Option<(&'static str, String)> {
        if self.keep_runs_per_deployment == 0 {
            return Some((
                "log_retention.keep_runs_per_deployment",
                "must be at least 1 (the run just finished)".into(),
            ));
        }
        if self.max_age.is_some_and(|age| age.is_zero()) {
            return Some((
                "log_retention.max_age",
                "must be longer than zero, or None to keep logs regardless of age".into(),
            ));
        }
        None
    }
}

/// The phases that write a log; their names end the log file names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogPhase {
    Plan,
    DestroyPlan,
    Apply,
    Output,
    Invoke,
}

impl LogPhase {
    // Longest first, so that `-destroy-plan.log` is not read as `-plan.log`.
    const ALL: [LogPhase; 5] = [
        LogPhase::DestroyPlan,
        LogPhase::Output,
        LogPhase::Invoke,
        LogPhase::Apply,
        LogPhase::Plan,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LogPhase::Plan => "plan",
            LogPhase::DestroyPlan => "destroy-plan",
            LogPhase::Apply => "apply",
            LogPhase::Output => "output",
            LogPhase::Invoke => "invoke",
        }
    }
}

/// The stem shared by one run's logs: `<deployment>.<kind>-<id>`, where `id` is the
/// unique part of the run's work dir name.
pub(crate) fn run_stem(deployment: &str, kind: &str, id: &str) -> String {
    format!("{deployment}.{kind}-{id}")
}

/// The log file of one phase of a run.
pub(crate) fn log_path(log_dir: &Path, run_stem: &str, phase: LogPhase) -> PathBuf {
    log_dir.join(format!("{run_stem}-{}.log", phase.as_str()))
}

/// (deployment, run) of a log file name written by [`log_path`]; `None` for other files.
fn parse_log_name(file_name: &str) -> Option<(&str, &str)> {
    let (deployment, _) = file_name.split_once('.')?;
    let run = LogPhase::ALL
        .iter()
        .find_map(|phase| file_name.strip_suffix(&format!("-{}.log", phase.as_str())))?;
    (!deployment.is_empty() && run.len() > deployment.len() + 1).then_some((deployment, run))
}

/// What one pruning pass did.
#[derive(Debug, Default)]
pub struct PrunedLogs {
    /// Log files deleted.
    pub removed: Vec<PathBuf>,
    /// Log files that should have been deleted but could not be, with the reason.
    pub failed: Vec<(PathBuf, io::Error)>,
}

/// Deletes, in `log_dir`, every `.log` file last modified more than `retention.max_age`
/// before `now`, and the logs of `deployment`'s runs beyond the newest
/// `retention.keep_runs_per_deployment` (a run's age is that of its newest log).
/// A file that is already gone counts as neither removed nor failed (another pass got it).
pub fn prune_run_logs(
    log_dir: &Path,
    deployment: &str,
    retention: &LogRetention,
    now: SystemTime,
) -> io::Result<PrunedLogs> {
    let mut doomed: Vec<PathBuf> = Vec::new();
    // run stem → (newest modification time, files)
    let mut runs: BTreeMap<String, (SystemTime, Vec<PathBuf>)> = BTreeMap::new();
    for entry in std::fs::read_dir(log_dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.ends_with(".log") {
            continue;
        }
        let metadata = match entry.metadata() {
            Ok(metadata) if metadata.is_file() => metadata,
            // A directory, or a file deleted meanwhile.
            _ => continue,
        };
        let modified = metadata.modified()?;
        let age = now.duration_since(modified).unwrap_or(Duration::ZERO);
        if retention.max_age.is_some_and(|max| age > max) {
            doomed.push(entry.path());
            continue;
        }
        if let Some((owner, run)) = parse_log_name(name)
            && owner == deployment
        {
            let slot = runs.entry(run.to_owned()).or_insert((modified, Vec::new()));
            slot.0 = slot.0.max(modified);
            slot.1.push(entry.path());
        }
    }
    let mut runs: Vec<(String, (SystemTime, Vec<PathBuf>))> = runs.into_iter().collect();
    // Newest first; equal times by name so the order does not depend on the directory's.
    runs.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| b.0.cmp(&a.0)));
    for (_, (_, files)) in runs.into_iter().skip(retention.keep_runs_per_deployment) {
        doomed.extend(files);
    }
    let mut pruned = PrunedLogs::default();
    for path in doomed {
        match std::fs::remove_file(&path) {
            Ok(()) => pruned.removed.push(path),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => pruned.failed.push((path, err)),
        }
    }
    pruned.removed.sort();
    Ok(pruned)
}

/// [`prune_run_logs`] off the async threads, at the current time. A failure to prune is
/// logged, never the run's failure: the run itself is done and reported.
pub(crate) async fn prune_after_run(log_dir: &Path, deployment: &str, retention: LogRetention) {
    let (dir, owner) = (log_dir.to_path_buf(), deployment.to_owned());
    let now = SystemTime::now();
    let pruned =
        tokio::task::spawn_blocking(move || prune_run_logs(&dir, &owner, &retention, now)).await;
    match pruned {
        Ok(Ok(pruned)) => {
            if !pruned.removed.is_empty() {
                tracing::debug!(
                    deployment,
                    removed = pruned.removed.len(),
                    "pruned run logs"
                );
            }
            for (path, err) in pruned.failed {
                tracing::warn!(
                    deployment,
                    path = %path.display(),
                    error = %err,
                    "could not delete an old run log"
                );
            }
        }
        Ok(Err(err)) => tracing::warn!(
            deployment,
            log_dir = %log_dir.display(),
            error = %err,
            "could not prune run logs"
        ),
        Err(err) => tracing::warn!(deployment, error = %err, "run log pruning stopped"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_names_say_deployment_and_run() {
        let stem = run_stem("web-db", "destroy-plan", "Ab12Cd");
        assert_eq!(stem, "web-db.destroy-plan-Ab12Cd");
        let path = log_path(Path::new("/logs"), &stem, LogPhase::DestroyPlan);
        assert_eq!(
            path,
            Path::new("/logs/web-db.destroy-plan-Ab12Cd-destroy-plan.log")
        );
        let name = path.file_name().unwrap().to_str().unwrap();
        assert_eq!(
            parse_log_name(name),
            Some(("web-db", "web-db.destroy-plan-Ab12Cd"))
        );
        assert_eq!(
            parse_log_name("web.apply-xyz123-output.log"),
            Some(("web", "web.apply-xyz123"))
        );
        // Logs written before this naming, and other files, belong to no deployment.
        assert_eq!(parse_log_name("web-plan-Ab12Cd-plan.log"), None);
        assert_eq!(parse_log_name("web.plan-Ab12Cd-notes.txt"), None);
    }

    #[test]
    fn retention_settings_are_checked() {
        assert_eq!(LogRetention::default().problem(), None);
        let none_kept = LogRetention {
            keep_runs_per_deployment: 0,
            ..LogRetention::default()
        };
        assert_eq!(
            none_kept.problem().map(|p| p.0),
            Some("log_retention.keep_runs_per_deployment")
        );
        let zero_age = LogRetention {
            max_age: Some(Duration::ZERO),
            ..LogRetention::default()
        };
        assert_eq!(
            zero_age.problem().map(|p| p.0),
            Some("log_retention.max_age")
        );
    }
}
