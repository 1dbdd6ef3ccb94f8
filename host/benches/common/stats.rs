//! Statistics over a bench's samples: the median and nearest-rank quantiles.
//!
//! Pure functions over `f64` samples in whatever unit the bench measured; no I/O, no timing.

/// Sorted copy, then the `q` quantile (nearest rank), in the samples' unit.
pub fn quantile(samples: &[f64], q: f64) -> f64 {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// The median: the middle sample, or the mean of the middle two.
pub fn median(samples: &[f64]) -> f64 {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
