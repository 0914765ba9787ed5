//! Latency (placeholder).
