//! Flagr's eval-cache JSON (`flagr-spec.md` §1.9, §4, §11 item 12): the `{"Flags":[...]}`
//! document of `GET /export/eval_cache/json`, which is also the flag source of Flagr's eval-only
//! drivers (`json_file`, `json_http`).
//!
//! Layout:
//! - `export`: flags to the document, with Go's field names and order, and the export filters.
//! - `import`: the document to flags the way Flagr loads it: Go's case-insensitive member
//!   names, ids assigned where missing, distributions linked by variant key, and Flagr's
//!   `ValidateFlags` errors and warnings.
//!
//! Must not touch: I/O (the caller reads the file or URL and writes the response), query
//! parameter parsing, the refresh loop, and the snapshot (importing yields flags; the caller
//! builds the [`super::EvalSnapshot`]).

mod export;
mod import;

pub use export::{EvalCacheJson, ExportFilter, export};
pub use import::{ImportError, Imported, import};

#[cfg(test)]
mod tests;
