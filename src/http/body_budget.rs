//! Webhook bodies are read before their signature can be checked, so anyone who can reach
//! `/webhook` can make the service hold one in memory. This bounds that memory across all
//! connections: every byte held is first reserved from one shared budget, and a body that
//! does not fit is refused (503, to retry later) instead of waiting for room. A body must
//! also arrive within a deadline, so that a slow sender cannot hold its share for ever.
//!
//! GitHub does not retry a delivery that was refused, so the usual small deliveries must
//! not be crowded out by a sender who declares large bodies and trickles them (before,
//! two unsigned 25 MiB declarations held the whole default budget for the deadline while
//! sending nothing). Hence two tiers:
//! - a small body (declared at most [`SMALL_BODY_BYTES`], or undeclared and not yet past
//!   it) reserves only what has arrived (its buffer's capacity), so holding its share costs
//!   a sender the bytes themselves;
//! - a large body reserves its declared length up front (so that one of several large
//!   deliveries completes rather than all of them stalling half-read), but large bodies
//!   together may hold only the budget less a reserve kept for small ones.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use bytes::BytesMut;
use http_body_util::BodyExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The default budget: one delivery of GitHub's largest size fits, with room to spare
/// for the usual small ones.
pub const DEFAULT_BUDGET_MIB: u32 = 32;
/// The default deadline for a whole body (GitHub waits 10 s for an answer).
pub const DEFAULT_TIMEOUT_SECS: u64 = 20;
/// Bodies up to this size are small: GitHub's issue, comment and pull request deliveries
/// are a few KiB to a few hundred.
pub const SMALL_BODY_BYTES: usize = 1024 * 1024;
/// Of the budget, what large bodies may never take: room for dozens of small deliveries.
/// At the smallest budgets half of it is kept.
const SMALL_RESERVE_BYTES: usize = 4 * 1024 * 1024;

/// The shared budget and the deadline, for every webhook body this process reads.
#[derive(Debug, Clone)]
pub struct WebhookBodyLimits {
    /// Every byte held by a body being read.
    budget: Arc<Semaphore>,
    /// What large bodies hold, on top of their share of `budget`.
    large: Arc<Semaphore>,
    budget_bytes: usize,
    small_body_bytes: usize,
    timeout: Duration,
}

/// Why a body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the body is larger than {limit} bytes, more than GitHub ever sends")]
    TooLarge { limit: usize },
    #[error(
        "too many webhook bodies are being read at once ({budget} bytes in flight at most); \
         redeliver this one later"
    )]
    OverBudget { budget: usize },
    #[error("the body did not arrive within {} s", timeout.as_secs())]
    TimedOut { timeout: Duration },
    #[error("reading the body failed: {0}")]
    Read(String),
}

/// A body read in full, holding its share of the budget until dropped.
pub struct BudgetedBody {
    pub bytes: Bytes,
    _reserved: Reservation,
}

impl Default for WebhookBodyLimits {
    fn default() -> Self {
        WebhookBodyLimits::new(
            DEFAULT_BUDGET_MIB as usize * 1024 * 1024,
            Duration::from_secs(DEFAULT_TIMEOUT_SECS),
        )
    }
}

impl WebhookBodyLimits {
    /// At most `budget_bytes` of webhook bodies in memory at once; each body within `timeout`.
    pub fn new(budget_bytes: usize, timeout: Duration) -> WebhookBodyLimits {
        let reserve = SMALL_RESERVE_BYTES.min(budget_bytes / 2);
        WebhookBodyLimits::with_tiers(budget_bytes, reserve, SMALL_BODY_BYTES, timeout)
    }

    /// As `new`, with the small bodies' reserve and size limit given.
    fn with_tiers(
        budget_bytes: usize,
        small_reserve: usize,
        small_body_bytes: usize,
        timeout: Duration,
    ) -> WebhookBodyLimits {
        WebhookBodyLimits {
            budget: Arc::new(Semaphore::new(budget_bytes)),
            large: Arc::new(Semaphore::new(budget_bytes - small_reserve)),
            budget_bytes,
            small_body_bytes,
            timeout,
        }
    }

    /// Reads `body` (at most `max` bytes). A declared `content_length` is checked first; a
    /// large one is reserved before any byte is read, a small one as its bytes arrive.
    pub async fn read(
        &self,
        body: Body,
        content_length: Option<u64>,
        max: usize,
    ) -> Result<BudgetedBody, BodyError> {
        let declared = match content_length {
            Some(length) if length > max as u64 => return Err(BodyError::TooLarge { limit: max }),
            Some(length) => length as usize,
            None => 0,
        };
        let mut reserved = Reservation::default();
        if declared > self.small_body_bytes {
            self.grow(&mut reserved, declared)?;
        }
        tokio::time::timeout(self.timeout, self.collect(body, reserved, declared, max))
            .await
            .map_err(|_| BodyError::TimedOut {
                timeout: self.timeout,
            })?
    }

    /// Extends `reserved` to `bytes`; past the small size, also from the large bodies' share.
    fn grow(&self, reserved: &mut Reservation, bytes: usize) -> Result<(), BodyError> {
        let over = || BodyError::OverBudget {
            budget: self.budget_bytes,
        };
        let take = |pool: &Arc<Semaphore>, more: usize| {
            let more = u32::try_from(more).map_err(|_| over())?;
            Arc::clone(pool)
                .try_acquire_many_owned(more)
                .map_err(|_| over())
        };
        if bytes > self.small_body_bytes && bytes > reserved.large_bytes() {
            let more = take(&self.large, bytes - reserved.large_bytes())?;
            merge(&mut reserved.large, more);
        }
        if bytes > reserved.bytes() {
            let more = take(&self.budget, bytes - reserved.bytes())?;
            merge(&mut reserved.all, more);
        }
        Ok(())
    }

    async fn collect(
        &self,
        mut body: Body,
        mut reserved: Reservation,
        declared: usize,
        max: usize,
    ) -> Result<BudgetedBody, BodyError> {
        // A small declared length is not trusted to size the buffer: it is not reserved.
        let capacity_hint = if declared > self.small_body_bytes {
            declared
        } else {
            0
        };
        let mut read = Collected::default();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|err| BodyError::Read(err.to_string()))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if read.len() + data.len() > max {
                return Err(BodyError::TooLarge { limit: max });
            }
            read.push(data, capacity_hint);
            self.grow(&mut reserved, read.held())?;
        }
        Ok(BudgetedBody {
            bytes: read.into_bytes(),
            _reserved: reserved,
        })
    }
}

/// What one body holds of the budget (and, when large, of the large bodies' share).
#[derive(Default)]
struct Reservation {
    all: Option<OwnedSemaphorePermit>,
    large: Option<OwnedSemaphorePermit>,
}

impl Reservation {
    fn bytes(&self) -> usize {
        self.all
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits)
    }

    fn large_bytes(&self) -> usize {
        self.large
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits)
    }
}

fn merge(held: &mut Option<OwnedSemaphorePermit>, more: OwnedSemaphorePermit) {
    match held {
        Some(held) => held.merge(more),
        None => *held = Some(more),
    }
}

/// A body as its frames arrive. A body that came in one frame (the usual case: GitHub's
/// payloads fit the connection's read buffer) is kept as that frame, which shares the
/// connection's buffer, instead of being copied into a buffer of its own — a large
/// allocation and a copy per delivery, measurable at thousands a second.
#[derive(Default)]
enum Collected {
    #[default]
    Empty,
    One(Bytes),
    Joined(BytesMut),
}

impl Collected {
    fn len(&self) -> usize {
        match self {
            Collected::Empty => 0,
            Collected::One(bytes) => bytes.len(),
            Collected::Joined(bytes) => bytes.len(),
        }
    }

    /// The memory the body holds: a joined buffer's whole capacity.
    fn held(&self) -> usize {
        match self {
            Collected::Joined(bytes) => bytes.capacity(),
            _ => self.len(),
        }
    }

    /// Adds a frame; `capacity_hint` (a reserved Content-Length, else 0) sizes the joined
    /// buffer.
    fn push(&mut self, data: Bytes, capacity_hint: usize) {
        *self = match std::mem::take(self) {
            Collected::Empty => Collected::One(data),
            Collected::One(first) => {
                let mut joined =
                    BytesMut::with_capacity(capacity_hint.max(first.len() + data.len()));
                joined.extend_from_slice(&first);
                joined.extend_from_slice(&data);
                Collected::Joined(joined)
            }
            Collected::Joined(mut joined) => {
                joined.extend_from_slice(&data);
                Collected::Joined(joined)
            }
        };
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Collected::Empty => Bytes::new(),
            Collected::One(bytes) => bytes,
            Collected::Joined(bytes) => bytes.freeze(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt as _;

    fn limits(budget: usize) -> WebhookBodyLimits {
        WebhookBodyLimits::new(budget, Duration::from_secs(5))
    }

    #[tokio::test]
    async fn a_body_holds_its_share_until_dropped_and_others_are_refused_meanwhile() {
        let limits = limits(100);
        let first = limits
            .read(Body::from(vec![b'a'; 80]), Some(80), 1000)
            .await
            .unwrap();
        assert_eq!(first.bytes.len(), 80);
        let refused = limits
            .read(Body::from(vec![b'b'; 30]), Some(30), 1000)
            .await;
        assert!(matches!(
            refused,
            Err(BodyError::OverBudget { budget: 100 })
        ));
        // Without a declared length the budget is taken as bytes arrive.
        let streamed = limits.read(Body::from(vec![b'c'; 30]), None, 1000).await;
        assert!(matches!(streamed, Err(BodyError::OverBudget { .. })));
        drop(first);
        let second = limits
            .read(Body::from(vec![b'b'; 30]), None, 1000)
            .await
            .unwrap();
        assert_eq!(&second.bytes[..], &[b'b'; 30][..]);
    }

    /// A body that sends `first` and then nothing, read in a task of its own; returns once
    /// the budget shows what it holds (`holding` bytes).
    async fn trickle(
        limits: &WebhookBodyLimits,
        first: &'static [u8],
        declared: u64,
        holding: usize,
    ) -> tokio::task::JoinHandle<Result<BudgetedBody, BodyError>> {
        let before = limits.budget.available_permits();
        let stream = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(first))])
            .chain(futures::stream::pending());
        let reading = {
            let limits = limits.clone();
            tokio::spawn(async move {
                limits
                    .read(Body::from_stream(stream), Some(declared), 1000)
                    .await
            })
        };
        while limits.budget.available_permits() != before - holding {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        reading
    }

    fn small(
        limits: &WebhookBodyLimits,
        len: usize,
        declared: bool,
    ) -> impl Future<Output = Result<BudgetedBody, BodyError>> {
        let body = Body::from(vec![b's'; len]);
        limits.read(body, declared.then_some(len as u64), 1000)
    }

    #[tokio::test]
    async fn large_declared_bodies_that_trickle_never_crowd_out_small_deliveries() {
        // Budget 100, of which large bodies (over 20 bytes) may hold 60.
        let limits = WebhookBodyLimits::with_tiers(100, 40, 20, Duration::from_secs(5));
        let hog = trickle(&limits, b"{", 60, 60).await;
        // Another large body finds the large share taken, though the budget has room.
        let large = small(&limits, 30, true).await;
        assert!(matches!(large, Err(BodyError::OverBudget { budget: 100 })));
        // So does an undeclared one once it grows past the small size.
        let grown = small(&limits, 30, false).await;
        assert!(matches!(grown, Err(BodyError::OverBudget { .. })));
        // Small deliveries are read meanwhile, up to the reserve.
        let a = small(&limits, 20, true).await.unwrap();
        let b = small(&limits, 20, false).await.unwrap();
        assert_eq!((a.bytes.len(), b.bytes.len()), (20, 20));
        hog.abort();
    }

    #[tokio::test]
    async fn a_small_body_holds_what_arrived_not_what_it_declared() {
        let limits = WebhookBodyLimits::with_tiers(100, 40, 50, Duration::from_secs(5));
        // Declares 50 and sends 5: holds 5.
        let stalled = [
            trickle(&limits, b"{\"a\"", 50, 4).await,
            trickle(&limits, b"{\"b\"", 50, 4).await,
        ];
        let a = small(&limits, 50, true).await.unwrap();
        let b = small(&limits, 42, true).await.unwrap();
        assert_eq!(a.bytes.len() + b.bytes.len(), 92);
        // The budget is now full: the next byte is refused.
        let full = small(&limits, 1, true).await;
        assert!(matches!(full, Err(BodyError::OverBudget { .. })));
        stalled.iter().for_each(|reading| reading.abort());
    }

    #[tokio::test]
    async fn an_oversized_body_is_refused_by_its_declared_or_its_real_length() {
        let limits = limits(1000);
        let declared = limits.read(Body::from("x"), Some(501), 500).await;
        assert!(matches!(declared, Err(BodyError::TooLarge { limit: 500 })));
        let real = limits.read(Body::from(vec![0u8; 501]), None, 500).await;
        assert!(matches!(real, Err(BodyError::TooLarge { limit: 500 })));
    }

    #[tokio::test]
    async fn a_body_in_several_frames_is_joined_in_order_and_one_frame_is_kept_as_it_came() {
        let limits = limits(1000);
        let frames = ["ab", "", "cde", "f"].map(|part| Ok::<_, std::io::Error>(Bytes::from(part)));
        let joined = limits
            .read(
                Body::from_stream(futures::stream::iter(frames)),
                Some(6),
                100,
            )
            .await
            .unwrap();
        assert_eq!(&joined.bytes[..], b"abcdef");
        // Unknown length: the joined buffer grows as frames come.
        let frames = ["ab", "cde"].map(|part| Ok::<_, std::io::Error>(Bytes::from(part)));
        let streamed = limits
            .read(Body::from_stream(futures::stream::iter(frames)), None, 100)
            .await
            .unwrap();
        assert_eq!(&streamed.bytes[..], b"abcde");
        let whole = Bytes::from(vec![b'w'; 40]);
        let single = limits
            .read(Body::from(whole.clone()), Some(40), 100)
            .await
            .unwrap();
        assert_eq!(
            single.bytes.as_ptr(),
            whole.as_ptr(),
            "the frame is not copied"
        );
        let empty = limits.read(Body::empty(), Some(0), 100).await.unwrap();
        assert!(empty.bytes.is_empty());
    }
}
