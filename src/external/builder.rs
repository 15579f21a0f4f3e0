//! Declaring an external stage: its name, its owner's queue, the policy label, its handle.

use std::sync::Arc;

use crate::config::WhenFull;
use crate::internal_events::stage::{StageInfo, StageMetrics};
use crate::stage::StageId;
use crate::stats::StageStats;

use super::{ExternalQueue, ExternalStage};

/// An external stage as declared.
pub(crate) struct ExternalDecl {
    pub(crate) name: String,
    /// Its place in pipeline order, among all stages.
    pub(crate) position: usize,
    pub(crate) queue: Arc<dyn ExternalQueue>,
    when_full: WhenFull,
    /// Made by the first [`ExternalStageBuilder::handle`] (its labels are final by then), or
    /// at build.
    handle: Option<ExternalStage>,
}

impl ExternalDecl {
    pub(crate) fn new(name: String, position: usize, queue: Arc<dyn ExternalQueue>) -> Self {
        ExternalDecl {
            name,
            position,
            queue,
            when_full: WhenFull::default(),
            handle: None,
        }
    }

    /// The stage's handle, made on first use.
    pub(crate) fn handle(&mut self) -> &ExternalStage {
        let (name, position, when_full) = (&self.name, self.position, self.when_full);
        self.handle.get_or_insert_with(|| {
            let info = StageInfo {
                position,
                domain: Arc::from(name.as_str()),
                entry: true,
                keyed: false,
                when_full: when_full.as_str(),
            };
            let stats = StageStats::new(StageMetrics::new(&info.domain, &info));
            ExternalStage::new(StageId::new(position, name), Arc::new(stats))
        })
    }
}

/// Configures the external stage just declared (see
/// [`PipelineBuilder::external_stage`](crate::PipelineBuilder::external_stage)). Methods
/// consume and return the builder; [`handle`](Self::handle) ends the chain.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use sedaflow::{BuildError, ExternalGauges, Pipeline, WhenFull};
///
/// let mut p = Pipeline::builder();
/// let net = p
///     .external_stage("net_read", Arc::new(ExternalGauges::default))
///     .when_full(WhenFull::Reject)
///     .handle();
/// assert_eq!(net.id().name(), "net_read");
/// p.fuse(["net_read"]);
/// assert!(matches!(p.build(), Err(BuildError::Placement(_))), "it cannot be fused");
/// ```
pub struct ExternalStageBuilder<'a> {
    decl: &'a mut ExternalDecl,
}

impl<'a> ExternalStageBuilder<'a> {
    pub(crate) fn new(decl: &'a mut ExternalDecl) -> Self {
        ExternalStageBuilder { decl }
    }

    /// The policy the owner enforces when its queue is full (default `Block`): the
    /// `when_full` label of `sedaflow_stage_info`. The engine enforces nothing.
    pub fn when_full(self, policy: WhenFull) -> Self {
        self.decl.when_full = policy;
        self
    }

    /// The handle the owner counts through; valid before and after the build.
    pub fn handle(self) -> ExternalStage {
        self.decl.handle().clone()
    }

    /// The stage's id, for lookups in the built pipeline and its reports.
    pub fn id(&self) -> StageId {
        StageId::new(self.decl.position, &self.decl.name)
    }
}

impl std::fmt::Debug for ExternalStageBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalStageBuilder")
            .field("name", &self.decl.name)
            .field("when_full", &self.decl.when_full)
            .finish()
    }
}
