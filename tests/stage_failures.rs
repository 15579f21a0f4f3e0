//! Handlers fail events with application errors: counted per stage, dead-lettered with the
//! error, and the report still balances.

mod support;

use std::sync::{Arc, Mutex};

use sedaflow::{
    handler_fn, Batch, Context, DeadLetter, DeadReason, Fallible, Pipeline, TryHandler,
};

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0} is a multiple of seven")]
struct Sevens(u32);

/// Fails multiples of 7, panics on 13 mod 100, passes the rest on doubled.
struct Strict;

impl TryHandler for Strict {
    type In = u32;
    type Error = Sevens;

    fn try_handle(&mut self, x: &mut u32, ctx: &mut Context<'_>) -> Result<(), Sevens> {
        assert!(*x % 100 != 13, "unlucky {x}");
        if *x % 7 == 0 {
            return Err(Sevens(*x));
        }
        ctx.emit(u64::from(*x) * 2);
        Ok(())
    }
}

fn collect(dead: &Arc<Mutex<Vec<DeadLetter>>>) -> impl Fn(DeadLetter) + Send + Sync + 'static {
    let dead = dead.clone();
    move |letter| dead.lock().unwrap().push(letter)
}

#[test]
fn a_try_handlers_errors_are_counted_and_dead_lettered_with_the_event_and_error() {
    let dead = Arc::new(Mutex::new(Vec::new()));
    let mut p = Pipeline::builder();
    let strict = p
        .stage("strict", || Fallible(Strict))
        .keyed_by(|x: &u32| *x % 8)
        .fixed_threads(2)
        .id();
    let sink = p
        .stage("sink", || {
            handler_fn(|b: &mut Batch<'_, u64>, _ctx| b.for_each(drop))
        })
        .id();
    p.on_dead_letter(collect(&dead));
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<u32>().unwrap();
    pipeline.start();
    input
        .blocking_publish_batch(&mut (0..1000).collect())
        .unwrap();
    let report = support::assert_clean(pipeline.shutdown(support::DRAIN));

    // 413 is both: the panic comes first.
    let failing = |x: &u32| x % 7 == 0 && x % 100 != 13;
    let sevens = (0..1000u32).filter(failing).count() as u64;
    let unlucky = (0..1000u32).filter(|x| x % 100 == 13).count() as u64;
    let s = report.stage(&strict).unwrap();
    assert_eq!((s.failed, s.panicked), (sevens, unlucky));
    assert_eq!(s.processed, 1000 - sevens - unlucky);
    assert_eq!(report.stage(&sink).unwrap().processed, s.processed);
    let failed = report.dead_letters.iter().find(|d| d.reason == "failed");
    assert_eq!(
        failed.map(|d| (d.event_type, d.count)),
        Some(("u32", sevens))
    );

    let dead = dead.lock().unwrap();
    let mut failures: Vec<(u32, u32)> = dead
        .iter()
        .filter_map(|letter| {
            let DeadReason::Failed(error) = &letter.reason else {
                return None;
            };
            assert_eq!(letter.stage.as_deref(), Some("strict"));
            let event = letter.event.as_ref()?.downcast_ref::<u32>()?;
            Some((*event, error.downcast_ref::<Sevens>()?.0))
        })
        .collect();
    failures.sort_unstable();
    let expected: Vec<(u32, u32)> = (0..1000).filter(failing).map(|x| (x, x)).collect();
    assert_eq!(failures, expected);
}

#[test]
fn a_batch_handler_fails_events_through_its_context_and_only_its_own_count() {
    let dead = Arc::new(Mutex::new(Vec::new()));
    let mut p = Pipeline::builder();
    p.stage("parse", || {
        handler_fn(|batch: &mut Batch<'_, String>, ctx| {
            for line in batch {
                match line.parse::<u64>() {
                    Ok(n) => ctx.emit(n),
                    Err(e) => {
                        // Failing an event of another type than the stage's input (not one
                        // of the batch's): dead-lettered, not counted as the stage's failure.
                        ctx.fail(line.len(), "derived");
                        ctx.fail(line, e);
                    }
                }
            }
        })
    })
    .batch(1, 4);
    p.stage("sum", || {
        handler_fn(|b: &mut Batch<'_, u64>, _ctx| b.for_each(drop))
    });
    p.on_dead_letter(collect(&dead));
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<String>().unwrap();
    pipeline.start();
    let mut lines: Vec<String> = ["1", "x", "2", "y", "z", "3", "4", "5"]
        .map(String::from)
        .to_vec();
    input.blocking_publish_batch(&mut lines).unwrap();
    let report = support::assert_clean(pipeline.shutdown(support::DRAIN));
    let parse = report.stage("parse").unwrap();
    assert_eq!((parse.processed, parse.failed), (5, 3));
    assert!(report.is_balanced());
    let dead = dead.lock().unwrap();
    let texts: Vec<String> = dead
        .iter()
        .filter_map(|l| match &l.reason {
            DeadReason::Failed(e) => Some(e.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(texts.len(), 6, "{texts:?}");
    assert_eq!(texts.iter().filter(|t| *t == "derived").count(), 3);
    assert!(
        texts.iter().any(|t| t.contains("invalid digit")),
        "{texts:?}"
    );
}
