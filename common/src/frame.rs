//! Length-prefixed frames on the enclave socket. See `SPEC.md` beside this crate.
//!
//! A frame is a 4-byte big-endian length `N` followed by `N` bytes of body. `N` is checked
//! against [`MAX_FRAME_LEN`] before anything is allocated, so a peer cannot make either side
//! reserve memory by announcing a large frame.

/// Largest body a frame may carry (1 MiB). The parent caps HTTP bodies well below this.
pub const MAX_FRAME_LEN: usize = 1 << 20;

/// Size of the length prefix.
pub const HEADER_LEN: usize = 4;

/// Why a frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The announced or given body is larger than [`MAX_FRAME_LEN`].
    #[error("frame of {0} bytes exceeds the {MAX_FRAME_LEN}-byte limit")]
    TooLarge(usize),
    /// A zero-length frame (never valid: every message has a body).
    #[error("empty frame")]
    Empty,
    /// The announced body is larger than the receiver's own, smaller limit (see
    /// [`body_len_within`]).
    #[error("frame of {len} bytes exceeds the receiver's {max}-byte limit")]
    OverLimit {
        /// The announced length.
        len: usize,
        /// The receiver's limit.
        max: usize,
    },
}

/// Checks a received header and returns the body length to read.
pub fn body_len(header: [u8; HEADER_LEN]) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(header) as usize;
    check_len(len)?;
    Ok(len)
}

/// As [`body_len`], with a receiver's own limit `max` (at most [`MAX_FRAME_LEN`]): the
/// enclave caps requests well below the size an answer may have.
pub fn body_len_within(header: [u8; HEADER_LEN], max: usize) -> Result<usize, FrameError> {
    let len = body_len(header)?;
    if len > max {
        return Err(FrameError::OverLimit { len, max });
    }
    Ok(len)
}

fn check_len(len: usize) -> Result<(), FrameError> {
    if len == 0 {
        return Err(FrameError::Empty);
    }
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge(len));
    }
    Ok(())
}

/// Encodes one frame: the length prefix followed by `body`.
pub fn encode(body: &[u8]) -> Result<Vec<u8>, FrameError> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    encode_into(&mut out, body)?;
    Ok(out)
}

/// Appends one frame to `out` (so several frames can go out in one write). On error `out` is
/// unchanged.
pub fn encode_into(out: &mut Vec<u8>, body: &[u8]) -> Result<(), FrameError> {
    check_len(body.len())?;
    // The check above keeps the length within u32.
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_exactly_max_and_refuses_max_plus_one() {
        let max = (MAX_FRAME_LEN as u32).to_be_bytes();
        assert_eq!(body_len(max), Ok(MAX_FRAME_LEN));
        let over = (MAX_FRAME_LEN as u32 + 1).to_be_bytes();
        assert_eq!(body_len(over), Err(FrameError::TooLarge(MAX_FRAME_LEN + 1)));
        assert_eq!(body_len([0xff; 4]), Err(FrameError::TooLarge(u32::MAX as usize)));
        assert_eq!(body_len([0; 4]), Err(FrameError::Empty));
        assert!(encode(&vec![0u8; MAX_FRAME_LEN]).is_ok());
        assert_eq!(encode(&vec![0u8; MAX_FRAME_LEN + 1]), Err(FrameError::TooLarge(MAX_FRAME_LEN + 1)));
    }

    #[test]
    fn a_receivers_own_limit_accepts_exactly_max_and_refuses_max_plus_one() {
        let max = 1000;
        assert_eq!(body_len_within(1000u32.to_be_bytes(), max), Ok(1000));
        assert_eq!(
            body_len_within(1001u32.to_be_bytes(), max),
            Err(FrameError::OverLimit { len: 1001, max })
        );
        // The frame limit still applies first.
        assert_eq!(body_len_within([0xff; 4], max), Err(FrameError::TooLarge(u32::MAX as usize)));
        assert_eq!(body_len_within([0; 4], max), Err(FrameError::Empty));
    }

    #[test]
    fn golden_frame_bytes() {
        assert_eq!(encode(b"abc").unwrap(), [0, 0, 0, 3, b'a', b'b', b'c']);
    }
}
