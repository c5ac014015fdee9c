//! The outbound HTTP client for webhook deliveries: one POST per attempt, with the webhook's
//! timeout, no redirects, no proxy, the address policy applied to every address a name resolves
//! to (so DNS cannot smuggle a request to a forbidden address), and at most 4 KiB of the response
//! body kept. It reports what happened; deciding what to do next is `core::webhook::retry`'s job.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bunting_core::webhook::address;
use bunting_core::webhook::retry::Failure;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How much of a response body the delivery log keeps.
pub(crate) const RESPONSE_EXCERPT_BYTES: usize = 4096;

/// One POST to make.
pub(crate) struct OutboundRequest<'a> {
    pub(crate) url: &'a str,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
    pub(crate) timeout: Duration,
}

/// What happened to one attempt, and how long it took.
#[derive(Debug)]
pub(crate) struct AttemptReport {
    pub(crate) duration: Duration,
    pub(crate) outcome: AttemptOutcome,
}

#[derive(Debug)]
pub(crate) enum AttemptOutcome {
    /// The receiver answered, with any status.
    Answered {
        status: u16,
        /// The raw `Retry-After` header, when the receiver sent one.
        retry_after: Option<String>,
        /// The first [`RESPONSE_EXCERPT_BYTES`] of the response body, lossily decoded.
        excerpt: String,
    },
    /// There was no usable answer: why, and the detail for the delivery log.
    NoAnswer(Failure, String),
}

#[derive(Clone)]
pub(crate) struct DeliveryClient {
    client: reqwest::Client,
    deny_private: bool,
}

impl DeliveryClient {
    pub(crate) fn new(deny_private: bool) -> anyhow::Result<DeliveryClient> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("Bunting/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            // A proxy (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` in the environment) would be handed
            // the host name unresolved, so the address policy could not see where the delivery
            // goes. Deliveries always connect directly.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { deny_private }))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()?;
        Ok(DeliveryClient { client, deny_private })
    }

    pub(crate) async fn send(&self, request: OutboundRequest<'_>) -> AttemptReport {
        let started = Instant::now();
        let report = |failure: Failure, detail: String| AttemptReport {
            duration: started.elapsed(),
            outcome: AttemptOutcome::NoAnswer(failure, detail),
        };
        // Names are checked by the resolver; literal addresses never reach it.
        if let Some(ip) = literal_ip(request.url)
            && let Err(reason) = address::check(ip, self.deny_private)
        {
            return report(Failure::Blocked, format!("{ip} is refused: {reason}"));
        }
        let sent = self
            .client
            .post(request.url)
            .headers(request.headers)
            .body(request.body)
            .timeout(request.timeout)
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(error) => {
                let (failure, detail) = classify(&error);
                return report(failure, detail);
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let mut excerpt = Vec::new();
        // A receiver that answered has answered: an error while reading the body only shortens
        // the excerpt.
        while excerpt.len() < RESPONSE_EXCERPT_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = RESPONSE_EXCERPT_BYTES - excerpt.len();
                    excerpt.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) | Err(_) => break,
            }
        }
        AttemptReport {
            duration: started.elapsed(),
            outcome: AttemptOutcome::Answered {
                status,
                retry_after,
                excerpt: String::from_utf8_lossy(&excerpt).into_owned(),
            },
        }
    }
}

/// The host of `url` when it is an IP address literal, read by the same parser that reqwest
/// connects with, so every spelling of an address is judged as that address.
fn literal_ip(url: &str) -> Option<IpAddr> {
    address::literal_ip(&reqwest::Url::parse(url).ok()?)
}

/// Maps a transport error to a failure class and a message for the delivery log. The resolver's
/// own errors are found in the source chain; TLS failures are recognised by their wording, as
/// the TLS library's error types are not part of reqwest's API.
fn classify(error: &reqwest::Error) -> (Failure, String) {
    let mut chain = Vec::new();
    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(refusal) = current.downcast_ref::<ResolveError>() {
            let failure = match refusal {
                ResolveError::Blocked { .. } => Failure::Blocked,
                ResolveError::Lookup { .. } => Failure::Dns,
            };
            return (failure, refusal.to_string());
        }
        chain.push(current.to_string());
        source = current.source();
    }
    let detail = chain.join(": ");
    let lower = detail.to_lowercase();
    let failure = if error.is_timeout() {
        Failure::Timeout
    } else if ["certificate", "tls", "handshake", "invalidcontenttype"]
        .iter()
        .any(|word| lower.contains(word))
    {
        Failure::Tls
    } else {
        Failure::Connect
    };
    (failure, detail)
}

/// Resolves names with the system resolver and drops every address the policy refuses.
struct GuardedResolver {
    deny_private: bool,
}

#[derive(Debug)]
enum ResolveError {
    Lookup {
        name: String,
        detail: String,
    },
    Blocked {
        name: String,
        addresses: Vec<IpAddr>,
        reason: String,
    },
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::Lookup { name, detail } => write!(f, "cannot resolve {name}: {detail}"),
            ResolveError::Blocked {
                name,
                addresses,
                reason,
            } => {
                let addresses: Vec<String> = addresses.iter().map(IpAddr::to_string).collect();
                write!(
                    f,
                    "{name} resolves only to refused addresses ({}): {reason}",
                    addresses.join(", ")
                )
            }
        }
    }
}

impl StdError for ResolveError {}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let deny_private = self.deny_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|error| ResolveError::Lookup {
                    name: host.clone(),
                    detail: error.to_string(),
                })?
                .collect();
            let mut reason = String::new();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|addr| match address::check(addr.ip(), deny_private) {
                    Ok(()) => true,
                    Err(refused) => {
                        reason = refused.to_string();
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let addresses = found.iter().map(SocketAddr::ip).collect();
                let error: Box<dyn StdError + Send + Sync> = if found.is_empty() {
                    Box::new(ResolveError::Lookup {
                        name: host,
                        detail: "no addresses".into(),
                    })
                } else {
                    Box::new(ResolveError::Blocked {
                        name: host,
                        addresses,
                        reason,
                    })
                };
                return Err(error);
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}
