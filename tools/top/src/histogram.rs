//! Cumulative histogram buckets → quantiles, over all time or between two scrapes.

/// A Prometheus histogram as scraped: cumulative bucket counts by upper bound.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// `(le, cumulative count)`, ascending by `le`; the last is usually `+Inf`.
    pub buckets: Vec<(f64, f64)>,
    /// Sum of observed values.
    pub sum: f64,
    /// Number of observations.
    pub count: f64,
}

impl Histogram {
    /// What was observed between `earlier` and `self` (bucket by bucket). When a count went
    /// down the server restarted, and `self` is taken whole, as Prometheus' `rate` does.
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        if self.count < earlier.count {
            return self.clone();
        }
        let buckets = self
            .buckets
            .iter()
            .map(|&(le, c)| {
                let before = earlier
                    .buckets
                    .iter()
                    .find(|(l, _)| *l == le)
                    .map_or(0.0, |b| b.1);
                (le, (c - before).max(0.0))
            })
            .collect();
        Histogram {
            buckets,
            sum: (self.sum - earlier.sum).max(0.0),
            count: self.count - earlier.count,
        }
    }

    /// The `q` quantile (0..=1), interpolated linearly inside its bucket like PromQL's
    /// `histogram_quantile`; the highest finite bound when it falls in `+Inf`; `None` without
    /// observations.
    ///
    /// # Examples
    /// ```
    /// use sedaflow_top::Histogram;
    /// let h = Histogram { buckets: vec![(1.0, 50.0), (2.0, 100.0), (f64::INFINITY, 100.0)], sum: 0.0, count: 100.0 };
    /// assert_eq!(h.quantile(0.5), Some(1.0));
    /// assert_eq!(h.quantile(0.75), Some(1.5));
    /// ```
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.buckets.last()?.1;
        if total <= 0.0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total;
        let mut lower = (0.0, 0.0);
        for &(le, c) in &self.buckets {
            if c >= rank && c > 0.0 {
                if le.is_infinite() {
                    return Some(lower.0);
                }
                let in_bucket = c - lower.1;
                let share = if in_bucket > 0.0 {
                    (rank - lower.1) / in_bucket
                } else {
                    1.0
                };
                return Some(lower.0 + (le - lower.0) * share);
            }
            lower = (le, c);
        }
        Some(lower.0)
    }

    /// Mean observation; `None` without observations.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0.0).then(|| self.sum / self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(buckets: &[(f64, f64)]) -> Histogram {
        Histogram {
            buckets: buckets.to_vec(),
            sum: 0.0,
            count: buckets.last().map_or(0.0, |b| b.1),
        }
    }

    #[test]
    fn quantiles_interpolate_inside_buckets() {
        let x = h(&[
            (0.001, 0.0),
            (0.002, 90.0),
            (0.004, 100.0),
            (f64::INFINITY, 100.0),
        ]);
        assert_eq!(x.quantile(0.45), Some(0.0015));
        assert!((x.quantile(0.99).unwrap() - 0.0038).abs() < 1e-12);
        assert_eq!(x.quantile(1.0), Some(0.004));
    }

    #[test]
    fn quantile_in_inf_bucket_is_the_highest_bound_and_empty_is_none() {
        assert_eq!(
            h(&[(1.0, 1.0), (f64::INFINITY, 10.0)]).quantile(0.99),
            Some(1.0)
        );
        assert_eq!(h(&[(1.0, 0.0), (f64::INFINITY, 0.0)]).quantile(0.5), None);
    }

    #[test]
    fn since_takes_bucket_deltas_and_survives_a_restart() {
        let a = h(&[(1.0, 10.0), (2.0, 10.0), (f64::INFINITY, 10.0)]);
        let b = h(&[(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0)]);
        let d = b.since(&a);
        assert_eq!(
            d.buckets,
            vec![(1.0, 0.0), (2.0, 10.0), (f64::INFINITY, 10.0)]
        );
        assert_eq!(d.quantile(0.5), Some(1.5));
        assert_eq!(a.since(&b), a);
    }
}
