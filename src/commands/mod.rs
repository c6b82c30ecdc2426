//! The commands of DESIGN.md, one file each, thin over the layers below: each takes
//! what `cli` parsed and returns the exit status its work earned, or the `Error`
//! that stopped it. What several share (loading the config and its plan, picking the
//! task a command names) is here.

pub mod check;
pub mod demo;
pub mod doctor;
pub mod list;
pub mod render_site;
pub mod restore;
pub mod run;
pub mod verify;

use std::path::{Path, PathBuf};

use crate::clock::Clock;
use crate::config::Config;
use crate::error::Error;
use crate::plan::{Plan, TaskPlan};
use crate::scripts::Scripts;

/// The config (with `--ssh-key` applied), its plan for `clock`'s day, and the
/// scripts.
pub fn load(
    file: &Path,
    clock: &Clock,
    scripts_dir: Option<&Path>,
    ssh_key: Option<PathBuf>,
) -> Result<(Config, Plan, Scripts), Error> {
    let mut config = Config::load(file)?;
    if let Some(key) = ssh_key {
        config.ssh_key = key;
    }
    let plan = Plan::new(&config, clock.today());
    let scripts = Scripts::locate(scripts_dir)?;
    Ok((config, plan, scripts))
}

/// The tasks of `plan` a command is about: the one named, or all of them.
pub fn select<'a>(
    plan: &'a Plan,
    config: &Config,
    name: Option<&str>,
) -> Result<Vec<&'a TaskPlan>, Error> {
    let Some(name) = name else {
        return Ok(plan.tasks.iter().collect());
    };
    match plan.tasks.iter().find(|t| t.name == name) {
        Some(task) => Ok(vec![task]),
        None => {
            let names: Vec<&str> = plan.tasks.iter().map(|t| t.name.as_str()).collect();
            Err(Error::Usage(format!(
                "there is no task {name:?} in {}; its tasks are {}",
                config.file.display(),
                names.join(", ")
            )))
        }
    }
}
