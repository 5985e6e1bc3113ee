//! The tcptop eBPF program is the `tcptop` binary target; this library is empty.
#![no_std]
