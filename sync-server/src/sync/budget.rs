//! The memory budget of sync requests being read and decoded: however many
//! clients send maximal bodies at once, the bytes held for them (the
//! compressed body, its inflated copy and the decoded request) stay under
//! [`MemoryBudget::total_bytes`].
//!
//! A request takes a [`Lease`] for its compressed body before reading it,
//! then counts the body's inflated size (inflating into nothing) and grows
//! the lease in one step to cover it twice (the inflated buffer and the
//! decoded request holding the same data) before decoding for real. The
//! lease lives until the engine is done with the request. Leases come from one
//! fair (first come, first served) semaphore in units of
//! [`UNIT_BYTES`]; a request that cannot get its next step within
//! [`MemoryBudget::wait`] gives everything back and is answered `503` with
//! `Retry-After`, so two large requests can never wait on each other
//! forever. A request that would need more than the whole budget is `413`.
//!
//! The engine itself runs one request at a time (one write transaction), so
//! its working memory is not multiplied by the number of clients.

use crate::error::Error;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Granularity of the budget.
pub const UNIT_BYTES: usize = 64 * 1024;

/// The default budget for request bodies being decoded: with the server's
/// own baseline (database caches, feed, code; about 60 MB) this keeps its
/// peak resident memory under 256 MB.
pub const DEFAULT_BUDGET_BYTES: usize = 160 * 1024 * 1024;

/// Seconds a client is told to wait when the budget is exhausted.
pub const RETRY_AFTER_SECS: u64 = 5;

/// Bytes of memory shared by all requests being decoded.
pub struct MemoryBudget {
    semaphore: Arc<Semaphore>,
    units: usize,
    /// How long a request may wait for its next step.
    pub wait: Duration,
}

impl Default for MemoryBudget {
    fn default() -> Self {
        MemoryBudget::new(DEFAULT_BUDGET_BYTES, Duration::from_secs(10))
    }
}

/// Units covering `bytes`.
fn units_for(bytes: usize) -> usize {
    bytes.div_ceil(UNIT_BYTES).max(1)
}

impl MemoryBudget {
    /// A budget of `bytes`, each step waited for at most `wait`.
    pub fn new(bytes: usize, wait: Duration) -> MemoryBudget {
        let units = units_for(bytes);
        MemoryBudget {
            semaphore: Arc::new(Semaphore::new(units)),
            units,
            wait,
        }
    }

    /// The whole budget in bytes.
    pub fn total_bytes(&self) -> usize {
        self.units * UNIT_BYTES
    }

    /// Bytes not leased right now.
    pub fn available_bytes(&self) -> usize {
        self.semaphore.available_permits() * UNIT_BYTES
    }

    /// A lease of `bytes`, waiting up to [`MemoryBudget::wait`].
    pub async fn lease(self: &Arc<Self>, bytes: usize) -> Result<Lease, Error> {
        let units = self.check_fits(bytes)?;
        let permit = tokio::time::timeout(
            self.wait,
            self.semaphore.clone().acquire_many_owned(units as u32),
        )
        .await
        .map_err(|_| busy())?
        .map_err(|_| busy())?;
        Ok(Lease {
            budget: self.clone(),
            permit,
            units,
        })
    }

    fn check_fits(&self, bytes: usize) -> Result<usize, Error> {
        let units = units_for(bytes);
        if units > self.units {
            return Err(Error::TooLarge(
                "请求解压后过大 / the request is too large once decompressed".into(),
            ));
        }
        Ok(units)
    }
}

fn busy() -> Error {
    Error::Busy {
        retry_after_secs: RETRY_AFTER_SECS,
    }
}

/// Memory leased by one request; given back when dropped.
pub struct Lease {
    budget: Arc<MemoryBudget>,
    permit: OwnedSemaphorePermit,
    units: usize,
}

impl Lease {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.units * UNIT_BYTES
    }

    /// Grow the lease to cover `bytes` (all of the growth at once: a fair
    /// semaphore serves it whole, first come first served), from a blocking
    /// thread (the decode runs on one), waiting up to the budget's `wait`.
    pub fn grow_blocking(&mut self, bytes: usize) -> Result<(), Error> {
        let wanted = self.budget.check_fits(bytes)?;
        if wanted <= self.units {
            return Ok(());
        }
        let runtime = tokio::runtime::Handle::current();
        let more = (wanted - self.units) as u32;
        let semaphore = self.budget.semaphore.clone();
        let wait = self.budget.wait;
        let extra = runtime
            .block_on(async move {
                tokio::time::timeout(wait, semaphore.acquire_many_owned(more)).await
            })
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        self.permit.merge(extra);
        self.units = wanted;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn leases_are_bounded_given_back_and_time_out_instead_of_deadlocking() {
        let budget = Arc::new(MemoryBudget::new(
            10 * UNIT_BYTES,
            Duration::from_millis(200),
        ));
        let a = budget.lease(4 * UNIT_BYTES).await.unwrap();
        let b = budget.lease(4 * UNIT_BYTES).await.unwrap();
        assert_eq!(budget.available_bytes(), 2 * UNIT_BYTES);
        // Both want to grow past what is left: one times out (503) rather
        // than both waiting forever.
        let grow = |mut lease: Lease| {
            tokio::task::spawn_blocking(move || lease.grow_blocking(8 * UNIT_BYTES).map(|_| lease))
        };
        let (ra, rb) = tokio::join!(grow(a), grow(b));
        let outcomes = [ra.unwrap(), rb.unwrap()];
        let busy = outcomes
            .iter()
            .filter(|r| matches!(r, Err(Error::Busy { .. })))
            .count();
        assert!(busy >= 1, "at least one gave up");
        drop(outcomes);
        assert_eq!(
            budget.available_bytes(),
            budget.total_bytes(),
            "all given back"
        );
        // More than the whole budget is refused at once.
        assert!(matches!(
            budget.lease(11 * UNIT_BYTES).await,
            Err(Error::TooLarge(_))
        ));
    }
}
