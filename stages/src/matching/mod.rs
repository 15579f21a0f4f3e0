//! The matching engine: one price–time priority order book per symbol, as pure logic (no
//! IO, threads or clocks).
//!
//! [`Engine::submit`] takes a validated [`Request`] from an account ([`Owner`]) and appends
//! the [`Report`]s it causes to a caller-owned `Vec`, which the caller reuses between
//! calls (and, [with deltas](#market-data), what it did to each book for market data). Trades execute at the resting order's price; `match` ids increase per symbol from
//! 1; a `gtc` or `post` limit remainder rests, an `ioc` or `market` remainder expires. A
//! `fok` order trades only when the quantity it may trade at its limit covers all of it,
//! and otherwise expires untouched; a `post` order that would trade is rejected (`would
//! cross`) and otherwise rests like a `gtc` one.
//!
//! # Accounts
//!
//! Orders belong to accounts: an order is named by its account and its id, so two accounts
//! may rest the same id on one book. `cancel` and `amend` of another account's order are
//! `unknown order`, exactly as for no order.
//!
//! # Audience
//!
//! Each report says who gets it ([`To`]). [`To::Sender`], the connection that sent the
//! request: its `ack`, `reject`, `amended`, the `order` lines and `orders_end`,
//! `cancel_all_done`, and a new order's own fills and `done` (filled, expired, or `self
//! trade` when it never rested). [`To::Owner`], every session of the account: the fills
//! and `done`s of resting orders (trades, `cancel`, `cancel_all`, a maker cancelled by
//! self-trade prevention), and an amended order's fills and `done`, as it was resting.
//!
//! # Ordering
//!
//! The reports of one request come out in delivery order. A new order: its `ack`, then per
//! trade its own `fill`, the resting order's `fill` and, if that order is now filled, its
//! `done`; last its own `done` unless it rests. An amend: `amended` (the order's price and
//! leaves right after it), then the same as a new order's reports after `ack`. `orders`:
//! one `order` per resting order of the account, ascending by id (then symbol), then
//! `orders_end`. `cancel_all`: one `done` `cancelled` per order, ascending by id (then
//! symbol), then `cancel_all_done`: always reports, then one end marker, so a caller that
//! sends a symbol-less request to several engines can merge the parts. Output never
//! depends on hash-map iteration order, so the same requests always give the same reports.
//!
//! # Amend
//!
//! `qty` is the order's new open quantity. The same price with a smaller quantity changes
//! it in place and keeps its time priority; a new price or a larger quantity takes it off
//! the book and enters it again as an incoming order with its own `tif` and `stp`: to the
//! back of its level, trading first if the new price crosses. Amending to the current
//! values changes nothing ([`Outcome::Listed`]). A `post` order amended to a crossing
//! price is rejected (`would cross`) and stays as it was. Neither `qty` nor `price` is
//! `nothing to amend`.
//!
//! # Self-trade prevention
//!
//! Decided by the incoming (or amended) order's [`Stp`] when it meets a resting order of
//! its own account: `none` trades; `cancel_taker` ends the incoming order (`done` `self
//! trade`, after any fills it had) and matching stops; `cancel_maker` cancels the resting
//! one (`done` `self trade`) and matching goes on; `cancel_both` does both, the maker's
//! `done` first. A `fok` order counts only what it may trade: never its own account's
//! orders, and with `cancel_taker` or `cancel_both` nothing after the first of them; when
//! that is short it expires and cancels nothing. A `post` order is refused when anything
//! crosses, its own account's orders included, whatever its `stp`: it never takes
//! liquidity nor cancels anything.
//!
//! # Ids
//!
//! A new order's id must not equal one of its account's orders resting on the same symbol
//! (`duplicate id`) and must be above every id its account had accepted (`id not
//! increasing`). The engine keeps no per-account state for the second rule, so it can be
//! sharded by symbol: the caller passes the account's floor and raises it when the
//! [`Outcome`] is [accepted](Outcome::is_accepted).
//!
//! # Market data
//!
//! Each book keeps its depth sequence ([`Book::seq`]) and each price level its total open quantity.
//! [`Engine::submit_with_deltas`] also puts in a [`DeltaSink`] (a `Vec<BookDelta>`, a compact
//! [`Deltas`], or the caller's own), per book the request changed, a [`BookDelta`]: the book's next
//! `seq` (0 for a book that never changed; +1 per request that changed its resting orders: an order
//! that rests or trades, market, `ioc` and `fok` ones included, a cancel, an amend that changed
//! something, a self-trade cancel of a resting order, and one step per book for `cancel_all`; not a
//! rejected request, an amend to the current values, nor an order that neither traded nor rests),
//! each level whose total changed once, with its total after the request (0: gone), bids then asks,
//! each by ascending price, and the trades in match order at the resting orders' prices with the
//! incoming order's side. The engine has no clock: a trade's `time_ms` is 0 for the caller to
//! stamp. A symbol-less `cancel_all` gives its deltas by symbol. Cancel on disconnect counts one
//! step per cancelled order: [`Engine::cancel_all_each`] is `cancel_all` with one delta per order
//! (by symbol, then ascending id). Plain [`Engine::submit`] keeps the sequence and totals alike and
//! records nothing more. [`Book::restore`] takes the sequence back, and journal snapshots store it,
//! so recovery carries it on; replay must repeat a disconnect's cancels through `cancel_all_each`
//! to count them alike.
//!
//! # Memory
//!
//! Bounded by the resting orders and the books ever changed: filled and cancelled orders
//! leave every index at once and their slots are reused, empty price levels are removed,
//! and a book that never changed is dropped (one that did keeps its `match` ids and
//! sequence, even empty). Allocations keep the size of a book's peak.
//! `orders` and `cancel_all` scan the books instead of keeping a per-account index, which
//! every order would pay for.

mod book;
mod delta;
mod engine;
mod error;
mod ladder;
mod order;
mod outcome;
mod price;
mod report;
mod request;
mod slab;
mod symbol;

pub use book::Book;
pub use delta::{BookDelta, DeltaRef, DeltaSink, Deltas, LevelChange, Levels, Trade, Trades};
pub use engine::Engine;
pub use error::{PriceError, RestoreError, SymbolError};
pub(crate) use ladder::{Ladder, Rung};
pub use order::{OrderId, Owner, Qty, Resting, Side, Stp, Tif};
pub use outcome::Outcome;
pub use price::{Price, PriceText};
pub use report::{DoneReason, RejectReason, Report, ReportKind, To};
pub use request::Request;
pub use symbol::Symbol;
