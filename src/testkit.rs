//! The loopback Dovecot + Postfix stack for tests, the demo and benchmarks.
