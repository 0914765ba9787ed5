//! Gate traces.
