//! Each stage's recent queue depths, for the sparkline. Pure.

use std::collections::{HashMap, VecDeque};

use crate::model::View;

/// The last `len` depths of every stage seen, oldest first.
#[derive(Debug, Clone)]
pub struct History {
    len: usize,
    depths: HashMap<String, VecDeque<u64>>,
}

impl History {
    /// Keeps `len` points per stage.
    pub fn new(len: usize) -> History {
        History {
            len: len.max(1),
            depths: HashMap::new(),
        }
    }

    /// Records the depths of `view`; stages without a queue record nothing.
    ///
    /// # Examples
    /// ```
    /// use sedaflow_top::{History, StageRow, View};
    /// let mut h = History::new(2);
    /// for d in [1.0, 2.0, 3.0] {
    ///     let row = StageRow { name: "match".into(), depth: Some(d), ..StageRow::default() };
    ///     h.record(&View { rows: vec![row], ..View::default() });
    /// }
    /// assert_eq!(h.depths("match"), vec![2, 3]);
    /// ```
    pub fn record(&mut self, view: &View) {
        for row in &view.rows {
            let Some(depth) = row.depth else { continue };
            let points = self.depths.entry(row.name.clone()).or_default();
            if points.len() == self.len {
                points.pop_front();
            }
            points.push_back(depth.max(0.0) as u64);
        }
    }

    /// Depths of `stage`, oldest first.
    pub fn depths(&self, stage: &str) -> Vec<u64> {
        self.depths
            .get(stage)
            .map(|d| d.iter().copied().collect())
            .unwrap_or_default()
    }
}
