//! Business calendar (placeholder).
