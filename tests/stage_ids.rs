//! Typed stage ids from the builder: the same lookups as names, checked by the compiler.

mod support;

use sedaflow::{handler_fn, Batch, Context, Event, Pipeline, StageId};

fn sink<E: Event>(batch: &mut Batch<'_, E>, _ctx: &mut Context<'_>) {
    batch.for_each(drop)
}

#[test]
fn ids_from_the_builder_find_their_stage_in_reports_probes_and_lanes() {
    let mut p = Pipeline::builder();
    let double = p
        .stage("double", || {
            handler_fn(|b: &mut Batch<'_, u32>, ctx| b.for_each(|x| ctx.emit(u64::from(x) * 2)))
        })
        .capacity(32)
        .fixed_threads(2)
        .id();
    let total = p.stage("total", || handler_fn(sink::<u64>)).id();
    let audit = p.stage("audit", || handler_fn(sink::<u8>)).capacity(8).id();
    p.fuse(["double", "total"]);
    let pipeline = p.build().unwrap();

    assert_eq!(pipeline.stage_id("total"), Some(total.clone()));
    assert_eq!(pipeline.stage_id("totl"), None);
    assert_eq!(
        pipeline.queue_probe(&double).map(|q| q.capacity()),
        Some(32)
    );
    assert_eq!(pipeline.queue_probe(&audit).map(|q| q.capacity()), Some(8));
    // Fused behind `double`: no queue of its own, but it runs in double's lanes.
    assert!(pipeline.queue_probe(&total).is_none());
    assert_eq!(pipeline.lanes(&total), pipeline.lanes(&double));
    assert_eq!(pipeline.lanes(&double), pipeline.lanes("double"));

    let input = pipeline.publisher::<u32>().unwrap();
    input.try_publish_batch(&mut vec![1, 2, 3]).unwrap();
    let report = support::assert_clean(pipeline.shutdown(support::DRAIN));
    assert_eq!(report.stage(&double).unwrap().processed, 3);
    assert_eq!(report.stage(&total).unwrap().processed, 3);
    assert_eq!(report.stage(&total), report.stage("total"));
    assert_eq!(report.stage(&audit).unwrap().name, "audit");
}

#[test]
fn an_id_looked_up_where_another_stage_holds_its_position_finds_nothing() {
    let declare = |first: &str| {
        let mut p = Pipeline::builder();
        let id: StageId = p.stage(first, || handler_fn(sink::<u32>)).id();
        (p, id)
    };
    let (a, a_id) = declare("a");
    let (b, b_id) = declare("b");
    assert_ne!(a_id, b_id);
    let b = b.build().unwrap();
    assert!(b.queue_probe(&a_id).is_none());
    assert!(b.lanes(&a_id).is_none());
    assert!(b.queue_probe(&b_id).is_some());
    let report = a.build().unwrap().shutdown(support::DRAIN);
    assert!(report.stage(&b_id).is_none());
    assert!(report.stage(&a_id).is_some());
}
