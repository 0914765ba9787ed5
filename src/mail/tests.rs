//! Unit tests of parsing and classification with handcrafted messages.
