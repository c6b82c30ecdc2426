//! backup-server: dated rsync snapshots of a home server, pruned by a retention
//! policy, mirrored over SSH, every step recorded in SQLite, reported by email and
//! on static pages.
//!
//! The data flows as the modules are listed: config → plan → engine (typed outcomes)
//! → record → health → report and site. `main` only calls [`cli::main`].

pub mod config;
pub mod retention;

pub mod clock;
pub mod plan;
pub mod snapshot;

pub mod sides;

pub mod engine;
pub mod lock;
pub mod mountpoint;
pub mod outcome;
pub mod scripts;
pub mod shell;
pub mod ssh;
pub mod step_log;

pub mod record;

pub mod health;
pub mod schedule;
pub mod words;

pub mod notify;
pub mod password;
pub mod report;
pub mod site;

pub mod cli;
pub mod commands;
pub mod error;
pub mod exit;
pub mod host;
pub mod journal;
pub mod json;
pub mod state;
