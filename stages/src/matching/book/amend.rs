//! `amend`: a resting order's new open quantity or price.

use super::{reject, Book, Incoming};
use crate::matching::{
    OrderId, Outcome, Owner, Price, Qty, RejectReason, Report, ReportKind, Tif, To,
};

impl Book {
    /// Amends the account's resting order `id`: `qty` is its new open quantity (`leaves`).
    ///
    /// A smaller quantity at the same price is changed in place and keeps the order's time
    /// priority; a new price or a larger quantity takes it off the book and puts it back as
    /// an incoming order would come (with its own `tif` and `stp`), so it goes to the back
    /// of its level and trades first if the new price crosses. `amended` (to the sender)
    /// comes first, with the values right after the amend; the order's fills and `done`
    /// concern a resting order, so they go to the account. Amending to the current values
    /// answers `amended` and changes nothing ([`Outcome::Listed`]).
    pub(super) fn amend(
        &mut self,
        owner: Owner,
        id: OrderId,
        qty: Option<Qty>,
        price: Option<Price>,
        out: &mut Vec<Report>,
    ) -> Outcome {
        if qty.is_none() && price.is_none() {
            return reject(out, id, RejectReason::NothingToAmend);
        }
        if qty == Some(0) {
            return reject(out, id, RejectReason::InvalidQty);
        }
        let Some(&slot) = self.index.get(&(owner, id)) else {
            return reject(out, id, RejectReason::UnknownOrder);
        };
        let node = *self.orders.get(slot);
        let old_price = self.ladder(node.side).price(node.key);
        let new_price = price.unwrap_or(old_price);
        let leaves = qty.unwrap_or(node.leaves);
        let order = Incoming {
            id,
            side: node.side,
            qty: leaves,
            limit: Some(new_price),
            tif: node.tif,
            stp: node.stp,
            to: To::Owner(owner),
        };
        let amended = Report {
            to: To::Sender,
            kind: ReportKind::Amended {
                id,
                price: new_price,
                leaves,
            },
        };
        if new_price == old_price && leaves <= node.leaves {
            out.push(amended);
            if leaves == node.leaves {
                return Outcome::Listed;
            }
            self.reduce(slot, leaves);
            return Outcome::Amended;
        }
        if order.tif == Tif::Post && self.crosses(order) {
            return reject(out, id, RejectReason::WouldCross);
        }
        self.unlink(slot);
        out.push(amended);
        self.execute(owner, order, out);
        Outcome::Amended
    }

    /// Lowers the open quantity of the order in `slot` to `leaves`, in place.
    fn reduce(&mut self, slot: u32, leaves: Qty) {
        let node = self.orders.get_mut(slot);
        let cut = node.leaves - leaves;
        node.leaves = leaves;
        let (side, key) = (node.side, node.key);
        let ladder = self.ladder_mut(side);
        let price = ladder.price(key);
        // A resting order's level always exists.
        let Some(position) = ladder.find(key) else {
            return;
        };
        let level = ladder.get_mut(position);
        level.total -= cut;
        let total = level.total;
        self.changes.level(side, price, total);
    }
}
