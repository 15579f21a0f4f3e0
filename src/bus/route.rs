//! Routes: which stages receive an event type (and topic), resolved once and cached.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::event::Event;
use crate::queue::{OfferError, Origin, Published, Queue, Wait};

use super::dead_letter::{DeadLetters, DeadReason};

pub(crate) type RouteKey = (TypeId, Option<&'static str>);

/// Where a stage sits in the placement plan.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    pub(crate) name: Arc<str>,
    pub(crate) domain: usize,
    pub(crate) position: usize,
}

/// Subscribers of one (type, topic), with their queues where they lead a domain.
pub(crate) struct RouteTable<T> {
    pub(crate) subscribers: Vec<(usize, Option<Arc<Queue<T>>>)>,
}

/// One receiver of a route as seen from a given emitter.
pub(crate) enum Target<T> {
    /// The receiver leads its domain: offer to its queue.
    Queue(Arc<Queue<T>>, Arc<str>),
    /// The receiver is fused later in the emitter's own domain: a direct call at this position.
    Direct(usize),
    /// The receiver is fused behind another stage elsewhere: it cannot be reached.
    Unroutable,
}

/// A resolved route: its targets and how to copy events for fan-out.
pub(crate) struct Route<T> {
    pub(crate) targets: Vec<Target<T>>,
    cloner: Option<fn(&T) -> T>,
    pub(crate) topic: Option<&'static str>,
}

/// The mediator: stages publish to the bus and never hold references to each other.
pub(crate) struct Bus {
    pub(crate) routes: HashMap<RouteKey, Box<dyn Any + Send + Sync>>,
    pub(crate) cloners: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
    pub(crate) places: Vec<Place>,
    pub(crate) dead: DeadLetters,
    /// Set when a shutdown deadline passes: running batches stop handing out events.
    pub(crate) halt: AtomicBool,
}

impl Bus {
    /// Resolves the route of `T` on `topic` as seen from stage `from` (`None`: outside).
    pub(crate) fn resolve<T: Event>(
        &self,
        topic: Option<&'static str>,
        from: Option<usize>,
    ) -> Route<T> {
        let subscribers = self
            .routes
            .get(&(TypeId::of::<T>(), topic))
            .and_then(|t| t.downcast_ref::<RouteTable<T>>())
            .map(|t| t.subscribers.as_slice())
            .unwrap_or_default();
        let from = from.map(|i| &self.places[i]);
        let targets = subscribers
            .iter()
            .map(|(stage, queue)| {
                let place = &self.places[*stage];
                match (queue, from) {
                    (_, Some(f)) if f.domain == place.domain && place.position > f.position => {
                        Target::Direct(place.position)
                    }
                    (Some(q), _) => Target::Queue(q.clone(), place.name.clone()),
                    (None, _) => Target::Unroutable,
                }
            })
            .collect();
        let cloner = self
            .cloners
            .get(&TypeId::of::<T>())
            .and_then(|c| c.downcast_ref::<fn(&T) -> T>())
            .copied();
        Route {
            targets,
            cloner,
            topic,
        }
    }
}

/// Refusals of one delivery: the refusing stage and what it handed back.
pub(crate) type Refusals<T> = Vec<(Arc<str>, OfferError<Vec<T>>)>;

impl<T: Event> Route<T> {
    /// Whether any target has a queue (outside publishers need one).
    pub(crate) fn reachable(&self) -> bool {
        self.targets.iter().any(|t| matches!(t, Target::Queue(..)))
    }

    /// Delivers `events` to every target (copies for all but the last), dead-lettering what has
    /// nowhere to go. `direct` receives the events for fused stages. Leaves `events` empty and
    /// returns what became of those not refused, summed over the targets.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn deliver(
        &self,
        dead: &DeadLetters,
        from: Option<&Arc<str>>,
        events: &mut Vec<T>,
        wait: Wait,
        origin: Origin,
        direct: &mut dyn FnMut(usize, &mut Vec<T>),
        refused: &mut Refusals<T>,
    ) -> Published {
        let mut done = Published::default();
        let Some((last, rest)) = self.targets.split_last() else {
            done.dropped = events.len();
            dead.record(events.drain(..), self.topic, from, DeadReason::NoSubscriber);
            return done;
        };
        for target in rest {
            let mut copy = self.copy(events);
            done.add(self.send(target, dead, from, &mut copy, wait, origin, direct, refused));
        }
        done.add(self.send(last, dead, from, events, wait, origin, direct, refused));
        done
    }

    /// Copies for fan-out. Build refuses fan-out without a cloner, so `None` never happens.
    pub(crate) fn copy(&self, events: &[T]) -> Vec<T> {
        self.cloner
            .map(|clone| events.iter().map(clone).collect())
            .unwrap_or_default()
    }

    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        target: &Target<T>,
        dead: &DeadLetters,
        from: Option<&Arc<str>>,
        events: &mut Vec<T>,
        wait: Wait,
        origin: Origin,
        direct: &mut dyn FnMut(usize, &mut Vec<T>),
        refused: &mut Refusals<T>,
    ) -> Published {
        match target {
            Target::Queue(q, name) => match q.offer(events, wait, origin) {
                Ok(done) => done,
                Err(e) => {
                    refused.push((name.clone(), e));
                    Published::default()
                }
            },
            Target::Direct(pos) => {
                let enqueued = events.len();
                direct(*pos, events);
                Published {
                    enqueued,
                    ..Published::default()
                }
            }
            Target::Unroutable => {
                let dropped = events.len();
                dead.record(events.drain(..), self.topic, from, DeadReason::Unroutable);
                Published {
                    dropped,
                    ..Published::default()
                }
            }
        }
    }
}
