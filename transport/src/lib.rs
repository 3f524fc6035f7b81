//! The socket between parent and enclave: `vsock:CID:PORT` on Nitro hosts, `unix:PATH` on a laptop
//! and in CI. Both carry the same length-prefixed frames (`signer_common::frame`).
//!
//! This is the only async code shared by the enclave and the parent; the framing rules themselves
//! live in `signer-common` so they stay sans-I/O.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};
use std::time::Duration;

use signer_common::frame::{self, FrameError, HEADER_LEN};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio_vsock::{VsockAddr, VsockListener, VsockStream};

mod budget;
pub use budget::ByteBudget;

/// Where the enclave listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnclaveAddr {
    /// A Unix-domain socket (local runs and tests).
    Unix(PathBuf),
    /// A vsock address (Nitro: the enclave's CID and port).
    Vsock {
        /// Context id: the enclave's CID for the parent, `VMADDR_CID_ANY` (u32::MAX) to listen.
        cid: u32,
        /// Port.
        port: u32,
    },
}

/// An address that is not `unix:PATH` or `vsock:CID:PORT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid enclave address `{0}`: expected unix:PATH or vsock:CID:PORT")]
pub struct AddrParseError(String);

impl FromStr for EnclaveAddr {
    type Err = AddrParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || AddrParseError(s.to_owned());
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(err());
            }
            return Ok(EnclaveAddr::Unix(PathBuf::from(path)));
        }
        if let Some(rest) = s.strip_prefix("vsock:") {
            let (cid, port) = rest.split_once(':').ok_or_else(err)?;
            let cid = if cid == "any" { u32::MAX } else { cid.parse().map_err(|_| err())? };
            return Ok(EnclaveAddr::Vsock { cid, port: port.parse().map_err(|_| err())? });
        }
        Err(err())
    }
}

impl fmt::Display for EnclaveAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnclaveAddr::Unix(path) => write!(f, "unix:{}", path.display()),
            EnclaveAddr::Vsock { cid, port } => write!(f, "vsock:{cid}:{port}"),
        }
    }
}

/// A listening socket of either kind.
#[derive(Debug)]
pub enum Listener {
    /// Unix-domain socket.
    Unix(UnixListener),
    /// vsock.
    Vsock(VsockListener),
}

impl Listener {
    /// Binds `addr`. A stale Unix socket file left by a previous run is replaced.
    pub fn bind(addr: &EnclaveAddr) -> io::Result<Listener> {
        match addr {
            EnclaveAddr::Unix(path) => {
                if path.exists() {
                    std::fs::remove_file(path)?;
                }
                Ok(Listener::Unix(UnixListener::bind(path)?))
            }
            EnclaveAddr::Vsock { cid, port } => {
                Ok(Listener::Vsock(VsockListener::bind(VsockAddr::new(*cid, *port))?))
            }
        }
    }

    /// Waits for the next connection.
    pub async fn accept(&mut self) -> io::Result<Stream> {
        match self {
            Listener::Unix(l) => Ok(Stream::Unix(l.accept().await?.0)),
            Listener::Vsock(l) => Ok(Stream::Vsock(l.accept().await?.0)),
        }
    }
}

/// Connects to the enclave at `addr`.
pub async fn connect(addr: &EnclaveAddr) -> io::Result<Stream> {
    match addr {
        EnclaveAddr::Unix(path) => Ok(Stream::Unix(UnixStream::connect(path).await?)),
        EnclaveAddr::Vsock { cid, port } => {
            Ok(Stream::Vsock(VsockStream::connect(VsockAddr::new(*cid, *port)).await?))
        }
    }
}

/// A connected socket of either kind.
#[derive(Debug)]
pub enum Stream {
    /// Unix-domain socket.
    Unix(UnixStream),
    /// vsock.
    Vsock(VsockStream),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Vsock(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Vsock(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Vsock(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Vsock(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameIoError {
    /// The socket failed or closed in the middle of a frame.
    #[error("socket: {0}")]
    Io(#[from] io::Error),
    /// The peer announced an invalid frame; the connection must be dropped.
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// Reads one frame body. `Ok(None)` when the peer closed the connection between frames.
///
/// The length is checked before the body buffer is allocated.
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Option<Vec<u8>>, FrameIoError> {
    read_frame_within(reader, frame::MAX_FRAME_LEN).await
}

/// As [`read_frame`], refusing bodies longer than `max` (the receiver's own limit, at most
/// [`frame::MAX_FRAME_LEN`]) before anything is allocated.
pub async fn read_frame_within<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> Result<Option<Vec<u8>>, FrameIoError> {
    let mut header = [0u8; HEADER_LEN];
    let mut filled = 0;
    while filled < HEADER_LEN {
        let n = reader.read(&mut header[filled..]).await?;
        if n == 0 {
            if filled == 0 {
                return Ok(None);
            }
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        filled += n;
    }
    let len = frame::body_len_within(header, max)?;
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).await?;
    Ok(Some(body))
}

/// Writes one frame (header and body in one write).
pub async fn write_frame<W: AsyncWrite + Unpin>(writer: &mut W, body: &[u8]) -> Result<(), FrameIoError> {
    let bytes = frame::encode(body)?;
    writer.write_all(&bytes).await?;
    Ok(())
}

/// How many bytes of queued frames [`write_queued_frames`] gathers into one write.
pub const WRITE_BATCH_BYTES: usize = 64 * 1024;

/// Writes the frame bodies that arrive on `queue` until it closes (`Ok`) or a write fails.
/// Frames already waiting are gathered into one write (up to [`WRITE_BATCH_BYTES`], or one
/// frame of any valid size), so a busy connection makes one system call for many answers
/// rather than one each.
pub async fn write_queued_frames<W: AsyncWrite + Unpin>(
    writer: &mut W,
    queue: &mut tokio::sync::mpsc::Receiver<Vec<u8>>,
) -> Result<(), FrameIoError> {
    write_queued_frames_with(writer, queue, None, |_| {}).await
}

/// As [`write_queued_frames`], failing with [`io::ErrorKind::TimedOut`] when one write (a batch)
/// does not complete within `deadline` (the peer is not reading), and calling `written` with
/// the body bytes of each batch once it is written (to give them back to a [`ByteBudget`]).
pub async fn write_queued_frames_with<W: AsyncWrite + Unpin>(
    writer: &mut W,
    queue: &mut tokio::sync::mpsc::Receiver<Vec<u8>>,
    deadline: Option<Duration>,
    mut written: impl FnMut(usize),
) -> Result<(), FrameIoError> {
    let mut batch = Vec::new();
    while let Some(body) = queue.recv().await {
        batch.clear();
        frame::encode_into(&mut batch, &body)?;
        let mut bodies = body.len();
        drop(body);
        while batch.len() < WRITE_BATCH_BYTES {
            let Ok(body) = queue.try_recv() else { break };
            frame::encode_into(&mut batch, &body)?;
            bodies += body.len();
        }
        match deadline {
            None => writer.write_all(&batch).await?,
            Some(deadline) => {
                tokio::time::timeout(deadline, writer.write_all(&batch)).await.map_err(|_| {
                    io::Error::new(io::ErrorKind::TimedOut, "peer not reading: write deadline passed")
                })??
            }
        }
        written(bodies);
        if batch.capacity() > 4 * WRITE_BATCH_BYTES {
            // A one-off large frame: do not keep its buffer for the life of the connection.
            batch = Vec::new();
        }
    }
    Ok(())
}

/// The size of the read buffer [`buffered`] puts in front of a stream half.
pub const READ_BUFFER_BYTES: usize = 64 * 1024;

/// A read buffer for [`read_frame`]: frames that arrive together are read with one system
/// call instead of two each (header, then body).
pub fn buffered<R: AsyncRead>(reader: R) -> tokio::io::BufReader<R> {
    tokio::io::BufReader::with_capacity(READ_BUFFER_BYTES, reader)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_addresses() {
        let unix: EnclaveAddr = "unix:/tmp/enclave.sock".parse().unwrap();
        assert_eq!(unix, EnclaveAddr::Unix("/tmp/enclave.sock".into()));
        assert_eq!(unix.to_string(), "unix:/tmp/enclave.sock");
        let vsock: EnclaveAddr = "vsock:16:5000".parse().unwrap();
        assert_eq!(vsock, EnclaveAddr::Vsock { cid: 16, port: 5000 });
        assert_eq!(vsock.to_string(), "vsock:16:5000");
        assert_eq!(
            "vsock:any:5000".parse::<EnclaveAddr>().unwrap(),
            EnclaveAddr::Vsock { cid: u32::MAX, port: 5000 }
        );
        for bad in ["", "unix:", "vsock:16", "vsock:x:1", "vsock:1:99999999999", "tcp:1.2.3.4:5"] {
            assert!(bad.parse::<EnclaveAddr>().is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn frames_cross_a_unix_socket_and_oversized_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let addr = EnclaveAddr::Unix(dir.path().join("s.sock"));
        let mut listener = Listener::bind(&addr).unwrap();
        let client = tokio::spawn({
            let addr = addr.clone();
            async move {
                let mut s = connect(&addr).await.unwrap();
                write_frame(&mut s, b"hello").await.unwrap();
                // A header announcing more than the limit, with no body behind it.
                s.write_all(&((frame::MAX_FRAME_LEN as u32) + 1).to_be_bytes()).await.unwrap();
            }
        });
        let mut server = listener.accept().await.unwrap();
        assert_eq!(read_frame(&mut server).await.unwrap(), Some(b"hello".to_vec()));
        assert!(matches!(read_frame(&mut server).await, Err(FrameIoError::Frame(FrameError::TooLarge(_)))));
        client.await.unwrap();
    }

    #[tokio::test]
    async fn clean_close_between_frames_is_none_and_mid_frame_is_an_error() {
        let (mut a, mut b) = tokio::io::duplex(64);
        write_frame(&mut a, b"x").await.unwrap();
        drop(a);
        assert_eq!(read_frame(&mut b).await.unwrap(), Some(b"x".to_vec()));
        assert_eq!(read_frame(&mut b).await.unwrap(), None);

        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&[0, 0]).await.unwrap();
        drop(a);
        assert!(matches!(read_frame(&mut b).await, Err(FrameIoError::Io(_))));
    }

    /// Queued frames go out batched and come back whole and in order, through the read
    /// buffer, including one of the largest size; an oversized body fails the writer.
    #[tokio::test]
    async fn queued_frames_are_batched_and_read_back_in_order() {
        let (a, b) = tokio::io::duplex(256 * 1024);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(1024);
        let mut sent: Vec<Vec<u8>> =
            (0..300u32).map(|i| vec![i as u8; 1 + (i as usize * 97) % 5000]).collect();
        sent.insert(150, vec![0xab; frame::MAX_FRAME_LEN]);
        for body in &sent {
            tx.send(body.clone()).await.unwrap();
        }
        drop(tx);
        let writer = tokio::spawn(async move {
            let mut a = a;
            write_queued_frames(&mut a, &mut rx).await
        });
        let mut reader = buffered(b);
        for (i, body) in sent.iter().enumerate() {
            assert_eq!(read_frame(&mut reader).await.unwrap().as_ref(), Some(body), "frame {i}");
        }
        writer.await.unwrap().unwrap();
        assert!(read_frame(&mut reader).await.unwrap().is_none(), "closed after the last frame");

        let (mut a, _b) = tokio::io::duplex(1024);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
        tx.send(vec![0; frame::MAX_FRAME_LEN + 1]).await.unwrap();
        drop(tx);
        assert!(matches!(write_queued_frames(&mut a, &mut rx).await, Err(FrameIoError::Frame(_))));
    }

    /// A peer that does not read fails the writer at the deadline; bytes written are reported.
    #[tokio::test]
    async fn a_write_that_stalls_past_its_deadline_fails_and_written_bytes_are_reported() {
        let (mut a, b) = tokio::io::duplex(1024);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(8);
        tx.send(vec![1; 100]).await.unwrap();
        tx.send(vec![2; 5000]).await.unwrap();
        drop(tx);
        let mut reported = Vec::new();
        let result =
            write_queued_frames_with(&mut a, &mut rx, Some(Duration::from_millis(200)), |n| reported.push(n))
                .await;
        assert!(matches!(result, Err(FrameIoError::Io(e)) if e.kind() == io::ErrorKind::TimedOut));
        assert!(reported.is_empty(), "nothing was written whole");

        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(8);
        tx.send(vec![3; 10]).await.unwrap();
        drop(tx);
        let mut total = 0;
        let (mut a, _b2) = tokio::io::duplex(1024);
        write_queued_frames_with(&mut a, &mut rx, Some(Duration::from_secs(5)), |n| total += n)
            .await
            .unwrap();
        assert_eq!(total, 10);
        drop(b);
    }

    #[tokio::test]
    async fn a_receivers_limit_refuses_a_longer_frame_before_reading_it() {
        let (mut a, mut b) = tokio::io::duplex(64);
        write_frame(&mut a, &[7; 10]).await.unwrap();
        assert_eq!(read_frame_within(&mut b, 10).await.unwrap(), Some(vec![7; 10]));
        a.write_all(&11u32.to_be_bytes()).await.unwrap();
        assert!(matches!(
            read_frame_within(&mut b, 10).await,
            Err(FrameIoError::Frame(FrameError::OverLimit { len: 11, max: 10 }))
        ));
    }
}
