//! Phrase tables.
