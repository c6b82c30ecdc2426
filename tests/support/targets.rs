//! Worlds whose target is reached one way or the other: a local path, or SSH as root
//! to a real sshd with pinned host keys. Listing, committing and pruning take a
//! different code path for each, so many scenarios are checked over both.

use super::World;
use super::sshd::Sshd;

/// How the target is reached.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    LocalPath,
    Ssh,
}

/// A world syncing to `target`; the sshd, if any, lives as long as the returned value.
pub fn world_syncing_to(target: Target) -> (World, Option<Sshd>) {
    match target {
        Target::LocalPath => (World::new(), None),
        Target::Ssh => {
            let (world, sshd) = world_syncing_over_ssh();
            (world, Some(sshd))
        }
    }
}

/// A world syncing over SSH as `root@backuphost` to its `remote/`, host keys pinned.
pub fn world_syncing_over_ssh() -> (World, Sshd) {
    let mut world = World::new();
    let sshd = Sshd::start(&world.root.path().join("sshd"));
    world.remote_spec = format!("root@backuphost:{}", world.remote.display());
    world.extra = sshd.config_lines();
    (world, sshd)
}
