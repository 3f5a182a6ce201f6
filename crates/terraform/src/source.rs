//! Materialising the source in a per-run work dir: a GitHub tarball (top-level directory
//! stripped, nothing allowed to land or point outside) or a copy of a directory.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::error::RunnerError;

/// Limits that keep a hostile tarball from filling the memory or the disk.
#[derive(Debug, Clone, Copy)]
pub struct SourceLimits {
    /// The gzip'd archive itself, as downloaded: it is held in memory whole, so a larger
    /// one is refused while it downloads (`download_tarball`) and before extraction.
    pub max_archive_bytes: u64,
    /// The extracted files' contents, together.
    pub max_total_bytes: u64,
    pub max_entries: usize,
}

impl Default for SourceLimits {
    fn default() -> Self {
        SourceLimits {
            max_archive_bytes: 512 * 1024 * 1024,
            max_total_bytes: 512 * 1024 * 1024,
            max_entries: 100_000,
        }
    }
}

/// Extracts a gzip tarball into `dest` (which must exist and be empty), stripping the
/// single top-level directory. Rejects absolute paths, `..`, links, devices, a second
/// top-level directory, and symlinks that resolve outside `dest`.
pub fn extract_tarball(bytes: &[u8], dest: &Path, limits: SourceLimits) -> Result<(), RunnerError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(bad(format!(
            "not a gzip tar archive (the {} bytes do not start with the gzip magic number)",
            bytes.len()
        )));
    }
    if bytes.len() as u64 > limits.max_archive_bytes {
        return Err(bad(format!(
            "the archive is {} bytes, over the limit of {}",
            bytes.len(),
            limits.max_archive_bytes
        )));
    }
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let root = dest
        .canonicalize()
        .map_err(RunnerError::io(format!("open work dir {}", dest.display())))?;
    let mut extraction = Extraction {
        root,
        limits,
        top: None,
        total: 0,
        symlinks: Vec::new(),
    };
    let entries = archive
        .entries()
        .map_err(|err| bad(format!("not a gzip tar archive: {err}")))?;
    for (index, entry) in entries.enumerate() {
        if index >= limits.max_entries {
            return Err(bad(format!("more than {} entries", limits.max_entries)));
        }
        let entry = entry.map_err(|err| bad(format!("unreadable entry: {err}")))?;
        extraction.entry(entry)?;
    }
    extraction.finish()
}

fn bad(message: String) -> RunnerError {
    RunnerError::BadTarball(message)
}

/// One tarball's extraction under way: what the entries so far established.
struct Extraction {
    /// The work dir, symlinks resolved.
    root: PathBuf,
    limits: SourceLimits,
    /// The one top-level directory, once the first entry named it.
    top: Option<OsString>,
    /// Bytes unpacked so far (as the headers declare them).
    total: u64,
    /// Symlinks created, checked once every entry is in place.
    symlinks: Vec<PathBuf>,
}

impl Extraction {
    /// Unpacks one entry below the work dir, or refuses it.
    fn entry<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<(), RunnerError> {
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            return Ok(());
        }
        let path = entry
            .path()
            .map_err(|err| bad(format!("entry with an unreadable path: {err}")))?
            .into_owned();
        let relative = self.strip_top(&path)?;
        if relative.as_os_str().is_empty() {
            return Ok(());
        }
        self.total = self.total.saturating_add(entry.size());
        if self.total > self.limits.max_total_bytes {
            return Err(bad(format!(
                "more than {} bytes unpacked",
                self.limits.max_total_bytes
            )));
        }
        let target = self.root.join(&relative);
        if kind.is_dir() {
            std::fs::create_dir_all(&target)
                .map_err(RunnerError::io(format!("create {}", target.display())))?;
            return ensure_inside(&self.root, &target, &path);
        }
        if !(kind.is_file() || kind.is_symlink() || kind == tar::EntryType::Continuous) {
            return Err(bad(format!(
                "entry {} has an unsupported type ({kind:?}); only files, directories and symlinks are allowed",
                path.display()
            )));
        }
        let parent = target.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(parent)
            .map_err(RunnerError::io(format!("create {}", parent.display())))?;
        // A symlink extracted earlier must not redirect this write outside the work dir.
        ensure_inside(&self.root, parent, &path)?;
        if kind.is_symlink() {
            create_symlink(&entry, &path, &target)?;
            self.symlinks.push(target);
            return Ok(());
        }
        write_file(&mut entry, &path, &target, self.limits.max_total_bytes)
    }

    /// `path` below the archive's one top-level directory; refuses a second top-level
    /// directory and any component that is not a plain name.
    fn strip_top(&mut self, path: &Path) -> Result<PathBuf, RunnerError> {
        let mut components = path.components();
        let first = match components.next() {
            Some(Component::Normal(first)) => first.to_os_string(),
            _ => {
                return Err(bad(format!(
                    "entry {} is not under a top-level directory",
                    path.display()
                )));
            }
        };
        match &self.top {
            None => self.top = Some(first),
            Some(existing) if *existing == first => {}
            Some(existing) => {
                return Err(bad(format!(
                    "more than one top-level directory ({} and {})",
                    Path::new(existing).display(),
                    Path::new(&first).display()
                )));
            }
        }
        let mut relative = PathBuf::new();
        for component in components {
            match component {
                Component::Normal(part) => relative.push(part),
                Component::CurDir => {}
                _ => {
                    return Err(bad(format!(
                        "entry {} escapes the archive directory",
                        path.display()
                    )));
                }
            }
        }
        Ok(relative)
    }

    /// Refuses an empty archive and a symlink that, with everything in place, resolves
    /// outside the work dir.
    fn finish(self) -> Result<(), RunnerError> {
        if self.top.is_none() {
            return Err(bad("the archive is empty".into()));
        }
        for link in &self.symlinks {
            ensure_inside(&self.root, link, link)?;
        }
        Ok(())
    }
}

/// Creates the symlink entry `path` at `target`; its target must be relative.
fn create_symlink<R: Read>(
    entry: &tar::Entry<'_, R>,
    path: &Path,
    target: &Path,
) -> Result<(), RunnerError> {
    let link = entry
        .link_name()
        .map_err(|err| {
            bad(format!(
                "symlink {} has an unreadable target: {err}",
                path.display()
            ))
        })?
        .ok_or_else(|| bad(format!("symlink {} has no target", path.display())))?
        .into_owned();
    if link.is_absolute() {
        return Err(bad(format!(
            "symlink {} points to the absolute path {}",
            path.display(),
            link.display()
        )));
    }
    std::os::unix::fs::symlink(&link, target).map_err(RunnerError::io(format!(
        "create symlink {}",
        target.display()
    )))
}

/// Writes the file entry `path` to `target` (at most `max_bytes`), executable when the
/// archive says so.
fn write_file<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    path: &Path,
    target: &Path,
    max_bytes: u64,
) -> Result<(), RunnerError> {
    let mut file = std::fs::File::create(target)
        .map_err(RunnerError::io(format!("create {}", target.display())))?;
    let copied = std::io::copy(&mut (&mut *entry).take(max_bytes), &mut file)
        .map_err(|err| bad(format!("entry {} could not be read: {err}", path.display())))?;
    if copied != entry.size() && entry.size() != 0 {
        return Err(bad(format!("entry {} is truncated", path.display())));
    }
    if entry.header().mode().is_ok_and(|mode| mode & 0o111 != 0) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o755))
            .map_err(RunnerError::io(format!("chmod {}", target.display())))?;
    }
    Ok(())
}

/// Fails unless `path`, with every symlink resolved, is `root` or below it.
fn ensure_inside(root: &Path, path: &Path, shown: &Path) -> Result<(), RunnerError> {
    match path.canonicalize() {
        Ok(resolved) if resolved.starts_with(root) => Ok(()),
        Ok(resolved) => Err(RunnerError::BadTarball(format!(
            "{} resolves to {}, outside the archive directory",
            shown.strip_prefix(root).unwrap_or(shown).display(),
            resolved.display()
        ))),
        Err(err) => Err(RunnerError::BadTarball(format!(
            "{} does not resolve: {err}",
            shown.strip_prefix(root).unwrap_or(shown).display()
        ))),
    }
}

/// Copies `from` into `dest`: directories and regular files; `.terraform` dirs, state
/// files and symlinks are left behind (a checkout's local state must not leak into a run).
pub fn copy_dir(from: &Path, dest: &Path) -> Result<(), RunnerError> {
    let fail = |message: String| RunnerError::BadSourceDir {
        path: from.to_path_buf(),
        message,
    };
    let meta = std::fs::metadata(from).map_err(|err| fail(err.to_string()))?;
    if !meta.is_dir() {
        return Err(fail("not a directory".into()));
    }
    let mut stack = vec![(from.to_path_buf(), dest.to_path_buf())];
    while let Some((src, dst)) = stack.pop() {
        std::fs::create_dir_all(&dst).map_err(|err| fail(format!("{}: {err}", dst.display())))?;
        for entry in
            std::fs::read_dir(&src).map_err(|err| fail(format!("{}: {err}", src.display())))?
        {
            let entry = entry.map_err(|err| fail(err.to_string()))?;
            let name = entry.file_name();
            let kind = entry.file_type().map_err(|err| fail(err.to_string()))?;
            let skip = name == ".terraform"
                || name == ".git"
                || Path::new(&name)
                    .extension()
                    .is_some_and(|ext| ext == "tfstate" || ext == "backup");
            if skip || kind.is_symlink() {
                continue;
            }
            if kind.is_dir() {
                stack.push((entry.path(), dst.join(&name)));
            } else if kind.is_file() {
                std::fs::copy(entry.path(), dst.join(&name))
                    .map_err(|err| fail(format!("{}: {err}", entry.path().display())))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tarball(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        build(&mut builder);
        let tar = builder.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        gz.finish().unwrap()
    }

    fn file(builder: &mut tar::Builder<Vec<u8>>, path: &str, body: &[u8]) {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, body).unwrap();
    }

    fn raw_file(builder: &mut tar::Builder<Vec<u8>>, path: &str, body: &[u8]) {
        // append_data refuses '..'; write the name into the header directly.
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, body).unwrap();
    }

    fn symlink(builder: &mut tar::Builder<Vec<u8>>, path: &str, target: &str) {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        builder.append_link(&mut header, path, target).unwrap();
    }

    #[test]
    fn strips_the_top_level_directory() {
        let bytes = tarball(|b| {
            file(b, "owner-repo-abc123/terraform/main.tf", b"# main");
            file(b, "owner-repo-abc123/README.md", b"readme");
            symlink(b, "owner-repo-abc123/terraform/link.tf", "main.tf");
        });
        let dir = tempfile::tempdir().unwrap();
        extract_tarball(&bytes, dir.path(), SourceLimits::default()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("terraform/main.tf")).unwrap(),
            "# main"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("terraform/link.tf")).unwrap(),
            "# main"
        );
        assert!(dir.path().join("README.md").is_file());
    }

    #[test]
    fn rejects_traversal_escaping_symlinks_and_two_roots() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (tarball(|b| raw_file(b, "top/../../evil", b"x")), "escapes"),
            (
                tarball(|b| symlink(b, "top/link", "/etc/passwd")),
                "absolute",
            ),
            (
                tarball(|b| {
                    symlink(b, "top/up", "../../..");
                }),
                "outside",
            ),
            (
                tarball(|b| {
                    symlink(b, "top/dir", "..");
                    file(b, "top/dir/escaped.txt", b"x");
                }),
                "outside",
            ),
            (
                tarball(|b| {
                    file(b, "a/x", b"1");
                    file(b, "b/y", b"2");
                }),
                "more than one top-level",
            ),
            (b"not a tarball".to_vec(), "gzip"),
        ];
        for (bytes, expected) in cases {
            let outer = tempfile::tempdir().unwrap();
            let dest = outer.path().join("src");
            std::fs::create_dir(&dest).unwrap();
            let err = extract_tarball(&bytes, &dest, SourceLimits::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
            assert!(!outer.path().join("evil").exists());
            assert!(!outer.path().join("escaped.txt").exists());
        }
    }

    #[test]
    fn enforces_the_size_limit() {
        let bytes = tarball(|b| file(b, "top/big", &vec![b'x'; 10_000]));
        let dir = tempfile::tempdir().unwrap();
        let limits = SourceLimits {
            max_archive_bytes: 1_000_000,
            max_total_bytes: 1000,
            max_entries: 10,
        };
        let err = extract_tarball(&bytes, dir.path(), limits).unwrap_err();
        assert!(err.to_string().contains("more than 1000 bytes"));
    }

    #[test]
    fn refuses_an_archive_over_its_own_limit_before_reading_it() {
        let bytes = tarball(|b| file(b, "top/small", b"x"));
        let dir = tempfile::tempdir().unwrap();
        let limit = bytes.len() as u64 - 1;
        let limits = SourceLimits {
            max_archive_bytes: limit,
            ..SourceLimits::default()
        };
        let err = extract_tarball(&bytes, dir.path(), limits).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("over the limit of {limit}")),
            "{err}"
        );
        assert!(!dir.path().join("small").exists());
        let fits = SourceLimits {
            max_archive_bytes: limit + 1,
            ..SourceLimits::default()
        };
        extract_tarball(&bytes, dir.path(), fits).unwrap();
        assert!(dir.path().join("small").is_file());
    }

    #[test]
    fn copies_a_directory_without_local_state() {
        let src = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(src.path().join("terraform/.terraform")).unwrap();
        std::fs::write(src.path().join("terraform/main.tf"), "x").unwrap();
        std::fs::write(src.path().join("terraform/terraform.tfstate"), "{}").unwrap();
        let dst = tempfile::tempdir().unwrap();
        copy_dir(src.path(), dst.path()).unwrap();
        assert!(dst.path().join("terraform/main.tf").is_file());
        assert!(!dst.path().join("terraform/.terraform").exists());
        assert!(!dst.path().join("terraform/terraform.tfstate").exists());
    }
}
