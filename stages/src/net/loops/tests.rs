//! The group's bookkeeping with real loop threads and connections without sockets: where
//! sessions go, which are asked to move when the group grows or shrinks, and that retired
//! loops end.

use std::sync::Arc;

use super::EventLoops;
use crate::internal_events::{LoopMetrics, ServerMetrics};
use crate::net::conn::{Conn, Sink};

fn conn(id: u64) -> Arc<Conn> {
    Arc::new(Conn::new(
        id,
        Sink::Answer(Default::default()),
        usize::MAX,
        ServerMetrics::register(),
    ))
}

fn group(min: usize, max: usize) -> Arc<EventLoops> {
    EventLoops::start(min, max, Arc::default(), LoopMetrics::register()).unwrap()
}

fn loads(g: &EventLoops) -> Vec<usize> {
    let mut n: Vec<usize> = g.all().iter().map(|l| l.sessions()).collect();
    n.sort_unstable();
    n
}

#[test]
fn new_sessions_go_to_the_least_busy_active_loop() {
    let g = group(3, 3);
    let conns: Vec<_> = (0..7).map(conn).collect();
    for c in &conns {
        g.assign(c).unwrap();
    }
    assert_eq!(loads(&g), [2, 2, 3]);
    g.shutdown();
}

#[test]
fn growing_evens_the_sessions_out_by_moves() {
    let g = group(1, 4);
    let conns: Vec<_> = (0..8).map(conn).collect();
    let homes: Vec<_> = conns.iter().map(|c| g.assign(c).unwrap()).collect();
    g.resize(4).unwrap();
    assert_eq!((g.active(), g.threads()), (4, 4));
    // Sessions move at their next safe point; until then they count where they are.
    let asked: Vec<_> = conns.iter().filter(|c| c.move_requested()).collect();
    assert_eq!(asked.len(), 6, "two stay, two go to each new loop");
    for (c, home) in conns.iter().zip(&homes) {
        if c.move_requested() {
            let to = g.moved(c, home).unwrap();
            assert_ne!(to.id, home.id);
        }
    }
    assert_eq!(loads(&g), [2, 2, 2, 2]);
    g.shutdown();
}

#[test]
fn shrinking_moves_every_session_off_the_retired_loops_which_then_end() {
    let g = group(1, 3);
    g.resize(3).unwrap();
    let conns: Vec<_> = (0..6).map(conn).collect();
    let homes: Vec<_> = conns.iter().map(|c| g.assign(c).unwrap()).collect();
    assert_eq!(loads(&g), [2, 2, 2]);
    g.resize(1).unwrap();
    assert_eq!(
        (g.active(), g.threads()),
        (1, 3),
        "retired loops run until empty"
    );
    let kept = g.all()[0].id;
    for (c, home) in conns.iter().zip(&homes) {
        assert_eq!(c.move_requested(), home.id != kept, "conn {}", c.id);
        if c.move_requested() {
            assert_eq!(g.moved(c, home).unwrap().id, kept);
        }
    }
    // The next resize joins the retired loops, whose threads ended with their last session.
    g.resize(1).unwrap();
    assert_eq!((g.active(), g.threads()), (1, 1));
    assert_eq!(loads(&g), [6]);
    for (c, _) in conns.iter().zip(&homes) {
        g.all()[0].leave(c);
    }
    g.all()[0]
        .reads
        .read
        .fetch_add(5, std::sync::atomic::Ordering::Relaxed);
    g.shutdown();
    assert_eq!(
        g.reads().read.into_inner(),
        5,
        "the counts outlive the loops"
    );
    assert!(g.assign(&conn(9)).is_none(), "no loop after shutdown");
    g.resize(2).unwrap();
    assert_eq!(g.threads(), 0, "and none starts again");
}

#[test]
fn a_retired_loop_runs_until_its_pinned_connections_end() {
    let g = group(1, 2);
    g.resize(2).unwrap();
    // Pins spread like sessions and count as load.
    let first = g.pin().unwrap();
    let second = g.pin().unwrap();
    assert_ne!(first.home().id, second.home().id);
    let c = conn(1);
    assert_eq!(
        g.assign(&c).unwrap().id,
        first.home().id,
        "a tie: the first loop"
    );
    g.resize(1).unwrap();
    assert!(second.home().is_retiring(), "the newest loop retires");
    // An upgraded WebSocket session holds a pin of its own.
    let upgraded = second.clone();
    drop(second);
    g.resize(1).unwrap();
    assert_eq!(
        g.threads(),
        2,
        "a pinned connection keeps its retired loop running"
    );
    drop(upgraded);
    g.resize(1).unwrap();
    assert_eq!((g.active(), g.threads()), (1, 1), "then it ends");
    g.all()[0].leave(&c);
    drop(first);
    g.shutdown();
}

#[test]
fn the_bounds_hold() {
    let g = group(2, 3);
    g.resize(9).unwrap();
    assert_eq!(g.active(), 3);
    g.resize(0).unwrap();
    assert_eq!(g.active(), 2);
    g.shutdown();
}

#[test]
fn a_retired_loops_busy_time_and_cpu_stay_in_the_totals() {
    use std::time::Duration;
    const WORK: Duration = Duration::from_millis(30);
    let g = group(1, 2);
    g.resize(2).unwrap();
    let (before, cpu_before) = g.work();
    // The second loop works on a core for 30 ms (of its own CPU time: the machine may be
    // busy with other tests).
    let (done, worked) = std::sync::mpsc::channel();
    g.all()[1].spawn(async move {
        let cpu = sedaflow::CpuDemand::current();
        let start = cpu.read().on_cpu;
        while cpu.read().on_cpu < start + WORK {
            std::hint::spin_loop();
        }
        let _ = done.send(());
    });
    worked.recv().unwrap();
    g.resize(1).unwrap();
    g.resize(1).unwrap();
    assert_eq!(g.threads(), 1, "the retired loop ended");
    // Else the controller's tick after a retire reads as idle.
    let (after, cpu_after) = g.work();
    assert!(after >= before + WORK, "busy {before:?} then {after:?}");
    assert!(
        cpu_after.on_cpu >= cpu_before.on_cpu + WORK,
        "on a core {:?} then {:?}",
        cpu_before.on_cpu,
        cpu_after.on_cpu
    );
    g.shutdown();
    assert!(g.work().0 >= after, "and after shutdown");
}
