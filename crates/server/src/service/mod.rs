//! Use cases: each takes what the HTTP layer parsed, calls the store once and does what must
//! follow a committed change. Must not build HTTP responses.

pub(crate) mod flags;
