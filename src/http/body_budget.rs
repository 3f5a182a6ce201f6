//! Webhook bodies are read before their signature can be checked, so anyone who can reach
//! `/webhook` can make the service hold one in memory. This bounds that memory across all
//! connections: every byte read is first reserved from one shared budget, and a body that
//! does not fit is refused (503, to retry later) instead of waiting for room. A body must
//! also arrive within a deadline, so that a slow sender cannot hold its share for ever.

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

/// The shared budget and the deadline, for every webhook body this process reads.
#[derive(Debug, Clone)]
pub struct WebhookBodyLimits {
    budget: Arc<Semaphore>,
    budget_bytes: usize,
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
    _reserved: OwnedSemaphorePermit,
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
        WebhookBodyLimits {
            budget: Arc::new(Semaphore::new(budget_bytes)),
            budget_bytes,
            timeout,
        }
    }

    /// Reads `body` (at most `max` bytes). A declared `content_length` is checked and
    /// reserved before any byte is read; a body without one reserves as it arrives.
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
        let reserved = self.reserve(declared)?;
        tokio::time::timeout(self.timeout, self.collect(body, reserved, declared, max))
            .await
            .map_err(|_| BodyError::TimedOut {
                timeout: self.timeout,
            })?
    }

    fn reserve(&self, bytes: usize) -> Result<OwnedSemaphorePermit, BodyError> {
        let over = || BodyError::OverBudget {
            budget: self.budget_bytes,
        };
        let bytes = u32::try_from(bytes).map_err(|_| over())?;
        Arc::clone(&self.budget)
            .try_acquire_many_owned(bytes)
            .map_err(|_| over())
    }

    async fn collect(
        &self,
        mut body: Body,
        mut reserved: OwnedSemaphorePermit,
        declared: usize,
        max: usize,
    ) -> Result<BudgetedBody, BodyError> {
        let mut read = Collected::default();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|err| BodyError::Read(err.to_string()))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            let total = read.len() + data.len();
            if total > max {
                return Err(BodyError::TooLarge { limit: max });
            }
            if total > reserved.num_permits() {
                reserved.merge(self.reserve(total - reserved.num_permits())?);
            }
            read.push(data, declared);
        }
        Ok(BudgetedBody {
            bytes: read.into_bytes(),
            _reserved: reserved,
        })
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

    /// Adds a frame; `declared` (the Content-Length, 0 when unknown) sizes the joined buffer.
    fn push(&mut self, data: Bytes, declared: usize) {
        *self = match std::mem::take(self) {
            Collected::Empty => Collected::One(data),
            Collected::One(first) => {
                let mut joined = BytesMut::with_capacity(declared.max(first.len() + data.len()));
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
