//! A per-connection byte budget for backpressure: the bytes a connection holds for requests
//! being handled and answers not yet written. The reader stops taking requests while the
//! budget is spent, so a peer that sends without reading cannot make the server queue answers
//! without bound; the writer gives bytes back as it writes them.
//!
//! One atomic add or subtract per request and per written batch; the reader sleeps only when
//! the budget is spent (or the writer has failed).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

/// Bytes held by one connection, against a limit. Shared by its reader, its request tasks and
/// its writer. Meant for one waiting reader.
#[derive(Debug)]
pub struct ByteBudget {
    held: AtomicUsize,
    limit: usize,
    closed: AtomicBool,
    wake: Notify,
}

impl ByteBudget {
    /// A budget of `limit` bytes, none held.
    pub fn new(limit: usize) -> ByteBudget {
        ByteBudget { held: AtomicUsize::new(0), limit, closed: AtomicBool::new(false), wake: Notify::new() }
    }

    /// The bytes held now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    /// Takes `n` more bytes (always granted: the reader checks for room before it reads).
    pub fn take(&self, n: usize) {
        self.held.fetch_add(n, Ordering::AcqRel);
    }

    /// Gives back `n` bytes, waking the reader when this brings the budget back within its limit.
    pub fn give_back(&self, n: usize) {
        let before = self.held.fetch_sub(n, Ordering::AcqRel);
        if before > self.limit && before - n <= self.limit {
            self.wake.notify_one();
        }
    }

    /// Replaces a reservation of `reserved` bytes by the `actual` bytes now held.
    pub fn settle(&self, reserved: usize, actual: usize) {
        if actual > reserved {
            self.take(actual - reserved);
        } else {
            self.give_back(reserved - actual);
        }
    }

    /// Marks the connection as failing (its writer stopped): wakes and stops the reader.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Waits until the held bytes are within the limit (`true`), or the budget is closed
    /// (`false`). Returns at once in the common case.
    pub async fn room(&self) -> bool {
        loop {
            if self.is_closed() {
                return false;
            }
            if self.held() <= self.limit {
                return true;
            }
            // `notify_one` keeps a permit when no one waits, so a wake between the checks
            // above and this wait is not lost.
            self.wake.notified().await;
        }
    }

    /// Completes when the budget is closed.
    pub async fn closed(&self) {
        while !self.is_closed() {
            self.wake.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn settle_replaces_a_reservation_by_what_is_held_either_way() {
        let budget = ByteBudget::new(1000);
        budget.take(100);
        // An answer larger than its reservation holds the difference too.
        budget.settle(100, 150);
        assert_eq!(budget.held(), 150);
        budget.take(100);
        // A smaller one gives the rest back.
        budget.settle(100, 40);
        assert_eq!(budget.held(), 190);
        budget.settle(190, 190);
        assert_eq!(budget.held(), 190);
    }

    #[tokio::test]
    async fn the_reader_waits_while_the_budget_is_spent_and_resumes_when_bytes_come_back() {
        let budget = Arc::new(ByteBudget::new(100));
        assert!(budget.room().await);
        budget.take(150);
        let waiter = tokio::spawn({
            let budget = budget.clone();
            async move { budget.room().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "over the limit, the reader must wait");
        budget.give_back(40);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "110 bytes are still over the limit");
        budget.settle(10, 0);
        assert!(tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap());
        assert_eq!(budget.held(), 100);
    }

    #[tokio::test]
    async fn closing_releases_a_waiting_reader_with_false() {
        let budget = Arc::new(ByteBudget::new(1));
        budget.take(2);
        let waiter = tokio::spawn({
            let budget = budget.clone();
            async move { budget.room().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        budget.close();
        assert!(!tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap());
        tokio::time::timeout(Duration::from_secs(5), budget.closed()).await.unwrap();
    }
}
