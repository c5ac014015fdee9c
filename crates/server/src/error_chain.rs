//! An error as one log line: the error and every source under it, `outer: inner: ...`, so a
//! line says why (a deadlock, a refused connection), not only "database error".

pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}
