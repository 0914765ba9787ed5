//! Fuzz target: the reader of FETCH answers (`imap::wire`), fed a hostile server's bytes.
#![no_main]

use std::time::Duration;

use candor::imap::wire::{Response, Wire, WireError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte chooses how many bytes each read hands over (1 to 256), so that framing
    // across read boundaries is exercised; the rest is what the server sent.
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut reader = Chunked {
            data: stream,
            chunk: usize::from(chunk) + 1,
        };
        let mut wire = Wire::new();
        let mut framed = 0;
        loop {
            match wire.next(&mut reader, Duration::from_secs(5)).await {
                Ok(response) => {
                    if let Response::Fetch(fetch) = response {
                        // Whatever was read is within what was sent.
                        for part in [&fetch.message, &fetch.header, &fetch.text].into_iter().flatten() {
                            assert!(part.len() <= stream.len());
                        }
                    }
                    framed += 1;
                    // Every response holds at least its line break.
                    assert!(framed <= stream.len());
                }
                Err(WireError::TimedOut(_)) => panic!("an in-memory stream never stalls"),
                Err(_) => break,
            }
        }
    });
});

struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl tokio::io::AsyncRead for Chunked<'_> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let n = self.chunk.min(buf.remaining()).min(self.data.len());
        let (head, tail) = self.data.split_at(n);
        buf.put_slice(head);
        self.data = tail;
        std::task::Poll::Ready(Ok(()))
    }
}
