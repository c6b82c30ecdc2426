//! The places that hold a task's snapshots: the backup disk and each target, on this
//! machine or over SSH. One type, `Side`, stands for any of them; it is listed
//! (`listing`), resolved to what it really is (`identity`), and its snapshots judged
//! by its own policy (`inventory`), the same way for the engine and for `list`,
//! `restore`, `verify` and `doctor`.

pub mod identity;
pub mod inventory;
pub mod listing;
pub mod side;

pub use listing::{Btrfs, Commit, Leftover, Listing, Made, Way};
pub use side::{Kind, LOCAL, Side, backup_disk_mounted, target_disk_mounted};
