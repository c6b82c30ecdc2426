//! The backup step: a new dated snapshot of the source, unchanged files hard-linked
//! to the newest complete snapshot.

use std::io::Write;
use std::path::Path;

use super::{Context, StepLog, StepResult, add_warning, argv, run_script, ssh_config_arg};
use crate::config::Task;
use crate::location::Location;
use crate::{mountpoint, snapshot};

pub(super) fn run(ctx: &Context, task: &Task, log: &mut StepLog) -> StepResult {
    let base = &ctx.config.dir_backup_local;
    if !base.is_dir() {
        return Err(format!(
            "the backup directory {} (dir_backup_local) does not exist: is the backup disk mounted?",
            base.display()
        ));
    }
    if ctx.config.require_mountpoint {
        let mounted = mountpoint::is_mountpoint(base).map_err(|e| {
            format!(
                "cannot tell whether {} is a mount point: {e}",
                base.display()
            )
        })?;
        if !mounted {
            return Err(format!(
                "{} is not a mount point and require_mountpoint is set: is the backup disk mounted?",
                base.display()
            ));
        }
    }
    if let Location::Local(source) = &task.dir_source
        && !source.is_dir()
    {
        return Err(format!(
            "the source {} (dir_source) does not exist or is not a directory",
            source.display()
        ));
    }
    let ssh_config = ssh_config_arg(ctx, task.dir_source.is_remote())?;

    let task_dir = ctx.config.local_task_dir(task);
    let snapshots = snapshot::list_local(&task_dir)
        .map_err(|e| format!("cannot list {}: {e}", task_dir.display()))?;
    let name = snapshot::name(ctx.today);
    let link_dest = snapshots.last().map(|d| snapshot::name(*d));
    // A leftover .in-progress may be reused only by a full copy: in an incremental one
    // it could hold files hard-linked to older snapshots, whose attributes rsync
    // would then change in place.
    let mode = if link_dest.is_some() {
        "fresh"
    } else {
        "resume"
    };
    match &link_dest {
        Some(previous) => log.line(&format!(
            "snapshot {name}: unchanged files hard-linked to {previous}"
        )),
        None => log.line(&format!(
            "snapshot {name}: a full copy (no earlier snapshot)"
        )),
    }

    let mut patterns = task.excludes.clone();
    let mut empty_source = None;
    if let Location::Local(source) = &task.dir_source {
        for own in own_directories(ctx, source) {
            log.line(&format!(
                "excluding {own} from the source: it holds backup-server's own files"
            ));
            patterns.push(own);
        }
        if fs_err::read_dir(source).is_ok_and(|mut entries| entries.next().is_none()) {
            empty_source = Some(format!(
                "the source {} is empty (is its disk mounted?), and so is this snapshot",
                source.display()
            ));
        }
    }
    let excludes = ctx.work_dir.join(format!("{}.excludes", task.name));
    write_excludes(&excludes, &patterns)
        .map_err(|e| format!("cannot write {}: {e}", excludes.display()))?;

    let script = &ctx.scripts.backup;
    let source = task.dir_source.to_string();
    let took = run_script(
        log,
        script,
        argv![
            "take",
            &task_dir,
            &name,
            source,
            &excludes,
            link_dest.unwrap_or_default(),
            mode,
            ssh_config
        ],
    )?;
    let committed = run_script(log, script, argv!["commit", &task_dir, &name])?;
    Ok(add_warning(add_warning(empty_source, took), committed))
}

/// The backup directories and the state directory, where they lie inside `source`, as
/// anchored rsync excludes (`/mnt/backup/` for a source `/`): a snapshot must never
/// hold the backups themselves.
fn own_directories(ctx: &Context, source: &Path) -> Vec<String> {
    let mut dirs = vec![ctx.config.dir_backup_local.as_path()];
    if let Location::Local(remote) = &ctx.config.dir_backup_remote {
        dirs.push(remote);
    }
    dirs.extend(ctx.work_dir.parent());
    dirs.iter()
        .filter_map(|dir| dir.strip_prefix(source).ok())
        .filter(|inside| !inside.as_os_str().is_empty())
        .map(|inside| format!("/{}/", inside.display()))
        .collect()
}

fn write_excludes(path: &std::path::Path, patterns: &[String]) -> std::io::Result<()> {
    let mut file = fs_err::File::create(path)?;
    for pattern in patterns {
        writeln!(file, "{pattern}")?;
    }
    Ok(())
}
