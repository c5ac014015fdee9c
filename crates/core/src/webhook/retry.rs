//! The retry policy: the operator's schedule of waits, and the decision after each attempt
//! (delivered, retry after some delay, failed, or disable the webhook).
//!
//! Owns the arithmetic only. Sending, measuring timeouts, reading the clock and drawing jitter
//! belong to the dispatcher, which passes the attempt's outcome, `now` and a jitter sample in.

use std::str::FromStr;
use std::time::Duration;

use thiserror::Error;
use time::macros::format_description;
use time::{OffsetDateTime, PlainDateTime};

/// A wait is jittered uniformly by up to this fraction either way, so deliveries that failed
/// together do not all come back at the same instant.
const JITTER_FRACTION: f64 = 0.2;
/// The least a throttled (429) or timed-out attempt waits, unless the schedule's longest wait is
/// shorter: a receiver that is overloaded needs a pause, not a quick retry.
const THROTTLE_FLOOR: Duration = Duration::from_secs(60);
/// The longest single wait a schedule may hold. It catches typos such as `5000h` and keeps
/// every computation here (jitter, 2 × Retry-After, `now + delay`) far from overflow.
pub const MAX_WAIT: Duration = Duration::from_secs(7 * 24 * 3600);

/// The waits before each attempt of a delivery: entry k is the wait before attempt k + 1, so the
/// first entry is the wait before the first attempt (usually 0) and the length is the total
/// number of attempts. Parsed from a comma-separated list such as `0s,5s,5m,30m,2h,5h,10h,10h`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    /// Never empty, each entry at most [`MAX_WAIT`].
    waits: Vec<Duration>,
}

impl Default for RetrySchedule {
    /// Svix's schedule: 8 attempts over about 27.6 hours.
    fn default() -> RetrySchedule {
        let minutes = |n: u64| Duration::from_secs(n * 60);
        let hours = |n: u64| Duration::from_secs(n * 3600);
        RetrySchedule {
            waits: vec![
                Duration::ZERO,
                Duration::from_secs(5),
                minutes(5),
                minutes(30),
                hours(2),
                hours(5),
                hours(10),
                hours(10),
            ],
        }
    }
}

/// Why a retry schedule was refused; each message says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScheduleError {
    #[error("the retry schedule is empty; list the waits before each attempt, e.g. 0s,5s,5m,2h")]
    Empty,
    #[error("the retry schedule has an empty entry; separate waits with single commas")]
    EmptyEntry,
    #[error("\"{0}\" is not a duration; use e.g. 500ms, 5s, 5m, 2h, 1d")]
    NotADuration(String),
    #[error("\"{0}\" is too long; a single wait may last at most 7d")]
    TooLong(String),
}

impl FromStr for RetrySchedule {
    type Err = ScheduleError;

    /// Parses `0s,5s,5m,30m,2h`: integers with a unit of ms, s, m, h or d, whitespace allowed
    /// around entries and between number and unit.
    fn from_str(text: &str) -> Result<RetrySchedule, ScheduleError> {
        if text.trim().is_empty() {
            return Err(ScheduleError::Empty);
        }
        let waits = text.split(',').map(parse_duration).collect::<Result<Vec<_>, _>>()?;
        Ok(RetrySchedule { waits })
    }
}

impl RetrySchedule {
    /// The schedule of Flagr's legacy notifier (`FLAGR_NOTIFICATION_MAX_RETRIES`, `_RETRY_BASE`,
    /// `_RETRY_MAX`): an immediate attempt, then `max_retries` retries whose wait doubles from
    /// twice the base, capped at `max`.
    pub fn flagr_notifier(max_retries: u32, base: Duration, max: Duration) -> RetrySchedule {
        let mut waits = vec![Duration::ZERO];
        let mut wait = base.min(MAX_WAIT);
        for _ in 0..max_retries {
            wait = wait.saturating_mul(2).min(max).min(MAX_WAIT);
            waits.push(wait);
        }
        RetrySchedule { waits }
    }
}

/// Parses one duration such as `500ms`, `5s`, `5m`, `2h` or `1d` (at most [`MAX_WAIT`]); also
/// used for the other duration settings, so they all read alike.
pub fn parse_duration(entry: &str) -> Result<Duration, ScheduleError> {
    let entry = entry.trim();
    if entry.is_empty() {
        return Err(ScheduleError::EmptyEntry);
    }
    let not_a_duration = || ScheduleError::NotADuration(entry.to_owned());
    let digits_end = entry.find(|c: char| !c.is_ascii_digit()).unwrap_or(entry.len());
    let (number, unit) = entry.split_at(digits_end);
    if number.is_empty() {
        return Err(not_a_duration());
    }
    let millis_per_unit: u64 = match unit.trim_start() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(not_a_duration()),
    };
    let too_long = || ScheduleError::TooLong(entry.to_owned());
    // Only digits remain, so a parse error can only be an overflow.
    let count: u64 = number.parse().map_err(|_| too_long())?;
    let millis = count.checked_mul(millis_per_unit).ok_or_else(too_long)?;
    let wait = Duration::from_millis(millis);
    if wait > MAX_WAIT {
        return Err(too_long());
    }
    Ok(wait)
}

/// What went wrong with one attempt. Every failure is retried while attempts remain, except
/// `410 Gone` (see [`RetrySchedule::decide`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The receiver answered with a status outside 2xx; 3xx counts, because redirects are never
    /// followed (a redirect could lead a signed delivery anywhere, past the address policy).
    /// `retry_after` is its `Retry-After` header, parsed by [`parse_retry_after`].
    Status { code: u16, retry_after: Option<Duration> },
    /// The host name did not resolve.
    Dns,
    /// The connection was refused, reset or dropped before a response.
    Connect,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// No complete response within the webhook's timeout.
    Timeout,
    /// The address policy ([`super::address`]) refused every address the name resolved to.
    /// Retried like a connection error rather than failed at once: the cause is usually DNS or
    /// policy configuration, which an operator can fix while retries remain.
    Blocked,
}

impl Failure {
    /// The class the delivery log records for this failure.
    pub fn class(self) -> ErrorClass {
        match self {
            Failure::Status { .. } => ErrorClass::HttpStatus,
            Failure::Dns => ErrorClass::Dns,
            Failure::Connect => ErrorClass::Connect,
            Failure::Tls => ErrorClass::Tls,
            Failure::Timeout => ErrorClass::Timeout,
            Failure::Blocked => ErrorClass::Blocked,
        }
    }
}

/// Classifies a response: any 2xx is delivered; anything else is a [`Failure::Status`].
pub fn classify_response(status: u16, retry_after: Option<Duration>) -> Result<(), Failure> {
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(Failure::Status {
            code: status,
            retry_after,
        })
    }
}

crate::named! {
    /// Why an attempt failed, as the delivery log records it.
    pub enum ErrorClass {
        Dns => "dns",
        Connect => "connect",
        Tls => "tls",
        Timeout => "timeout",
        HttpStatus => "http_status",
        Blocked => "blocked",
        /// Not an attempt's failure: the attempt's outcome could not be written to the database, so
        /// the delivery was set aside (finished as failed) instead of being sent again and again.
        Unrecorded => "unrecorded",
    }
}

/// What the dispatcher does after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The receiver answered 2xx; the delivery is done.
    Delivered,
    /// Try again after this long.
    RetryAfter(Duration),
    /// Every attempt of the schedule failed; the delivery is marked failed.
    Failed,
    /// The receiver answered `410 Gone`: it asks never to be called again. The delivery is marked
    /// failed without retries and the webhook is disabled (Standard Webhooks' rule).
    DisableWebhook,
}

impl RetrySchedule {
    /// The total number of attempts a delivery gets.
    pub fn attempts(&self) -> usize {
        self.waits.len()
    }

    /// The wait before the first attempt, not jittered (usually zero: deliver at once).
    pub fn first_attempt_delay(&self) -> Duration {
        self.waits.first().copied().unwrap_or_default()
    }

    /// The decision after an attempt: the one call the dispatcher makes. `attempts_made` counts
    /// the attempts so far, including this one; `jitter` is a uniform sample in [-1, 1].
    pub fn decide(&self, attempts_made: usize, result: Result<(), Failure>, jitter: f64) -> Decision {
        match result {
            Ok(()) => Decision::Delivered,
            Err(Failure::Status { code: 410, .. }) => Decision::DisableWebhook,
            Err(failure) => match self.next_attempt_delay(attempts_made, &failure, jitter) {
                Some(delay) => Decision::RetryAfter(delay),
                None => Decision::Failed,
            },
        }
    }

    /// How long to wait before the next attempt, or `None` when the schedule is exhausted.
    ///
    /// The scheduled wait is `waits[attempts_made]`, then:
    /// - a 429 or a timeout raises it to at least min(60 s, the schedule's longest wait), so the
    ///   floor never exceeds anything the operator configured;
    /// - a `Retry-After` is honoured but clamped to [wait, 2 × wait] and not jittered, since the
    ///   receiver named the time; without one, the wait is jittered by ±20 % (`jitter` in
    ///   [-1, 1], clamped; NaN counts as 0), and a zero wait stays zero;
    /// - the floor holds after jitter too.
    ///
    /// It does not treat 410 specially; [`RetrySchedule::decide`] disables the webhook before
    /// asking.
    pub fn next_attempt_delay(&self, attempts_made: usize, failure: &Failure, jitter: f64) -> Option<Duration> {
        let scheduled = *self.waits.get(attempts_made)?;
        let throttled = matches!(failure, Failure::Timeout | Failure::Status { code: 429, .. });
        let floor = if throttled {
            let longest = self.waits.iter().max().copied().unwrap_or_default();
            THROTTLE_FLOOR.min(longest)
        } else {
            Duration::ZERO
        };
        let wait = scheduled.max(floor);
        let retry_after = match failure {
            Failure::Status { retry_after, .. } => *retry_after,
            _ => None,
        };
        let delay = match retry_after {
            Some(asked) => asked.clamp(wait, wait.saturating_mul(2)),
            None => jittered(wait, jitter),
        };
        Some(delay.max(floor))
    }
}

fn jittered(wait: Duration, jitter: f64) -> Duration {
    let sample = if jitter.is_nan() { 0.0 } else { jitter.clamp(-1.0, 1.0) };
    // The factor lies in [0.8, 1.2] and waits are at most MAX_WAIT, so this cannot overflow.
    wait.mul_f64(1.0 + JITTER_FRACTION * sample)
}

/// Parses a `Retry-After` header: delay-seconds (`120`) or an HTTP date in IMF-fixdate form
/// (`Wed, 21 Oct 2015 07:28:00 GMT`), measured from `now`. A date in the past means no wait.
/// Anything else, including the obsolete RFC 850 and asctime date forms, is `None`: the header is
/// ignored and the schedule alone decides.
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Only digits, so a parse error is an overflow: an absurdly long wait, clamped later.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let format =
        format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
    let at = PlainDateTime::parse(value, &format).ok()?.assume_utc();
    Some(Duration::try_from(at - now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn flagr_notifier_schedule_doubles_from_twice_the_base_up_to_the_cap() {
        let schedule = RetrySchedule::flagr_notifier(4, Duration::from_secs(1), Duration::from_secs(10));
        let secs: Vec<u64> = schedule.waits.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [0, 2, 4, 8, 10]);
        assert_eq!(
            RetrySchedule::flagr_notifier(0, Duration::from_secs(1), Duration::from_secs(10)).attempts(),
            1
        );
    }

    const fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn schedule(text: &str) -> RetrySchedule {
        text.parse().unwrap()
    }

    fn status(code: u16) -> Failure {
        Failure::Status {
            code,
            retry_after: None,
        }
    }

    #[test]
    fn default_is_svix_schedule() {
        assert_eq!(RetrySchedule::default(), schedule("0s,5s,5m,30m,2h,5h,10h,10h"));
        assert_eq!(RetrySchedule::default().attempts(), 8);
        assert_eq!(RetrySchedule::default().first_attempt_delay(), Duration::ZERO);
    }

    #[test]
    fn parses_units_and_whitespace() {
        let cases: &[(&str, &[Duration])] = &[
            ("500ms", &[Duration::from_millis(500)]),
            ("0s", &[Duration::ZERO]),
            ("5s", &[secs(5)]),
            ("5m", &[secs(300)]),
            ("2h", &[secs(7200)]),
            ("1d", &[secs(86_400)]),
            ("7d", &[MAX_WAIT]),
            (" 1s , 5 m,2h ", &[secs(1), secs(300), secs(7200)]),
            ("\t10s\n", &[secs(10)]),
        ];
        for (text, waits) in cases {
            assert_eq!(schedule(text).waits, *waits, "{text}");
        }
        assert_eq!(schedule("3s,1m").first_attempt_delay(), secs(3));
    }

    #[test]
    fn parse_errors_say_what_to_fix() {
        let cases: &[(&str, &str)] = &[
            (
                "",
                "the retry schedule is empty; list the waits before each attempt, e.g. 0s,5s,5m,2h",
            ),
            (
                "  ",
                "the retry schedule is empty; list the waits before each attempt, e.g. 0s,5s,5m,2h",
            ),
            (
                "0s,,5s",
                "the retry schedule has an empty entry; separate waits with single commas",
            ),
            (
                "0s,5s,",
                "the retry schedule has an empty entry; separate waits with single commas",
            ),
            ("5x", "\"5x\" is not a duration; use e.g. 500ms, 5s, 5m, 2h, 1d"),
            ("0s, 5", "\"5\" is not a duration; use e.g. 500ms, 5s, 5m, 2h, 1d"),
            ("s", "\"s\" is not a duration; use e.g. 500ms, 5s, 5m, 2h, 1d"),
            ("-5s", "\"-5s\" is not a duration; use e.g. 500ms, 5s, 5m, 2h, 1d"),
            ("1.5h", "\"1.5h\" is not a duration; use e.g. 500ms, 5s, 5m, 2h, 1d"),
            ("5S", "\"5S\" is not a duration; use e.g. 500ms, 5s, 5m, 2h, 1d"),
            ("1h30m", "\"1h30m\" is not a duration; use e.g. 500ms, 5s, 5m, 2h, 1d"),
            ("8d", "\"8d\" is too long; a single wait may last at most 7d"),
            ("5000h", "\"5000h\" is too long; a single wait may last at most 7d"),
            (
                "99999999999999999999s",
                "\"99999999999999999999s\" is too long; a single wait may last at most 7d",
            ),
            (
                "18446744073709551615d",
                "\"18446744073709551615d\" is too long; a single wait may last at most 7d",
            ),
        ];
        for (text, message) in cases {
            let error = text.parse::<RetrySchedule>().unwrap_err();
            assert_eq!(error.to_string(), *message, "{text}");
        }
    }

    #[test]
    fn entry_k_is_the_wait_before_attempt_k_plus_one() {
        let policy = RetrySchedule::default();
        let expected = [
            secs(5),
            secs(300),
            secs(1800),
            secs(7200),
            secs(18_000),
            secs(36_000),
            secs(36_000),
        ];
        for (made, wait) in expected.iter().enumerate() {
            let made = made + 1;
            assert_eq!(
                policy.next_attempt_delay(made, &Failure::Connect, 0.0),
                Some(*wait),
                "after {made} attempts"
            );
        }
        // The eighth attempt was the last.
        assert_eq!(policy.next_attempt_delay(8, &Failure::Connect, 0.0), None);
        assert_eq!(policy.next_attempt_delay(9, &Failure::Connect, 0.0), None);
    }

    #[test]
    fn jitter_is_plus_or_minus_twenty_percent() {
        let policy = schedule("0s,100s,0s");
        let cases: &[(f64, Duration)] = &[
            (0.0, secs(100)),
            (-1.0, secs(80)),
            (1.0, secs(120)),
            (0.5, secs(110)),
            (-0.25, secs(95)),
            // Out-of-range samples are clamped; NaN counts as no jitter.
            (-7.0, secs(80)),
            (3.0, secs(120)),
            (f64::NAN, secs(100)),
        ];
        for (sample, expected) in cases {
            assert_eq!(
                policy.next_attempt_delay(1, &status(500), *sample),
                Some(*expected),
                "jitter {sample}"
            );
        }
        // Zero waits stay zero.
        assert_eq!(policy.next_attempt_delay(2, &status(500), 1.0), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_is_clamped_to_one_or_two_waits_and_not_jittered() {
        let policy = schedule("0s,100s");
        let cases: &[(Duration, Duration)] = &[
            (secs(10), secs(100)),
            (secs(100), secs(100)),
            (secs(150), secs(150)),
            (secs(200), secs(200)),
            (secs(5000), secs(200)),
            (Duration::MAX, secs(200)),
        ];
        for (asked, expected) in cases {
            let failure = Failure::Status {
                code: 503,
                retry_after: Some(*asked),
            };
            assert_eq!(
                policy.next_attempt_delay(1, &failure, 1.0),
                Some(*expected),
                "Retry-After {asked:?}"
            );
        }
    }

    #[test]
    fn throttled_and_timed_out_attempts_wait_at_least_the_floor() {
        let policy = RetrySchedule::default();
        let throttled = [status(429), Failure::Timeout];
        for failure in &throttled {
            for sample in [-1.0, 0.0] {
                assert_eq!(
                    policy.next_attempt_delay(1, failure, sample),
                    Some(secs(60)),
                    "{failure:?} {sample}"
                );
            }
            assert_eq!(policy.next_attempt_delay(1, failure, 1.0), Some(secs(72)));
            // A longer scheduled wait is unaffected.
            assert_eq!(policy.next_attempt_delay(2, failure, 0.0), Some(secs(300)));
        }
        // Other failures get the plain schedule.
        for failure in [status(500), status(502), Failure::Connect] {
            assert_eq!(policy.next_attempt_delay(1, &failure, 0.0), Some(secs(5)));
        }
    }

    #[test]
    fn the_floor_never_exceeds_the_longest_configured_wait() {
        let policy = schedule("0s,1s,2s");
        assert_eq!(policy.next_attempt_delay(1, &Failure::Timeout, -1.0), Some(secs(2)));
        assert_eq!(policy.next_attempt_delay(2, &status(429), 0.0), Some(secs(2)));
        let instant = schedule("0s,0s");
        assert_eq!(instant.next_attempt_delay(1, &status(429), 1.0), Some(Duration::ZERO));
    }

    #[test]
    fn a_throttled_retry_after_is_clamped_around_the_floor() {
        let policy = RetrySchedule::default();
        let cases: &[(Duration, Duration)] = &[
            (secs(1), secs(60)),
            (secs(90), secs(90)),
            (secs(120), secs(120)),
            (secs(3600), secs(120)),
        ];
        for (asked, expected) in cases {
            let failure = Failure::Status {
                code: 429,
                retry_after: Some(*asked),
            };
            assert_eq!(
                policy.next_attempt_delay(1, &failure, -1.0),
                Some(*expected),
                "Retry-After {asked:?}"
            );
        }
    }

    #[test]
    fn decisions() {
        let policy = RetrySchedule::default();
        let cases: &[(usize, Result<(), Failure>, Decision)] = &[
            (1, Ok(()), Decision::Delivered),
            (8, Ok(()), Decision::Delivered),
            (1, Err(status(500)), Decision::RetryAfter(secs(5))),
            // Redirects are never followed, so a 3xx is a failure.
            (1, Err(status(301)), Decision::RetryAfter(secs(5))),
            (1, Err(status(404)), Decision::RetryAfter(secs(5))),
            (1, Err(status(429)), Decision::RetryAfter(secs(60))),
            (1, Err(Failure::Timeout), Decision::RetryAfter(secs(60))),
            (1, Err(Failure::Dns), Decision::RetryAfter(secs(5))),
            (1, Err(Failure::Tls), Decision::RetryAfter(secs(5))),
            // Blocked destinations are retried like connection errors.
            (1, Err(Failure::Blocked), Decision::RetryAfter(secs(5))),
            (7, Err(Failure::Blocked), Decision::RetryAfter(secs(36_000))),
            (8, Err(Failure::Blocked), Decision::Failed),
            (8, Err(status(500)), Decision::Failed),
            // 410 Gone disables the webhook at once, attempts left or not.
            (1, Err(status(410)), Decision::DisableWebhook),
            (8, Err(status(410)), Decision::DisableWebhook),
        ];
        for (made, result, expected) in cases {
            assert_eq!(policy.decide(*made, *result, 0.0), *expected, "{made} {result:?}");
        }
    }

    #[test]
    fn classifies_responses() {
        let cases: &[(u16, bool)] = &[
            (199, false),
            (200, true),
            (202, true),
            (204, true),
            (299, true),
            (300, false),
            (302, false),
            (304, false),
            (400, false),
            (410, false),
            (500, false),
        ];
        for (code, delivered) in cases {
            let retry_after = Some(secs(1));
            let result = classify_response(*code, retry_after);
            if *delivered {
                assert_eq!(result, Ok(()), "{code}");
            } else {
                assert_eq!(
                    result,
                    Err(Failure::Status {
                        code: *code,
                        retry_after
                    }),
                    "{code}"
                );
            }
        }
    }

    #[test]
    fn error_classes_match_serde_names() {
        let cases = [
            (Failure::Dns, "dns"),
            (Failure::Connect, "connect"),
            (Failure::Tls, "tls"),
            (Failure::Timeout, "timeout"),
            (status(503), "http_status"),
            (Failure::Blocked, "blocked"),
        ];
        for (failure, name) in cases {
            let class = failure.class();
            assert_eq!(class.name(), name);
            assert_eq!(class.to_string(), name);
            assert_eq!(ErrorClass::from_name(name), Some(class));
            assert_eq!(serde_json::to_value(class).unwrap(), name);
            let parsed: ErrorClass = serde_json::from_value(name.into()).unwrap();
            assert_eq!(parsed, class);
        }
        assert_eq!(ErrorClass::from_name("httpstatus"), None);
    }

    #[test]
    fn parses_retry_after() {
        let now = datetime!(2015-10-21 07:28:00 UTC);
        let cases: &[(&str, Option<Duration>)] = &[
            ("120", Some(secs(120))),
            (" 5 ", Some(secs(5))),
            ("0", Some(Duration::ZERO)),
            ("99999999999999999999999", Some(secs(u64::MAX))),
            ("Wed, 21 Oct 2015 07:30:30 GMT", Some(secs(150))),
            ("Wed, 21 Oct 2015 07:28:00 GMT", Some(Duration::ZERO)),
            // A date in the past means no wait.
            ("Tue, 20 Oct 2015 07:28:00 GMT", Some(Duration::ZERO)),
            ("", None),
            ("-5", None),
            ("1.5", None),
            ("soon", None),
            // Obsolete date forms are ignored.
            ("Wednesday, 21-Oct-15 07:30:30 GMT", None),
            ("Wed Oct 21 07:30:30 2015", None),
            ("Wed, 21 Oct 2015 07:30:30 +0000", None),
        ];
        for (value, expected) in cases {
            assert_eq!(parse_retry_after(value, now), *expected, "{value:?}");
        }
    }
}
