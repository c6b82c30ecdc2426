//! backup-server: dated rsync snapshots of a home server, pruned by a retention
//! policy, mirrored over SSH, every step recorded in SQLite.
//!
//! The data flows config → steps → status → log DB. `main` only calls [`cli::main`].

pub mod check;
pub mod cli;
pub mod config;
pub mod demo;
pub mod exit;
pub mod journal;
pub mod location;
pub mod lock;
pub mod logdb;
pub mod mountpoint;
pub mod password;
pub mod report;
pub mod retention;
pub mod run;
pub mod scripts;
pub mod site;
pub mod snapshot;
pub mod ssh;
pub mod status;
pub mod steps;
