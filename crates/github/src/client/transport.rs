//! Raw requests through octocrab (auth, base URL, redirects, installation-token caching),
//! driven by our retry policy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use octocrab::Octocrab;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{GithubError, Result, describe};
use super::observe::{
    ApiRequest, ApiRetry, GithubObserver, RateLimitWait, RetryReason, StatusClass, route_template,
};
use super::retry::{RetryPolicy, Sleeper, Verdict, classify};

/// An answer, fully read.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    pub fn json<T: DeserializeOwned>(&self, operation: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| GithubError::Decode {
            operation: operation.to_string(),
            message: format!("{e} (status {}, {} bytes)", self.status, self.body.len()),
        })
    }

    /// GitHub's `message`, with the `errors[].message` details it sometimes adds.
    pub fn message(&self) -> String {
        let Ok(v) = serde_json::from_slice::<Value>(&self.body) else {
            let text = String::from_utf8_lossy(&self.body);
            return text.chars().take(300).collect();
        };
        let mut msg = v["message"].as_str().unwrap_or("").to_string();
        if let Some(errors) = v["errors"].as_array() {
            for e in errors {
                let detail = e["message"].as_str().map(str::to_string).or_else(|| {
                    e["field"]
                        .as_str()
                        .map(|f| format!("{f} {}", e["code"].as_str().unwrap_or("invalid")))
                });
                if let Some(d) = detail {
                    msg.push_str("; ");
                    msg.push_str(&d);
                }
            }
        }
        msg
    }

    pub fn error(&self, operation: &str) -> GithubError {
        GithubError::Api {
            operation: operation.to_string(),
            status: self.status.as_u16(),
            message: self.message(),
        }
    }

    /// The answer as `T` when it is a success, else the error it carries.
    pub fn success_json<T: DeserializeOwned>(&self, operation: &str) -> Result<T> {
        if self.is_success() {
            self.json(operation)
        } else {
            Err(self.error(operation))
        }
    }
}

/// Either GitHub's answer, or what a look-up found after an attempt whose answer was lost.
pub enum Sent<T> {
    Answer(Answer),
    AlreadyDone(T),
}

pub use super::path::{enc_path, enc_segment};

/// `?k=v&...` with values encoded.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    format!("?{}", s.finish())
}

/// Bound on pages read for one list (10,000 items).
const MAX_PAGES: u32 = 100;

#[derive(Clone)]
pub struct Transport {
    pub octo: Arc<Octocrab>,
    pub policy: RetryPolicy,
    pub sleeper: Arc<dyn Sleeper>,
    pub observer: Arc<dyn GithubObserver>,
    /// For an installation: taken while its token is checked and, when it is missing or
    /// about to expire, minted (see [`Transport::with_token`]). `None` for the App itself.
    pub token_mint: Option<Arc<tokio::sync::Mutex<()>>>,
    /// An answer's body longer than this is refused without being read further (see
    /// [`Transport::with_max_answer`]); `None` reads any length.
    pub max_answer_bytes: Option<u64>,
}

/// A token that expires sooner than this is minted again before a request: longer than
/// octocrab's own 30 s, so that the request itself never mints one.
const TOKEN_MARGIN_SECS: i64 = 60;

fn retryable_transport_error(e: &octocrab::Error) -> bool {
    match e {
        // Minting the installation token failed with a server error.
        octocrab::Error::GitHub { source, .. } => source.status_code.is_server_error(),
        octocrab::Error::Hyper { .. } | octocrab::Error::Service { .. } => true,
        _ => false,
    }
}

/// What one attempt of a request calls for.
enum Attempt {
    /// The answer to hand to the caller.
    Final(Answer),
    /// A rate limit within the wait obeyed in place: send again after `wait`.
    RateLimited { wait: Duration, error: String },
    /// A server error or a lost connection: the attempt may have taken effect.
    Retry { reason: RetryReason, error: String },
    /// An error that another attempt cannot fix.
    Failed(GithubError),
}

fn rate_limited(operation: &str, wait: Duration) -> GithubError {
    GithubError::RateLimited {
        operation: operation.to_string(),
        retry_after: wait,
    }
}

fn judge_transport_error(operation: &str, e: octocrab::Error) -> Attempt {
    if retryable_transport_error(&e) {
        return Attempt::Retry {
            reason: RetryReason::Transport,
            error: describe(&e),
        };
    }
    Attempt::Failed(match e {
        // GitHub refused something octocrab sent on its own: the installation token.
        octocrab::Error::GitHub { source, .. } => GithubError::Api {
            operation: format!("{operation} (getting an installation token)"),
            status: source.status_code.as_u16(),
            message: source.message,
        },
        e => GithubError::Transport {
            operation: operation.to_string(),
            cause: e,
        },
    })
}

/// The body, refused as soon as it is known to be longer than `limit`: by its
/// Content-Length before a byte is read, else as it arrives.
async fn read_at_most(
    head: &http::response::Parts,
    mut body: http_body_util::combinators::BoxBody<Bytes, octocrab::Error>,
    limit: u64,
) -> std::result::Result<Bytes, NoAnswer> {
    let too_large = || NoAnswer::TooLarge {
        status: head.status,
        limit,
    };
    let declared = head
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    // Sized by the declared length (at most the limit, checked above), so that a large
    // download is not copied at each doubling of its buffer.
    let mut read = bytes::BytesMut::with_capacity(declared.unwrap_or(0) as usize);
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            if (read.len() + data.len()) as u64 > limit {
                return Err(too_large());
            }
            read.extend_from_slice(&data);
        }
    }
    Ok(read.freeze())
}

/// Tells the observer about one request's attempts, under its route template.
struct Reporter<'a> {
    observer: &'a dyn GithubObserver,
    method: &'a str,
    route: String,
}

impl Reporter<'_> {
    fn request(&self, status: StatusClass, started: Instant) {
        tracing::debug!(
            method = self.method,
            route = %self.route,
            ?status,
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "GitHub answered"
        );
        self.observer.api_request(&ApiRequest {
            method: self.method,
            route: &self.route,
            status,
            latency: started.elapsed(),
        });
    }

    fn retry(&self, reason: RetryReason) {
        self.observer.api_retry(&ApiRetry {
            method: self.method,
            route: &self.route,
            reason,
        });
    }

    fn rate_limit_wait(&self, wait: Duration) {
        self.observer.rate_limit_wait(&RateLimitWait {
            method: self.method,
            route: &self.route,
            wait,
        });
    }
}

/// Why one attempt got no answer to judge.
enum NoAnswer {
    Octocrab(octocrab::Error),
    /// The body passed `max_answer_bytes` (by its Content-Length or as it was read).
    TooLarge {
        status: StatusCode,
        limit: u64,
    },
}

impl From<octocrab::Error> for NoAnswer {
    fn from(error: octocrab::Error) -> Self {
        NoAnswer::Octocrab(error)
    }
}

impl Transport {
    /// This transport, refusing answers longer than `bytes`: for downloads whose size the
    /// repository's author decides (a tarball), so that one cannot fill the memory.
    pub fn with_max_answer(&self, bytes: u64) -> Transport {
        Transport {
            max_answer_bytes: Some(bytes),
            ..self.clone()
        }
    }

    async fn once(
        &self,
        method: &Method,
        route: &str,
        body: Option<&Value>,
    ) -> std::result::Result<Answer, NoAnswer> {
        self.with_token().await?;
        let resp = match *method {
            Method::GET => self.octo._get(route).await?,
            Method::POST => self.octo._post(route, body).await?,
            Method::PUT => self.octo._put(route, body).await?,
            Method::PATCH => self.octo._patch(route, body).await?,
            Method::DELETE => self.octo._delete(route, body).await?,
            _ => self.octo._get(route).await?,
        };
        let (parts, body) = resp.into_parts();
        let body = match self.max_answer_bytes {
            None => body.collect().await?.to_bytes(),
            Some(limit) => read_at_most(&parts, body, limit).await?,
        };
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// Makes sure the installation has a token before a request goes out, minting it
    /// once however many requests wait for it: octocrab mints on demand, so a job's first
    /// requests sent at once would otherwise each mint one (`POST …/access_tokens`, which
    /// GitHub counts against the App).
    async fn with_token(&self) -> std::result::Result<(), octocrab::Error> {
        let Some(mint) = &self.token_mint else {
            return Ok(());
        };
        let _one_at_a_time = mint.lock().await;
        self.octo
            .installation_token_with_buffer(chrono::Duration::seconds(TOKEN_MARGIN_SECS))
            .await
            .map(drop)
    }

    /// Sends a request that is safe to repeat, until its answer is final.
    pub async fn send(
        &self,
        operation: &str,
        method: Method,
        route: &str,
        body: Option<&Value>,
    ) -> Result<Answer> {
        let nothing = || async { Ok(None::<std::convert::Infallible>) };
        match self
            .send_create(operation, method, route, body, nothing)
            .await?
        {
            Sent::Answer(a) => Ok(a),
            Sent::AlreadyDone(never) => match never {},
        }
    }

    /// Sends a request that creates something. After a server error or a lost connection the
    /// attempt may have taken effect, so `settled` is asked first; only when it finds nothing
    /// is the request sent again. Rate-limit answers mean "not processed": resent after the wait
    /// GitHub names, or — when it names none — handed to the caller as `RateLimited`.
    ///
    /// `settled` is a plain closure returning a future (not an `AsyncFn`): the futures of
    /// async closures cannot be proven `Send`, and callers run these on tokio's workers.
    pub async fn send_create<T, F, Fut>(
        &self,
        operation: &str,
        method: Method,
        route: &str,
        body: Option<&Value>,
        settled: F,
    ) -> Result<Sent<T>>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>>>,
    {
        let max = self.policy.max_attempts.max(1);
        let report = Reporter {
            observer: self.observer.as_ref(),
            method: method.as_str(),
            route: route_template(route),
        };
        let mut last = String::new();
        for attempt in 1..=max {
            let reason = match self.attempt(operation, &method, route, body, &report).await {
                Attempt::Final(answer) => return Ok(Sent::Answer(answer)),
                Attempt::Failed(error) => return Err(error),
                Attempt::RateLimited { wait, error } => {
                    last = error;
                    tracing::warn!(operation, ?wait, "GitHub rate limit; waiting");
                    if attempt < max {
                        report.rate_limit_wait(wait);
                        self.sleeper.sleep(wait).await;
                        report.retry(RetryReason::RateLimited);
                    }
                    continue;
                }
                Attempt::Retry { reason, error } => {
                    last = error;
                    reason
                }
            };
            tracing::warn!(operation, attempt, error = %last, "GitHub request failed");
            if attempt == max {
                break;
            }
            self.sleeper.sleep(self.policy.backoff(attempt)).await;
            if let Some(done) = settled().await? {
                tracing::info!(operation, "the failed attempt had taken effect");
                return Ok(Sent::AlreadyDone(done));
            }
            report.retry(reason);
        }
        Err(GithubError::Exhausted {
            operation: operation.to_string(),
            attempts: max,
            last,
        })
    }

    /// Sends once and says what to do next; the observer hears of the attempt.
    async fn attempt(
        &self,
        operation: &str,
        method: &Method,
        route: &str,
        body: Option<&Value>,
        report: &Reporter<'_>,
    ) -> Attempt {
        let started = Instant::now();
        match self.once(method, route, body).await {
            Ok(answer) => {
                report.request(StatusClass::of(answer.status), started);
                self.judge(operation, answer)
            }
            Err(NoAnswer::Octocrab(e)) => {
                report.request(StatusClass::Transport, started);
                judge_transport_error(operation, e)
            }
            Err(NoAnswer::TooLarge { status, limit }) => {
                report.request(StatusClass::of(status), started);
                Attempt::Failed(GithubError::TooLarge {
                    operation: operation.to_string(),
                    limit,
                })
            }
        }
    }

    fn judge(&self, operation: &str, answer: Answer) -> Attempt {
        let verdict = classify(
            answer.status,
            &answer.headers,
            &answer.body,
            self.sleeper.now(),
            &self.policy,
        );
        let error = || format!("{}: {}", answer.status, answer.message());
        match verdict {
            Verdict::Final => Attempt::Final(answer),
            Verdict::RateLimited(wait) if wait > self.policy.max_rate_limit_wait => {
                Attempt::Failed(rate_limited(operation, wait))
            }
            Verdict::RateLimited(wait) => Attempt::RateLimited {
                wait,
                error: error(),
            },
            // Waiting a minute in place would hold a worker; the error makes the worker
            // give the job back to the queue instead.
            Verdict::Reschedule(wait) => Attempt::Failed(rate_limited(operation, wait)),
            Verdict::Transient => Attempt::Retry {
                reason: RetryReason::ServerError,
                error: error(),
            },
        }
    }

    /// GET and decode a JSON answer; 404 is `None`.
    pub async fn get_optional<T: DeserializeOwned>(
        &self,
        operation: &str,
        route: &str,
    ) -> Result<Option<T>> {
        let answer = self.send(operation, Method::GET, route, None).await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        answer.success_json(operation).map(Some)
    }

    /// GET and decode a JSON answer.
    pub async fn get_json<T: DeserializeOwned>(&self, operation: &str, route: &str) -> Result<T> {
        self.send(operation, Method::GET, route, None)
            .await?
            .success_json(operation)
    }

    /// Every item of a paginated list (`per_page=100`, following pages until a short one,
    /// at most `MAX_PAGES`).
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        operation: &str,
        route: &str,
        params: &[(&str, &str)],
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let page_s = page.to_string();
            let mut p: Vec<(&str, &str)> = params.to_vec();
            p.push(("per_page", "100"));
            p.push(("page", &page_s));
            let items: Vec<T> = self
                .get_json(operation, &format!("{route}{}", query(&p)))
                .await?;
            let n = items.len();
            out.extend(items);
            if n < 100 {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use http_body::Frame;
    use http_body_util::{BodyExt as _, StreamBody};

    use super::*;

    /// An answer head with `content_length` (if any) and a body arriving in `frames`.
    fn answer(
        content_length: Option<u64>,
        frames: &[&'static str],
    ) -> (
        http::response::Parts,
        http_body_util::combinators::BoxBody<Bytes, octocrab::Error>,
    ) {
        let mut head = http::Response::new(()).into_parts().0;
        if let Some(length) = content_length {
            head.headers
                .insert(http::header::CONTENT_LENGTH, length.into());
        }
        let frames: Vec<std::result::Result<Frame<Bytes>, octocrab::Error>> = frames
            .iter()
            .map(|part| Ok(Frame::data(Bytes::from_static(part.as_bytes()))))
            .collect();
        let body = StreamBody::new(futures::stream::iter(frames)).boxed();
        (head, body)
    }

    fn refused(result: std::result::Result<Bytes, NoAnswer>) -> Option<u64> {
        match result {
            Err(NoAnswer::TooLarge { limit, .. }) => Some(limit),
            _ => None,
        }
    }

    #[tokio::test]
    async fn an_answer_is_read_up_to_its_limit_and_refused_past_it() {
        let (head, body) = answer(None, &["abc", "de"]);
        let read = read_at_most(&head, body, 5).await;
        assert_eq!(&read.ok().unwrap()[..], b"abcde");
        // Without a Content-Length: refused at the frame that passes the limit.
        let (head, body) = answer(None, &["abc", "def"]);
        assert_eq!(refused(read_at_most(&head, body, 5).await), Some(5));
        // A declared length over the limit: refused before reading.
        let (head, body) = answer(Some(6), &[]);
        assert_eq!(refused(read_at_most(&head, body, 5).await), Some(5));
    }
}
