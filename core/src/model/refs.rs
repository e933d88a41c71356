//! Anything that names a sandbox or a snapshot: an id, or the object itself.

use super::{Sandbox, Snapshot};

/// Something that names a sandbox: an id, or a sandbox object.
pub trait SandboxRef {
    /// The sandbox's id.
    fn sandbox_id(&self) -> &str;
}

/// Something that names a snapshot by id: an id, or a snapshot object.
pub trait SnapshotRef {
    /// The snapshot's id.
    fn snapshot_id(&self) -> &str;
}

impl SandboxRef for str {
    fn sandbox_id(&self) -> &str {
        self
    }
}
impl SandboxRef for String {
    fn sandbox_id(&self) -> &str {
        self
    }
}
impl SandboxRef for Sandbox {
    fn sandbox_id(&self) -> &str {
        &self.id
    }
}
impl<T: SandboxRef + ?Sized> SandboxRef for &T {
    fn sandbox_id(&self) -> &str {
        (**self).sandbox_id()
    }
}
impl SnapshotRef for str {
    fn snapshot_id(&self) -> &str {
        self
    }
}
impl SnapshotRef for String {
    fn snapshot_id(&self) -> &str {
        self
    }
}
impl SnapshotRef for Snapshot {
    fn snapshot_id(&self) -> &str {
        &self.id
    }
}
impl<T: SnapshotRef + ?Sized> SnapshotRef for &T {
    fn snapshot_id(&self) -> &str {
        (**self).snapshot_id()
    }
}
