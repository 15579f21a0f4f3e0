//! A stage keyed by digest: digests below the lane count address each lane, so one event per
//! lane reaches every handler instance, after the events its lane already holds.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sedaflow::{handler_fn, key_digest, Batch, Pipeline};

/// `(Some(key), _)` is keyed by the key; `(None, lane)` goes to that lane.
type Ev = (Option<u32>, u64);

#[test]
fn digests_below_the_lane_count_reach_every_lane_in_order() {
    let seen: Arc<Mutex<Vec<(usize, Ev)>>> = Arc::default();
    let instances = Arc::new(AtomicUsize::new(0));
    let mut p = Pipeline::builder();
    let (s, n) = (seen.clone(), instances.clone());
    p.stage("lanes", move || {
        let me = n.fetch_add(1, Ordering::SeqCst);
        let s = s.clone();
        handler_fn(move |b: &mut Batch<'_, Ev>, _ctx| {
            for e in b {
                s.lock().unwrap().push((me, e));
            }
        })
    })
    .fixed_threads(2)
    .keyed_by_digest(|&(key, lane)| key.map_or(lane, |k| key_digest(&k)));
    let pipeline = p.build().unwrap();
    let lanes = pipeline.lanes("lanes").unwrap();
    assert_eq!(lanes, 8, "a keyed stage has 4 lanes per thread");
    assert_eq!(pipeline.lanes("nope"), None);
    let input = pipeline.publisher::<Ev>().unwrap();
    for key in 0..100 {
        input.try_publish((Some(key), 0)).unwrap();
    }
    for lane in 0..lanes as u64 {
        input.try_publish((None, lane)).unwrap();
    }
    let report = pipeline.shutdown(Duration::from_secs(10));
    assert_eq!(report.stage("lanes").unwrap().processed, 100 + lanes as u64);
    let seen = seen.lock().unwrap();
    // Each fan-out event reached a different handler instance...
    let mut fan: Vec<usize> = seen
        .iter()
        .filter(|(_, (k, _))| k.is_none())
        .map(|(me, _)| *me)
        .collect();
    fan.sort_unstable();
    fan.dedup();
    assert_eq!(fan.len(), lanes);
    // ...after every keyed event its instance handled.
    for (me, (key, _)) in seen.iter() {
        if key.is_some() {
            let at = seen.iter().position(|x| x == &(*me, (*key, 0))).unwrap();
            let fan_at = seen
                .iter()
                .position(|(m, (k, _))| m == me && k.is_none())
                .unwrap();
            assert!(
                at < fan_at,
                "key {key:?} came after its lane's fan-out event"
            );
        }
    }
}
