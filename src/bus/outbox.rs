//! A stage's outgoing events, buffered per type and delivered once per batch.

use std::any::TypeId;
use std::sync::Arc;

use crate::event::Event;
use crate::queue::{Origin, Wait};

use super::dead_letter::DeadReason;
use super::error::Bounced;
use super::lane_stage::LaneStage;
use super::route::{Bus, Route};

/// What a flush needs: the bus, who is emitting, and the fused stages after it.
pub(crate) struct Delivery<'a> {
    pub(crate) bus: &'a Bus,
    pub(crate) from: usize,
    pub(crate) from_name: &'a Arc<str>,
    /// Stages of the same lane after the emitter; `later[0]` sits at position `offset`.
    pub(crate) later: &'a mut [Box<dyn LaneStage>],
    pub(crate) offset: usize,
    pub(crate) bounced: &'a mut Vec<Bounced>,
}

/// A typed buffer behind an erased slot.
pub(crate) trait Pending: Send {
    fn is_empty(&self) -> bool;
    fn deliver(&mut self, d: &mut Delivery<'_>);
}

struct TypedBuf<T> {
    topic: Option<&'static str>,
    events: Vec<T>,
    /// Resolved on first use: routes never change after build.
    route: Option<Route<T>>,
}

impl<T: Event> Pending for TypedBuf<T> {
    fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    fn deliver(&mut self, d: &mut Delivery<'_>) {
        let route = self
            .route
            .get_or_insert_with(|| d.bus.resolve(self.topic, Some(d.from)));
        let dead = &d.bus.dead;
        let later = &mut *d.later;
        let offset = d.offset;
        let from_name = d.from_name;
        let topic = self.topic;
        let mut refused = Vec::new();
        // A stage's drops are counted by the receiving queue; only refusals go back to it.
        let _ = route.deliver(
            dead,
            Some(from_name),
            &mut self.events,
            Wait::Until(None),
            Origin::Internal,
            &mut |pos, events| {
                let inbox = pos
                    .checked_sub(offset)
                    .and_then(|i| later.get_mut(i))
                    .and_then(|s| s.inbox_any().downcast_mut::<Vec<T>>());
                match inbox {
                    // An empty inbox takes the whole buffer: no copy between fused stages.
                    Some(inbox) if inbox.is_empty() => std::mem::swap(inbox, events),
                    Some(inbox) => inbox.append(events),
                    None => dead.record(
                        events.drain(..),
                        topic,
                        Some(from_name),
                        DeadReason::Unroutable,
                    ),
                }
            },
            &mut refused,
        );
        for (stage, e) in refused {
            let reason = e.reason();
            d.bounced
                .push(Bounced::new(stage, reason, topic, e.into_inner()));
        }
    }
}

struct Slot {
    type_id: TypeId,
    topic: Option<&'static str>,
    buf: Box<dyn Pending>,
}

/// Per-type buffers of one stage in one lane. `emit` is a type-id compare and a `Vec` push;
/// routing and queue work happen once per batch in [`Outbox::flush`].
#[derive(Default)]
pub(crate) struct Outbox {
    slots: Vec<Slot>,
    last: usize,
}

impl Outbox {
    #[inline]
    pub(crate) fn push<T: Event>(&mut self, topic: Option<&'static str>, event: T) {
        self.buffer::<T>(topic).push(event);
    }

    /// Appends `events` to the buffer of `T` on `topic`. Unlike `Vec::extend` for iterators
    /// std cannot trust the length of, the length lives in a register during the loop (a
    /// store and reload per event otherwise), and iterators whose `fold` is a tight loop
    /// ([`Batch::drain`](crate::Batch::drain)) keep their cursor in one too.
    pub(crate) fn extend<T: Event>(
        &mut self,
        topic: Option<&'static str>,
        events: impl IntoIterator<Item = T>,
    ) {
        let events = events.into_iter();
        let buf = self.buffer::<T>(topic);
        buf.reserve(events.size_hint().0);
        let mut w = Writer {
            ptr: buf.as_mut_ptr(),
            cap: buf.capacity(),
            len: buf.len(),
            vec: buf,
        };
        // The closure owns the writer (as std's `SetLenOnDrop`), so its fields can live in
        // registers; dropping the closure, at the end or by a panic, sets the length.
        events.for_each(move |e| w.push(e));
    }

    /// The buffer of `T` events on `topic`.
    #[inline]
    pub(crate) fn buffer<T: Event>(&mut self, topic: Option<&'static str>) -> &mut Vec<T> {
        let id = TypeId::of::<T>();
        let i = match self.slots.get(self.last) {
            Some(s) if s.type_id == id && s.topic == topic => self.last,
            _ => self.slot_for::<T>(topic),
        };
        self.last = i;
        let pending: &mut dyn Pending = &mut *self.slots[i].buf;
        // SAFETY: slot `i` carries `TypeId::of::<T>()`, and `slot_for::<T>` is the only place
        // that creates slots, always boxing a `TypedBuf<T>` with that id.
        let buf = unsafe { &mut *(pending as *mut dyn Pending as *mut TypedBuf<T>) };
        &mut buf.events
    }

    // Cold: once per type per lane; kept out of line so `push` inlines into handlers.
    #[cold]
    #[inline(never)]
    fn slot_for<T: Event>(&mut self, topic: Option<&'static str>) -> usize {
        let id = TypeId::of::<T>();
        if let Some(i) = self
            .slots
            .iter()
            .position(|s| s.type_id == id && s.topic == topic)
        {
            return i;
        }
        self.slots.push(Slot {
            type_id: id,
            topic,
            buf: Box::new(TypedBuf::<T> {
                topic,
                events: Vec::new(),
                route: None,
            }),
        });
        self.slots.len() - 1
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.slots.iter().all(|s| s.buf.is_empty())
    }

    pub(crate) fn flush(&mut self, d: &mut Delivery<'_>) {
        for slot in &mut self.slots {
            if !slot.buf.is_empty() {
                slot.buf.deliver(d);
            }
        }
    }
}

/// Appends to a `Vec` with the length kept in the writer; the `Vec` learns it on drop, so a
/// panicking iterator leaves every written element owned by it.
struct Writer<'v, T> {
    ptr: *mut T,
    cap: usize,
    len: usize,
    vec: &'v mut Vec<T>,
}

impl<T> Writer<'_, T> {
    #[inline(always)]
    fn push(&mut self, e: T) {
        if self.len == self.cap {
            (self.ptr, self.cap) = grow(self.vec, self.len);
        }
        // SAFETY: `len < cap`, so the slot is inside the allocation and uninitialised.
        unsafe { self.ptr.add(self.len).write(e) };
        self.len += 1;
    }
}

/// Makes room for one more element after the `len` a [`Writer`] has written. It takes no
/// reference to the writer, whose fields can then stay in registers.
#[cold]
#[inline(never)]
fn grow<T>(vec: &mut Vec<T>, len: usize) -> (*mut T, usize) {
    // SAFETY: elements `..len` are initialised (written by `Writer::push`).
    unsafe { vec.set_len(len) };
    vec.reserve(1);
    (vec.as_mut_ptr(), vec.capacity())
}

impl<T> Drop for Writer<'_, T> {
    fn drop(&mut self) {
        // SAFETY: as in `grow`.
        unsafe { self.vec.set_len(self.len) };
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::Arc;

    use super::*;

    #[test]
    fn extend_grows_past_a_low_size_hint_and_appends_after_what_is_there() {
        let mut outbox = Outbox::default();
        outbox.push(None, 0u32);
        // `filter` hints 0: every push past the reserved room goes through `grow`.
        outbox.extend(None, (1..1000u32).filter(|_| true));
        outbox.extend(None, std::iter::empty::<u32>());
        let all = outbox.buffer::<u32>(None);
        assert_eq!(*all, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn a_panicking_iterator_leaves_what_it_wrote_owned_by_the_buffer() {
        struct Tracked(#[allow(dead_code)] Arc<()>);
        let marker = Arc::new(());
        let mut outbox = Outbox::default();
        let m = marker.clone();
        let result = catch_unwind(AssertUnwindSafe(|| {
            outbox.extend(
                None,
                (0..10).map(|i| {
                    assert!(i < 5, "source failed");
                    Tracked(m.clone())
                }),
            );
        }));
        assert!(result.is_err());
        drop(m);
        assert_eq!(outbox.buffer::<Tracked>(None).len(), 5);
        assert_eq!(Arc::strong_count(&marker), 6);
        outbox.buffer::<Tracked>(None).clear();
        assert_eq!(Arc::strong_count(&marker), 1);
    }
}
