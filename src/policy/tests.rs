//! Policy traces.
