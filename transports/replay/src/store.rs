//! Writing cassettes safely: one writer at a time, atomic replacement, and no
//! temporary file left behind.
//!
//! - **Locks.** A writer holds an advisory lock (`flock`) on a lock file kept in
//!   the system's temp directory, named after the cassette's absolute path, so
//!   no lock file ever lands next to a cassette. A second writer of the same
//!   cassette fails at once with [`CassetteError::Locked`], rather than losing
//!   one recording without a word. The lock ends with its holder, even on
//!   `kill -9`.
//! - **Atomic writes.** The new text goes to a temporary file in the same
//!   directory, is flushed to disk, then renamed over the cassette. A failure
//!   removes the temporary file; a writer killed before it could do so leaves
//!   one behind, which the next writer (holding the lock, so it cannot be
//!   anyone's work in progress) removes.

use std::fs::{self, File, TryLockError};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::cassette::CassetteError;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The exclusive right to write one cassette, until dropped.
#[derive(Debug)]
pub(crate) struct CassetteLock {
    _file: File,
    path: PathBuf,
}

impl CassetteLock {
    /// Takes the lock of the cassette at `path`, or fails at once if another
    /// writer (in this process or another) holds it.
    pub(crate) fn acquire(path: &Path) -> Result<CassetteLock, CassetteError> {
        let io_err = |action: &'static str| {
            move |source: io::Error| CassetteError::Io {
                path: path.to_owned(),
                action,
                source,
            }
        };
        let dir = parent_of(path);
        fs::create_dir_all(&dir).map_err(io_err("create its directory"))?;
        let absolute = fs::canonicalize(&dir)
            .map_err(io_err("find its directory"))?
            .join(path.file_name().unwrap_or_default());
        let mut hasher = DefaultHasher::new();
        absolute.hash(&mut hasher);
        let locks = std::env::temp_dir().join("leap0-cassette-locks");
        fs::create_dir_all(&locks).map_err(io_err("create the lock directory"))?;
        let lock_path = locks.join(format!("{:016x}.lock", hasher.finish()));
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err("open its lock file"))?;
        match file.try_lock() {
            Ok(()) => Ok(CassetteLock {
                _file: file,
                path: path.to_owned(),
            }),
            Err(TryLockError::WouldBlock) => Err(CassetteError::Locked {
                path: path.to_owned(),
            }),
            Err(TryLockError::Error(source)) => Err(io_err("lock")(source)),
        }
    }

    /// Writes `bytes` over the cassette, atomically (see the module docs).
    pub(crate) fn write(&self, bytes: &[u8]) -> Result<(), CassetteError> {
        write_atomically(&self.path, bytes)
    }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A temporary file removed when dropped, unless renamed into place.
struct Temp {
    path: PathBuf,
    committed: bool,
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CassetteError> {
    let io_err = |action: &'static str| {
        move |source: io::Error| CassetteError::Io {
            path: path.to_owned(),
            action,
            source,
        }
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| {
            io_err("write")(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path has no file name",
            ))
        })?
        .to_string_lossy()
        .into_owned();
    let dir = parent_of(path);
    fs::create_dir_all(&dir).map_err(io_err("create its directory"))?;
    remove_stale_temps(&dir, &file_name);
    let mut temp = Temp {
        path: dir.join(format!(
            ".{file_name}.{}-{}.tmp",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        )),
        committed: false,
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp.path)
        .map_err(io_err("create a temporary file for"))?;
    file.write_all(bytes).map_err(io_err("write"))?;
    file.sync_all().map_err(io_err("flush"))?;
    drop(file);
    fs::rename(&temp.path, path).map_err(io_err("replace"))?;
    temp.committed = true;
    // Make the rename itself durable where the platform allows syncing a directory.
    #[cfg(unix)]
    if let Ok(handle) = File::open(&dir) {
        let _ = handle.sync_all();
    }
    Ok(())
}

/// Removes temporary files a killed writer of this cassette left behind. Only
/// called under the cassette's lock, so none of them is being written.
fn remove_stale_temps(dir: &Path, file_name: &str) {
    let prefix = format!(".{file_name}.");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("leap0-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_second_writer_is_refused_until_the_first_is_done() {
        let dir = dir("lock");
        let path = dir.join("c.json");
        let first = CassetteLock::acquire(&path).unwrap();
        let err = CassetteLock::acquire(&path).unwrap_err();
        assert!(matches!(err, CassetteError::Locked { .. }), "{err}");
        assert!(err.to_string().contains("another recording"), "{err}");
        // Another cassette in the same directory is not affected.
        CassetteLock::acquire(&dir.join("other.json")).unwrap();
        drop(first);
        CassetteLock::acquire(&path).unwrap();
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn stale_temporary_files_are_removed_and_failures_leave_none() {
        let dir = dir("temps");
        let path = dir.join("c.json");
        // What a writer killed mid-save leaves: a cassette-sized temp file.
        let stale = dir.join(".c.json.4242-0.tmp");
        fs::write(&stale, vec![b'x'; 4096]).unwrap();
        fs::write(dir.join(".other.json.1-0.tmp"), b"not ours").unwrap();
        let lock = CassetteLock::acquire(&path).unwrap();
        lock.write(b"{}\n").unwrap();
        assert!(!stale.exists());
        assert!(
            dir.join(".other.json.1-0.tmp").exists(),
            "another cassette's file stays"
        );
        assert_eq!(fs::read(&path).unwrap(), b"{}\n");
        // A failed rename (the target is a directory) leaves no temp behind.
        let blocked = dir.join("blocked");
        fs::create_dir_all(blocked.join("inside")).unwrap();
        let lock = CassetteLock::acquire(&blocked).unwrap();
        assert!(lock.write(b"{}").is_err());
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".blocked."))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        let _ = fs::remove_dir_all(&dir);
    }
}
