//! The batch a handler iterates.

use std::collections::{HashSet, VecDeque};

use crate::event::KeyFn;

/// Events handed to one [`Handler::handle`] call, oldest first. Iterating takes them out one
/// at a time, so if the handler panics the runner knows which event failed and hands the rest
/// in again.
///
/// [`Handler::handle`]: crate::Handler::handle
pub struct Batch<'a, E> {
    events: &'a mut VecDeque<E>,
    key: Option<&'a KeyFn<E>>,
    quarantine: &'a HashSet<u64>,
    held: &'a mut Vec<E>,
    track_key: bool,
    current_key: Option<u64>,
}

impl<'a, E> Batch<'a, E> {
    pub(crate) fn new(
        events: &'a mut VecDeque<E>,
        key: Option<&'a KeyFn<E>>,
        quarantine: &'a HashSet<u64>,
        held: &'a mut Vec<E>,
        track_key: bool,
    ) -> Self {
        Batch {
            events,
            key,
            quarantine,
            held,
            track_key,
            current_key: None,
        }
    }

    /// Events not yet taken.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether every event has been taken.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Key digest of the event most recently taken (keyed stages that track keys only).
    pub(crate) fn current_key(&self) -> Option<u64> {
        self.current_key
    }
}

impl<E> std::fmt::Debug for Batch<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("len", &self.events.len())
            .finish()
    }
}

impl<E> Iterator for Batch<'_, E> {
    type Item = E;

    #[inline]
    fn next(&mut self) -> Option<E> {
        if self.key.is_none() {
            return self.events.pop_front();
        }
        loop {
            let event = self.events.pop_front()?;
            if let Some(key) = self.key {
                if self.track_key || !self.quarantine.is_empty() {
                    let k = key(&event);
                    if self.quarantine.contains(&k) {
                        self.held.push(event);
                        continue;
                    }
                    self.current_key = Some(k);
                }
            }
            return Some(event);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.events.len()))
    }
}
