//! Naming a stage in lookups: the typed [`StageId`] the builder hands out, or a name.

use std::fmt;
use std::sync::Arc;

/// A stage of a built pipeline, as the builder declared it: use it with
/// [`Report::stage`](crate::Report::stage), [`Pipeline::queue_probe`](crate::Pipeline::queue_probe)
/// and [`Pipeline::lanes`](crate::Pipeline::lanes) instead of the stage's name, so a typo is a
/// compile error rather than a `None`.
///
/// An id names its stage by position and name: looked up in a pipeline (or report) whose
/// stage at that position has another name, it finds nothing.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use sedaflow::{handler_fn, Batch, Pipeline};
///
/// let mut p = Pipeline::builder();
/// let parse = p
///     .stage("parse", || handler_fn(|b: &mut Batch<'_, String>, ctx| {
///         b.for_each(|line| ctx.emit(line.len()))
///     }))
///     .capacity(64)
///     .id();
/// let sum = p.stage("sum", || handler_fn(|b: &mut Batch<'_, usize>, _ctx| b.for_each(drop))).id();
/// assert_eq!(sum.name(), "sum");
/// let pipeline = p.build()?;
/// assert_eq!(pipeline.queue_probe(&parse).unwrap().capacity(), 64);
/// assert_eq!(pipeline.stage_id("sum"), Some(sum.clone()));
/// let input = pipeline.publisher::<String>()?;
/// input.try_publish("four".into()).unwrap();
/// let report = pipeline.shutdown(Duration::from_secs(5));
/// assert_eq!(report.stage(&sum).unwrap().processed, 1);
/// // Names still work.
/// assert_eq!(report.stage("sum"), report.stage(&sum));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct StageId {
    position: usize,
    name: Arc<str>,
}

impl StageId {
    pub(crate) fn new(position: usize, name: &str) -> Self {
        StageId {
            position,
            name: name.into(),
        }
    }

    /// The stage's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for StageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StageId({}: {:?})", self.position, self.name)
    }
}

/// What names a stage in a lookup: a [`StageId`], or the stage's name (`str`, `String`).
///
/// # Examples
/// ```
/// use sedaflow::{handler_fn, Batch, Pipeline, StageRef};
///
/// fn capacity(pipeline: &Pipeline, stage: &(impl StageRef + ?Sized)) -> Option<usize> {
///     pipeline.queue_probe(stage).map(|q| q.capacity())
/// }
/// let mut p = Pipeline::builder();
/// let sink = p
///     .stage("sink", || handler_fn(|b: &mut Batch<'_, u32>, _ctx| b.for_each(drop)))
///     .capacity(4)
///     .id();
/// let pipeline = p.build()?;
/// assert_eq!(capacity(&pipeline, &sink), Some(4));
/// assert_eq!(capacity(&pipeline, "sink"), Some(4));
/// assert_eq!(capacity(&pipeline, &"sink".to_owned()), Some(4));
/// assert_eq!(capacity(&pipeline, "snk"), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait StageRef {
    /// The stage's name.
    fn stage_name(&self) -> &str;

    /// Its position in pipeline order, when known; a lookup then checks the name there.
    fn position(&self) -> Option<usize> {
        None
    }
}

impl StageRef for StageId {
    fn stage_name(&self) -> &str {
        &self.name
    }

    fn position(&self) -> Option<usize> {
        Some(self.position)
    }
}

impl StageRef for str {
    fn stage_name(&self) -> &str {
        self
    }
}

impl StageRef for String {
    fn stage_name(&self) -> &str {
        self
    }
}

/// The position of `stage` among `names` (a pipeline's stages in order).
pub(crate) fn locate<'a, S: StageRef + ?Sized>(
    stage: &S,
    names: impl IntoIterator<Item = &'a str>,
) -> Option<usize> {
    let name = stage.stage_name();
    let mut names = names.into_iter();
    match stage.position() {
        Some(at) => names.nth(at).filter(|n| *n == name).map(|_| at),
        None => names.position(|n| n == name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_finds_its_position_only_under_its_name_and_a_name_finds_the_first() {
        let names = ["a", "b", "b"];
        assert_eq!(locate(&StageId::new(1, "b"), names), Some(1));
        assert_eq!(locate(&StageId::new(2, "b"), names), Some(2));
        assert_eq!(locate(&StageId::new(0, "b"), names), None);
        assert_eq!(locate(&StageId::new(3, "b"), names), None);
        assert_eq!(locate("b", names), Some(1));
        assert_eq!(locate(&"a".to_owned(), names), Some(0));
        assert_eq!(locate("c", names), None);
    }
}
