//! A minimal CBOR writer (RFC 8949, definite lengths, shortest argument encoding) for the
//! fixed shapes this module emits. Decoding goes through `ciborium::Value`.

/// Major type 0: unsigned integer.
pub(crate) const UINT: u8 = 0;
/// Major type 2: byte string.
pub(crate) const BYTES: u8 = 2;
/// Major type 3: text string.
pub(crate) const TEXT: u8 = 3;
/// Major type 4: array.
pub(crate) const ARRAY: u8 = 4;
/// Major type 5: map.
pub(crate) const MAP: u8 = 5;
/// The simple value `null`.
pub(crate) const NULL: u8 = 0xf6;

/// Writes an item head: major type and argument in its shortest form.
pub(crate) fn head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let mt = major << 5;
    if arg < 24 {
        out.push(mt | arg as u8);
    } else if let Ok(v) = u8::try_from(arg) {
        out.push(mt | 24);
        out.push(v);
    } else if let Ok(v) = u16::try_from(arg) {
        out.push(mt | 25);
        out.extend_from_slice(&v.to_be_bytes());
    } else if let Ok(v) = u32::try_from(arg) {
        out.push(mt | 26);
        out.extend_from_slice(&v.to_be_bytes());
    } else {
        out.push(mt | 27);
        out.extend_from_slice(&arg.to_be_bytes());
    }
}

/// Writes a byte string.
pub(crate) fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    head(out, BYTES, b.len() as u64);
    out.extend_from_slice(b);
}

/// Writes a text string.
pub(crate) fn text(out: &mut Vec<u8>, s: &str) {
    head(out, TEXT, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Writes a byte string, or `null` when absent.
pub(crate) fn opt_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        Some(b) => bytes(out, b),
        None => out.push(NULL),
    }
}

/// Decodes exactly one CBOR data item from `input`, rejecting trailing bytes.
pub(crate) fn decode_one(input: &[u8]) -> Result<ciborium::Value, String> {
    let mut rest = input;
    let value: ciborium::Value =
        ciborium::de::from_reader(&mut rest).map_err(|e| format!("invalid CBOR: {e}"))?;
    if !rest.is_empty() {
        return Err(format!("{} trailing bytes after the CBOR item", rest.len()));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn heads_use_shortest_form() {
        let cases: [(u64, &[u8]); 6] = [
            (0, &[0x40]),
            (23, &[0x57]),
            (24, &[0x58, 24]),
            (256, &[0x59, 1, 0]),
            (65536, &[0x5a, 0, 1, 0, 0]),
            (1 << 32, &[0x5b, 0, 0, 0, 1, 0, 0, 0, 0]),
        ];
        for (arg, want) in cases {
            let mut out = Vec::new();
            head(&mut out, BYTES, arg);
            assert_eq!(out, want, "arg {arg}");
        }
    }

    #[test]
    fn decode_one_rejects_trailing_and_garbage() {
        assert!(decode_one(&[0x01]).is_ok());
        assert!(decode_one(&[0x01, 0x02]).is_err());
        assert!(decode_one(&[]).is_err());
        assert!(decode_one(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode_one(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode_one(&[0xff]).is_err());
    }
}
