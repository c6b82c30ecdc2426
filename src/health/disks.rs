//! How full each disk is, and when it will be full at the recent rate of growth: the
//! one rule the report, the pages and the metrics read, as the task rule beside it is for tasks.
//!
//! Every step records the free and total space of the side it wrote (the backup disk
//! after a backup or retention, a target after its sync). A disk is the backup disk or
//! one target; its figures are the newest recorded, and its forecast a straight line
//! fitted to its free bytes over the last `WINDOW_DAYS` days. A disk needs attention
//! when less than `min_free_percent` of its bytes or inodes is free, or when the line
//! reaches zero within `full_within_days`.

use serde::Serialize;

use crate::clock::DAY;
use crate::config::Thresholds;
use crate::record::{Measure, Record, RecordError};
use crate::words::{bytes, number};

/// How far back the forecast looks.
pub const WINDOW_DAYS: f64 = 30.0;

/// A disk as the report and the pages show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disk {
    /// `backup disk`, or a target's name.
    pub name: String,
    pub measured: f64,
    pub free_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
    pub free_inodes: Option<u64>,
    pub total_inodes: Option<u64>,
    /// Days until its free bytes reach zero at the recent rate; `None` when it is not
    /// filling up (or too little is recorded to tell).
    pub full_in_days: Option<f64>,
    /// Why it needs attention, in words.
    pub warning: Option<String>,
    /// Its free bytes over the window, oldest first, for the chart.
    pub series: Vec<(f64, u64)>,
}

/// Judges the disk `name` from its measures (any order), at `now`.
pub fn judge(name: &str, measures: &[Measure], now: f64, thresholds: Thresholds) -> Option<Disk> {
    let mut measures: Vec<Measure> = measures.to_vec();
    measures.sort_by(|a, b| a.at.total_cmp(&b.at));
    let newest = *measures.last()?;
    let series: Vec<(f64, u64)> = measures
        .iter()
        .filter(|m| m.at >= now - WINDOW_DAYS * DAY)
        .filter_map(|m| Some((m.at, m.free_bytes?)))
        .collect();
    let full_in_days = forecast(&series);
    let percent = |free: Option<u64>, total: Option<u64>| match (free, total) {
        (Some(free), Some(total)) if total > 0 => Some(free as f64 * 100.0 / total as f64),
        _ => None,
    };
    let mut warnings = Vec::new();
    let floor = f64::from(thresholds.min_free_percent);
    if let Some(p) = percent(newest.free_bytes, newest.total_bytes).filter(|p| *p < floor) {
        warnings.push(format!("only {p:.1}% of its space is free"));
    }
    if let Some(p) = percent(newest.free_inodes, newest.total_inodes).filter(|p| *p < floor) {
        warnings.push(format!("only {p:.1}% of its inodes are free"));
    }
    if let Some(days) = full_in_days.filter(|d| *d <= f64::from(thresholds.full_within_days)) {
        warnings.push(format!(
            "at the rate of the last {WINDOW_DAYS:.0} days it is full in {days:.0} days"
        ));
    }
    Some(Disk {
        name: name.to_string(),
        measured: newest.at,
        free_bytes: newest.free_bytes,
        total_bytes: newest.total_bytes,
        free_inodes: newest.free_inodes,
        total_inodes: newest.total_inodes,
        full_in_days,
        warning: (!warnings.is_empty()).then(|| warnings.join("; ")),
        series,
    })
}

/// Every disk the record has measures of, judged at `now`.
pub fn disks(record: &Record, now: f64, thresholds: Thresholds) -> Result<Vec<Disk>, RecordError> {
    Ok(record
        .disk_measures(now - WINDOW_DAYS * DAY)?
        .iter()
        .filter_map(|(name, measures)| judge(name, measures, now, thresholds))
        .collect())
}

/// Days until a least-squares line through `(time, free bytes)` reaches zero from the
/// newest point, if it falls; `None` with fewer than two days of measures.
fn forecast(series: &[(f64, u64)]) -> Option<f64> {
    let (first, last) = (series.first()?, series.last()?);
    if last.0 - first.0 < DAY {
        return None;
    }
    let n = series.len() as f64;
    let mean_t = series.iter().map(|(t, _)| t).sum::<f64>() / n;
    let mean_f = series.iter().map(|(_, f)| *f as f64).sum::<f64>() / n;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for (t, f) in series {
        covariance += (t - mean_t) * (*f as f64 - mean_f);
        variance += (t - mean_t) * (t - mean_t);
    }
    let per_second = covariance / variance;
    // Beyond ten years the line says nothing worth a date: the disk is not filling up.
    Some(last.1 as f64 / -per_second / DAY).filter(|days| per_second < 0.0 && *days <= HORIZON_DAYS)
}

/// The furthest a forecast is given.
const HORIZON_DAYS: f64 = 3650.0;

impl Disk {
    /// "412.3 GB of 2.0 TB free (20.6%), 1,200,000 of 122,000,000 inodes free".
    pub fn describe(&self) -> String {
        let mut words = match (self.free_bytes, self.total_bytes) {
            (Some(free), Some(total)) if total > 0 => format!(
                "{} of {} free ({:.1}%)",
                bytes(free),
                bytes(total),
                free as f64 * 100.0 / total as f64
            ),
            (Some(free), _) => format!("{} free", bytes(free)),
            _ => "free space unknown".to_string(),
        };
        if let (Some(free), Some(total)) = (self.free_inodes, self.total_inodes) {
            words.push_str(&format!(
                ", {} of {} inodes free",
                number(free),
                number(total)
            ));
        }
        match self.full_in_days {
            Some(days) => words.push_str(&format!(
                "; full in about {days:.0} days at the recent rate"
            )),
            None => words.push_str("; not filling up"),
        }
        words
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Measure;

    fn measure(day: f64, free_gb: u64) -> Measure {
        Measure {
            at: day * DAY,
            free_bytes: Some(free_gb * 1_000_000_000),
            total_bytes: Some(1_000_000_000_000),
            free_inodes: Some(900),
            total_inodes: Some(1000),
        }
    }

    #[test]
    fn a_disk_losing_ten_gigabytes_a_day_is_full_when_the_line_says() {
        // 300 GB free on day 100, 10 GB less each day before: 30 days left.
        let measures: Vec<Measure> = (0..10)
            .map(|i| measure(91.0 + i as f64, 390 - 10 * i))
            .collect();
        let disk = judge("backup disk", &measures, 100.0 * DAY, Thresholds::default()).unwrap();
        assert!((disk.full_in_days.unwrap() - 30.0).abs() < 0.01, "{disk:?}");
        assert_eq!(
            disk.warning.as_deref(),
            Some("at the rate of the last 30 days it is full in 30 days")
        );
        assert_eq!(
            disk.describe(),
            "300.0 GB of 1.0 TB free (30.0%), 900 of 1,000 inodes free; full in about 30 days at the recent rate"
        );
    }

    #[test]
    fn a_steady_disk_needs_attention_only_below_the_floor() {
        let steady = [measure(98.0, 50), measure(99.0, 60), measure(100.0, 50)];
        let disk = judge("usb", &steady, 100.0 * DAY, Thresholds::default()).unwrap();
        assert_eq!(disk.full_in_days, None);
        assert_eq!(
            disk.warning.as_deref(),
            Some("only 5.0% of its space is free")
        );
        let roomy = [measure(99.0, 500)];
        let disk = judge("usb", &roomy, 100.0 * DAY, Thresholds::default()).unwrap();
        assert_eq!(
            (disk.full_in_days, disk.warning),
            (None, None),
            "one day says nothing of a rate"
        );
        assert!(judge("none", &[], 0.0, Thresholds::default()).is_none());
    }
}
