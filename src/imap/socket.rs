//! The TCP stream under a session, read in large gulps while a sync fetches in bulk.
//!
//! A first sync streams hundreds of megabytes. Read the usual way, the reading thread wakes for
//! every TLS record the server writes (about 14 KB): 40k wakeups per 100k messages, each one a
//! cross-CPU wakeup for the server's process that sends and for candor that receives, which on
//! a virtual machine is an interrupt through the hypervisor (issue 4). In bulk mode the socket's
//! low-water mark (`SO_RCVLOWAT`, socket(7)) holds the wakeup until [`BULK_LOW_WATER`] bytes
//! are waiting, and a timer of [`BULK_WAIT`] reads whatever has come when less arrives (the
//! end of an answer): the kernel wakes a reader for each 64 KiB instead of each record.
//!
//! The buffer also serves rustls, which asks for 4 KiB per read: a first sync made one `recvfrom`
//! per 4 KiB (116k for 475 MB) before there was a buffer under TLS.
//!
//! Outside bulk mode (logging in, EXAMINE, IDLE) the stream behaves like any buffered socket:
//! a server's few bytes are read as soon as they arrive.

use std::fmt;
use std::io;
use std::os::fd::AsRawFd as _;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// Bytes read per system call at most.
const BUFFER_BYTES: usize = 256 * 1024;
/// In bulk mode, the bytes that must be waiting before the kernel wakes the reader.
const BULK_LOW_WATER: usize = 64 * 1024;
/// In bulk mode, the longest wait for [`BULK_LOW_WATER`] bytes before reading what is there.
const BULK_WAIT: Duration = Duration::from_millis(3);

/// A TCP stream with a read buffer and a bulk mode (see the module documentation).
pub struct Socket {
    tcp: TcpStream,
    buf: Box<[u8]>,
    /// The bytes of `buf` not yet handed out.
    pos: usize,
    filled: usize,
    bulk: bool,
    /// Armed while a bulk read waits.
    timer: Pin<Box<Sleep>>,
    waiting: bool,
}

impl Socket {
    pub fn new(tcp: TcpStream) -> Self {
        Socket {
            tcp,
            buf: vec![0; BUFFER_BYTES].into_boxed_slice(),
            pos: 0,
            filled: 0,
            bulk: false,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            waiting: false,
        }
    }

    /// Turns bulk mode on or off. If the kernel refuses the low-water mark, the stream stays
    /// as it was: bulk mode only saves wakeups, it changes no byte read.
    pub fn set_bulk(&mut self, on: bool) {
        if on == self.bulk {
            return;
        }
        let low_water = if on { BULK_LOW_WATER } else { 1 };
        match set_low_water(&self.tcp, low_water) {
            Ok(()) => {
                self.bulk = on;
                self.waiting = false;
            }
            Err(error) => tracing::debug!("SO_RCVLOWAT {low_water}: {error}"),
        }
    }

    /// Refills the empty buffer; at the end of the stream it stays empty.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.bulk {
            let mut read = ReadBuf::new(&mut self.buf);
            ready!(Pin::new(&mut self.tcp).poll_read(cx, &mut read))?;
            (self.pos, self.filled) = (0, read.filled().len());
            return Poll::Ready(Ok(()));
        }
        loop {
            // tokio reads only when its last event said the socket is readable, and with the
            // low-water mark the kernel raises none for a short tail: the socket is read
            // directly. Its readiness is cleared first, so that data arriving after the read
            // raises a new event.
            let _ = self.tcp.try_io(Interest::READABLE, || {
                Err::<(), _>(io::ErrorKind::WouldBlock.into())
            });
            match recv_now(&self.tcp, &mut self.buf) {
                Ok(n) => {
                    self.waiting = false;
                    (self.pos, self.filled) = (0, n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
            if !self.waiting {
                self.timer.as_mut().reset(Instant::now() + BULK_WAIT);
                self.waiting = true;
            }
            match self.tcp.poll_read_ready(cx) {
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
            ready!(self.timer.as_mut().poll(cx));
            self.waiting = false;
        }
    }
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("tcp", &self.tcp)
            .field("buffered", &(self.filled - self.pos))
            .field("bulk", &self.bulk)
            .finish()
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos == this.filled {
            ready!(this.poll_fill(cx))?;
        }
        let n = out.remaining().min(this.filled - this.pos);
        out.put_slice(&this.buf[this.pos..this.pos + n]);
        this.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// One non-blocking `recv` on the socket, whatever tokio last heard of it.
fn recv_now(tcp: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the descriptor stays open while `tcp` is borrowed, and `buf` is valid for writes
    // of `buf.len()` bytes.
    let n = unsafe {
        libc::recv(
            tcp.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

fn set_low_water(tcp: &TcpStream, bytes: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes).map_err(io::Error::other)?;
    // SAFETY: `value` outlives the call and the length given is its size.
    let rc = unsafe {
        libc::setsockopt(
            tcp.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            (&raw const value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    async fn pair() -> (Socket, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (client, server) = tokio::join!(TcpStream::connect(address), listener.accept());
        (Socket::new(client.unwrap()), server.unwrap().0)
    }

    #[tokio::test]
    async fn bulk_mode_reads_every_byte_and_a_short_tail_without_waiting_for_more() {
        let (mut socket, mut server) = pair().await;
        socket.set_bulk(true);
        assert!(socket.bulk, "the kernel takes SO_RCVLOWAT");
        let sent: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let writer = {
            let sent = sent.clone();
            tokio::spawn(async move {
                for chunk in sent.chunks(7_000) {
                    server.write_all(chunk).await.unwrap();
                }
                // A short tail, far under the low-water mark, with the connection still open.
                server.write_all(b"tail").await.unwrap();
                server
            })
        };
        let mut got = vec![0; sent.len() + 4];
        tokio::time::timeout(Duration::from_secs(10), socket.read_exact(&mut got))
            .await
            .expect("the tail is read although less than the low-water mark came")
            .unwrap();
        assert_eq!(&got[..sent.len()], &sent[..]);
        assert_eq!(&got[sent.len()..], b"tail");
        let mut server = writer.await.unwrap();

        // Out of bulk mode, a few bytes are read as they come, and the end is seen.
        socket.set_bulk(false);
        server.write_all(b"* 1 EXISTS\r\n").await.unwrap();
        let mut line = [0; 12];
        socket.read_exact(&mut line).await.unwrap();
        assert_eq!(&line, b"* 1 EXISTS\r\n");
        drop(server);
        let mut rest = Vec::new();
        socket.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    }

    #[tokio::test]
    async fn bulk_mode_sees_the_end_of_the_stream() {
        let (mut socket, mut server) = pair().await;
        socket.set_bulk(true);
        server.write_all(b"bye").await.unwrap();
        drop(server);
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut rest))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rest, b"bye");
    }
}
