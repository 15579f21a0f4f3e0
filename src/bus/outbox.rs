//! A stage's outgoing events, buffered per type and delivered once per batch.

use std::any::TypeId;
use std::sync::Arc;

use crate::domain::LaneStage;
use crate::event::Event;
use crate::queue::{Origin, Wait};

use super::dead_letter::DeadReason;
use super::error::Bounced;
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
        route.deliver(
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
