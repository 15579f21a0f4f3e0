//! What every publish call says: `try_` calls never wait and never drop (a full queue hands
//! the events back as `Full` whatever its policy), the waiting calls tell when a drop policy
//! dropped, and a publisher for a type no stage takes is refused.

mod support;

use sedaflow::{handler_fn, Batch, OfferError, Pipeline, Published, PublisherError, WhenFull};

/// A stage of capacity 2, not started: its queue fills after two events.
fn full(policy: WhenFull) -> (Pipeline, sedaflow::Publisher<u32>) {
    let mut p = Pipeline::builder();
    p.stage("sink", || {
        handler_fn(|b: &mut Batch<'_, u32>, _ctx| b.for_each(drop))
    })
    .capacity(2)
    .when_full(policy);
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<u32>().unwrap();
    let two = Published {
        enqueued: 2,
        ..Published::default()
    };
    assert_eq!(input.try_publish_batch(&mut vec![0, 1]), Ok(two));
    (pipeline, input)
}

#[test]
fn try_calls_hand_events_back_whatever_the_policy() {
    let policies = [
        WhenFull::Block,
        WhenFull::Reject,
        WhenFull::DropNewest,
        WhenFull::DropOldest,
    ];
    for policy in policies {
        let (p, input) = full(policy);
        assert_eq!(input.try_publish(2), Err(OfferError::Full(2)), "{policy:?}");
        let mut batch = vec![3, 4];
        assert_eq!(
            input.try_publish_batch(&mut batch),
            Err(OfferError::Full(vec![3, 4])),
            "{policy:?}"
        );
        let r = support::assert_clean(p.shutdown(support::DRAIN));
        let s = r.stage("sink").unwrap();
        assert_eq!(
            (s.processed, s.rejected, s.dropped_newest, s.dropped_oldest),
            (2, 3, 0, 0),
            "{policy:?}: nothing dropped, the refused events counted as rejected"
        );
    }
}

#[test]
fn a_try_batch_takes_what_fits_and_hands_back_the_rest() {
    let mut p = Pipeline::builder();
    p.stage("sink", || {
        handler_fn(|b: &mut Batch<'_, u32>, _ctx| b.for_each(drop))
    })
    .capacity(3)
    .when_full(WhenFull::DropOldest);
    let pipeline = p.build().unwrap();
    let input = pipeline.publisher::<u32>().unwrap();
    let mut batch = vec![1, 2, 3, 4, 5];
    assert_eq!(
        input.try_publish_batch(&mut batch),
        Err(OfferError::Full(vec![4, 5]))
    );
    let r = support::assert_clean(pipeline.shutdown(support::DRAIN));
    assert_eq!(r.stage("sink").unwrap().processed, 3);
}

#[test]
fn waiting_calls_say_when_a_drop_policy_dropped() {
    let (p, input) = full(WhenFull::DropNewest);
    let dropped = input.blocking_publish(2).unwrap();
    assert!(dropped.is_dropped());
    assert_eq!(
        dropped,
        Published {
            enqueued: 0,
            dropped: 1,
            evicted: 0
        }
    );
    let mut batch = vec![3, 4];
    let batch_outcome = input.blocking_publish_batch(&mut batch).unwrap();
    assert_eq!(batch_outcome.dropped, 2);
    let r = support::assert_clean(p.shutdown(support::DRAIN));
    assert_eq!(r.stage("sink").unwrap().dropped_newest, 3);

    let (p, input) = full(WhenFull::DropOldest);
    let evicting = input.blocking_publish(2).unwrap();
    assert!(!evicting.is_dropped(), "its own event was taken in");
    assert_eq!(
        evicting,
        Published {
            enqueued: 1,
            dropped: 0,
            evicted: 1
        }
    );
    let r = support::assert_clean(p.shutdown(support::DRAIN));
    assert_eq!(r.stage("sink").unwrap().dropped_oldest, 1);
}

#[tokio::test]
async fn async_calls_say_when_a_drop_policy_dropped() {
    let (p, input) = full(WhenFull::DropNewest);
    let outcome = input.publish(2).await.unwrap();
    assert!(outcome.is_dropped());
    assert_eq!(outcome.enqueued, 0);
    let r = support::assert_clean(p.shutdown(support::DRAIN));
    assert_eq!(r.stage("sink").unwrap().dropped_newest, 1);
}

#[test]
fn a_publisher_for_a_type_no_stage_takes_is_refused() {
    let mut p = Pipeline::builder();
    p.stage("sink", || {
        handler_fn(|b: &mut Batch<'_, u32>, _ctx| b.for_each(drop))
    });
    let pipeline = p.build().unwrap();
    assert_eq!(
        pipeline.publisher::<u64>().unwrap_err(),
        PublisherError::NoSubscriber { event_type: "u64" }
    );
    assert!(matches!(
        pipeline.publisher_on::<u32>("typo"),
        Err(PublisherError::NoSubscriber { .. })
    ));
    assert!(pipeline.publisher::<u32>().is_ok());
    support::assert_clean(pipeline.shutdown(support::DRAIN));
}
