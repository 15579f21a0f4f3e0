//! Deferral scopes, and the one rule for when due output is written ([`when`]).
//!
//! A scope runs a piece of work (a loop turn's reads or a reader's read, whose stages run
//! on this thread with `caller_runs`; an encode batch) holding back the writes of the output
//! it files, then writes each connection's output once: one `send` per connection per batch,
//! however many replies the batch filed for it. Scopes nest (a turn, and inside it each
//! encode batch).

use std::cell::RefCell;
use std::sync::Arc;

use super::held;
use super::pending::Pending;

/// When due output is written to the socket. [`when`] decides; nothing else does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum When {
    /// By this thread, before the put (or the scope's end) returns.
    Now,
    /// When the innermost deferral scope open on this thread ends, once per connection.
    AtScopeEnd,
    /// With the output this network thread holds ([`held`]): the next write to that client
    /// carries it, or it is written after a few more reads, or handed over when the thread
    /// goes idle and written within a millisecond.
    Held,
}

/// The moment at which [`when`] is asked.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Moment {
    /// A put is about to file output: may it write what becomes due?
    Filed,
    /// The innermost scope that collected the output has just ended (the enclosing one is
    /// open again); `awaited`: a client waits for some of it.
    ScopeEnded { awaited: bool },
}

/// Decides when due output is written:
///
/// | moment                   | inside a scope | on a network thread | when         |
/// |--------------------------|----------------|---------------------|--------------|
/// | filed                    | no             | either              | `Now`        |
/// | filed                    | yes            | either              | `AtScopeEnd` |
/// | scope ended, awaited     | either         | either              | `Now`        |
/// | scope ended, not awaited | yes            | either              | `AtScopeEnd` |
/// | scope ended, not awaited | no             | yes                 | `Held`       |
/// | scope ended, not awaited | no             | no                  | `Now`        |
///
/// An answer never waits for other clients' work: the innermost scope writes what a client
/// awaits as soon as its batch is done. Output nobody awaits (a maker's fill, caused by
/// another client's order) goes outwards, and on a network thread is not sent on its own:
/// like Netty's flush consolidation, it waits for the next write to that client.
#[inline]
pub(crate) fn when(moment: Moment) -> When {
    match moment {
        Moment::ScopeEnded { awaited: true } => When::Now,
        _ if is_deferring() => When::AtScopeEnd,
        Moment::ScopeEnded { awaited: false } if held::on_network_thread() => When::Held,
        _ => When::Now,
    }
}

/// Connections with output a scope collected: id, output, and whether a client awaits some
/// of it.
pub(crate) type Collected = Vec<(u64, Arc<dyn Pending>, bool)>;

thread_local! {
    /// The innermost scope running on this thread.
    static COLLECTED: RefCell<Option<Collected>> = const { RefCell::new(None) };
    /// Emptied lists for the next scopes: a read opens two, and a list grown anew in each
    /// took several allocations per read.
    static SPARE: RefCell<Vec<Collected>> = const { RefCell::new(Vec::new()) };
}

/// Lists kept in [`SPARE`]: enough for nested scopes.
const SPARE_KEPT: usize = 4;

/// An empty list, one this thread emptied if it has one.
fn fresh() -> Collected {
    SPARE.with(|s| s.borrow_mut().pop()).unwrap_or_default()
}

/// Keeps an emptied list for [`fresh`].
fn recycle(conns: Collected) {
    debug_assert!(conns.is_empty());
    if conns.capacity() > 0 {
        SPARE.with(|s| {
            let mut spare = s.borrow_mut();
            if spare.len() < SPARE_KEPT {
                spare.push(conns);
            }
        });
    }
}

/// Runs `f` as a scope, then writes what it collected as [`when`] says.
pub(crate) fn deferring<R>(f: impl FnOnce() -> R) -> R {
    let (result, conns) = collecting(f);
    write_collected(conns);
    result
}

/// Runs `f` as a scope that writes nothing: what it would write at its end is returned, for
/// [`write_collected`] to write later (after a stage's lane is released).
pub(crate) fn collecting<R>(f: impl FnOnce() -> R) -> (R, Collected) {
    /// Restores the outer scope; if `f` panics, writes what it filed (a client may be
    /// waiting for it, and no later write is certain to carry it).
    struct Scope {
        outer: Option<Option<Collected>>,
    }
    impl Drop for Scope {
        fn drop(&mut self) {
            if let Some(outer) = self.outer.take() {
                let conns = COLLECTED.with(|d| std::mem::replace(&mut *d.borrow_mut(), outer));
                write_collected(conns.unwrap_or_default());
            }
        }
    }
    let list = fresh();
    let mut scope = Scope {
        outer: Some(COLLECTED.with(|d| d.borrow_mut().replace(list))),
    };
    let result = f();
    let outer = scope.outer.take().unwrap_or_default();
    let conns = COLLECTED
        .with(|d| std::mem::replace(&mut *d.borrow_mut(), outer))
        .unwrap_or_default();
    (result, conns)
}

/// Ends a scope's output: each connection's as [`when`] says.
pub(crate) fn write_collected(mut conns: Collected) {
    // The rule depends on a connection only through `awaited`: asked once for the rest.
    let unawaited = when(Moment::ScopeEnded { awaited: false });
    for (id, conn, awaited) in conns.drain(..) {
        let at = if awaited {
            when(Moment::ScopeEnded { awaited })
        } else {
            unawaited
        };
        match at {
            When::Now => conn.write_pending(),
            When::AtScopeEnd => add(id, false, || conn),
            When::Held => held::hold(id, conn),
        }
    }
    recycle(conns);
    // An outermost scope on a network thread: one more read served.
    if unawaited == When::Held {
        held::read_served();
    }
}

/// Has `conn`, whose filed output is due, written when the innermost scope ends
/// ([`When::AtScopeEnd`]); `awaited`: a client waits for some of it.
pub(crate) fn collect<C: Pending + 'static>(conn: &Arc<C>, awaited: bool) {
    add(conn.id(), awaited, || conn.clone());
}

fn add(id: u64, awaited: bool, conn: impl FnOnce() -> Arc<dyn Pending>) {
    COLLECTED.with(|d| {
        if let Some(conns) = d.borrow_mut().as_mut() {
            match conns.iter_mut().find(|(c, _, _)| *c == id) {
                Some((_, _, a)) => *a |= awaited,
                None => conns.push((id, conn(), awaited)),
            }
        }
    });
}

/// Whether a scope is open on this thread.
fn is_deferring() -> bool {
    COLLECTED.with(|d| d.borrow().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_takes_the_list_an_earlier_one_emptied() {
        // Outside a network thread with nothing collected: nothing is written.
        let ((), conns) = collecting(|| ());
        assert!(conns.is_empty());
        let list = Collected::with_capacity(8);
        let at = list.as_ptr();
        write_collected(list);
        let ((), conns) = collecting(|| ());
        assert_eq!(conns.as_ptr(), at, "the emptied list again");
    }
}
