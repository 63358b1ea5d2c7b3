//! Mesos RecordIO framing: each record is `<decimal length>\n<exactly length bytes>`.
//!
//! The scheduler API's event stream and the local agent's checkpoint log use it. Record
//! boundaries have nothing to do with HTTP chunk or read boundaries, so the decoder keeps
//! partial headers and bodies buffered until a whole record has arrived.
//!
//! ```
//! use bytes::BytesMut;
//! use mesos::recordio::RecordIoCodec;
//! use tokio_util::codec::{Decoder, Encoder};
//!
//! let mut codec = RecordIoCodec::default();
//! let mut buf = BytesMut::new();
//! codec.encode(&b"{\"type\":\"HEARTBEAT\"}"[..], &mut buf).unwrap();
//! assert_eq!(&buf[..], b"20\n{\"type\":\"HEARTBEAT\"}");
//! let record = codec.decode(&mut buf).unwrap().unwrap();
//! assert_eq!(&record[..], b"{\"type\":\"HEARTBEAT\"}");
//! ```

use bytes::{BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// The largest record accepted by default (64 MiB); a longer length header is treated as
/// corruption rather than buffered.
pub const DEFAULT_MAX_RECORD_LEN: u64 = 64 * 1024 * 1024;

/// u64::MAX has 20 decimal digits; a longer header cannot be a valid length.
const MAX_HEADER_DIGITS: usize = 20;

/// Why a RecordIO stream could not be framed.
#[derive(Debug, thiserror::Error)]
pub enum RecordIoError {
    /// A record header announced zero bytes; Mesos never writes empty records.
    #[error("RecordIO record with zero length")]
    ZeroLength,
    /// The header before `\n` is not a decimal number (the offending bytes, lossily decoded).
    #[error("RecordIO length header is not a decimal number: {0:?}")]
    InvalidLength(String),
    /// The header announced more bytes than the codec's limit.
    #[error("RecordIO record of {len} bytes exceeds the limit of {max} bytes")]
    TooLong { len: u64, max: u64 },
    /// The stream ended in the middle of a record.
    #[error("stream ended inside a RecordIO record ({0} bytes of it received)")]
    Truncated(usize),
    /// Reading or writing the underlying stream failed.
    #[error("RecordIO stream I/O failed")]
    Io(#[from] std::io::Error),
}

/// A [`Decoder`] yielding each record's bytes and an [`Encoder`] framing byte slices.
#[derive(Debug, Clone)]
pub struct RecordIoCodec {
    max_len: u64,
    /// Length of the record whose header has been consumed but whose body is still arriving.
    pending: Option<usize>,
}

impl Default for RecordIoCodec {
    fn default() -> Self {
        Self::with_max_len(DEFAULT_MAX_RECORD_LEN)
    }
}

impl RecordIoCodec {
    /// A codec refusing records longer than `max_len` bytes.
    pub fn with_max_len(max_len: u64) -> Self {
        Self { max_len, pending: None }
    }

    fn check_len(&self, len: u64) -> Result<usize, RecordIoError> {
        if len == 0 {
            return Err(RecordIoError::ZeroLength);
        }
        if len > self.max_len {
            return Err(RecordIoError::TooLong { len, max: self.max_len });
        }
        usize::try_from(len).map_err(|_| RecordIoError::TooLong { len, max: self.max_len })
    }

    /// Consumes a complete header from `src` if one is there.
    fn decode_header(&self, src: &mut BytesMut) -> Result<Option<usize>, RecordIoError> {
        let scanned = src.len().min(MAX_HEADER_DIGITS + 1);
        let newline = src[..scanned].iter().position(|&b| b == b'\n');
        let digits_end = newline.unwrap_or(scanned);
        // Reject garbage as soon as it is seen instead of waiting for a newline that may never come.
        if src[..digits_end].iter().any(|b| !b.is_ascii_digit()) {
            return Err(invalid(&src[..digits_end]));
        }
        let Some(newline) = newline else {
            if scanned > MAX_HEADER_DIGITS {
                return Err(invalid(&src[..scanned]));
            }
            return Ok(None);
        };
        if newline == 0 {
            return Err(invalid(b""));
        }
        let text = std::str::from_utf8(&src[..newline]).map_err(|_| invalid(&src[..newline]))?;
        let len: u64 = text.parse().map_err(|_| invalid(text.as_bytes()))?;
        let len = self.check_len(len)?;
        let _ = src.split_to(newline + 1);
        Ok(Some(len))
    }
}

fn invalid(bytes: &[u8]) -> RecordIoError {
    RecordIoError::InvalidLength(String::from_utf8_lossy(bytes).into_owned())
}

impl Decoder for RecordIoCodec {
    type Item = Bytes;
    type Error = RecordIoError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, RecordIoError> {
        let len = match self.pending {
            Some(len) => len,
            None => match self.decode_header(src)? {
                Some(len) => {
                    self.pending = Some(len);
                    len
                }
                None => return Ok(None),
            },
        };
        if src.len() < len {
            src.reserve(len - src.len());
            return Ok(None);
        }
        self.pending = None;
        Ok(Some(src.split_to(len).freeze()))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, RecordIoError> {
        match self.decode(src)? {
            Some(record) => Ok(Some(record)),
            None if src.is_empty() && self.pending.is_none() => Ok(None),
            None => Err(RecordIoError::Truncated(src.len())),
        }
    }
}

impl<T: AsRef<[u8]>> Encoder<T> for RecordIoCodec {
    type Error = RecordIoError;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), RecordIoError> {
        let data = item.as_ref();
        self.check_len(data.len() as u64)?;
        encode_record(data, dst);
        Ok(())
    }
}

/// Appends one framed record to `dst` (the caller guarantees `data` is not empty).
pub fn encode_record(data: &[u8], dst: &mut BytesMut) {
    let header = data.len().to_string();
    dst.reserve(header.len() + 1 + data.len());
    dst.put_slice(header.as_bytes());
    dst.put_u8(b'\n');
    dst.put_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(codec: &mut RecordIoCodec, buf: &mut BytesMut) -> Vec<Bytes> {
        let mut out = Vec::new();
        while let Some(record) = codec.decode(buf).unwrap() {
            out.push(record);
        }
        out
    }

    #[test]
    fn round_trips_several_records() {
        let mut codec = RecordIoCodec::default();
        let mut buf = BytesMut::new();
        let records: Vec<Vec<u8>> = vec![b"a".to_vec(), vec![b'\n'; 10], vec![7u8; 1000]];
        for r in &records {
            codec.encode(r.as_slice(), &mut buf).unwrap();
        }
        let got = decode_all(&mut codec, &mut buf);
        assert_eq!(got.iter().map(|b| b.to_vec()).collect::<Vec<_>>(), records);
        assert!(buf.is_empty());
        assert!(codec.decode_eof(&mut buf).unwrap().is_none());
    }

    #[test]
    fn feeding_one_byte_at_a_time_yields_the_same_records() {
        let mut encoder = RecordIoCodec::default();
        let mut wire = BytesMut::new();
        let records: Vec<Vec<u8>> = vec![b"{\"type\":\"HEARTBEAT\"}".to_vec(), vec![0u8; 123], b"12\n34".to_vec()];
        for r in &records {
            encoder.encode(r.as_slice(), &mut wire).unwrap();
        }
        let mut codec = RecordIoCodec::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for byte in wire.iter() {
            buf.put_u8(*byte);
            got.extend(decode_all(&mut codec, &mut buf));
        }
        assert_eq!(got.iter().map(|b| b.to_vec()).collect::<Vec<_>>(), records);
    }

    #[test]
    fn decodes_the_real_master_stream_prefix() {
        // From the transcript of a real master: "188\n" then the SUBSCRIBED event.
        let mut buf = BytesMut::from(&b"188\n"[..]);
        buf.extend_from_slice(&[0u8; 188]);
        buf.extend_from_slice(b"2\n\x08\x08");
        let got = decode_all(&mut RecordIoCodec::default(), &mut buf);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), 188);
        assert_eq!(&got[1][..], b"\x08\x08");
    }

    #[test]
    fn rejects_zero_length() {
        let mut buf = BytesMut::from(&b"0\nxyz"[..]);
        let err = RecordIoCodec::default().decode(&mut buf).unwrap_err();
        assert!(matches!(err, RecordIoError::ZeroLength), "{err:?}");
        let err = RecordIoCodec::default()
            .encode(&b""[..], &mut BytesMut::new())
            .unwrap_err();
        assert!(matches!(err, RecordIoError::ZeroLength), "{err:?}");
    }

    #[test]
    fn rejects_non_numeric_headers_without_waiting_for_a_newline() {
        for bad in [&b"12a"[..], b"-5\n", b" 5\n", b"\nabc", b"x"] {
            let mut buf = BytesMut::from(bad);
            let err = RecordIoCodec::default().decode(&mut buf).unwrap_err();
            assert!(matches!(err, RecordIoError::InvalidLength(_)), "{bad:?}: {err:?}");
        }
    }

    #[test]
    fn rejects_absurd_lengths() {
        let mut buf = BytesMut::from(&b"67108865\n"[..]);
        let err = RecordIoCodec::default().decode(&mut buf).unwrap_err();
        assert!(matches!(err, RecordIoError::TooLong { len: 67_108_865, .. }), "{err:?}");
        // 64 MiB itself is allowed: the decoder just waits for the body.
        let mut buf = BytesMut::from(&b"67108864\n"[..]);
        assert!(RecordIoCodec::default().decode(&mut buf).unwrap().is_none());
        // More digits than any u64 has.
        let mut buf = BytesMut::from(&b"999999999999999999999999"[..]);
        let err = RecordIoCodec::default().decode(&mut buf).unwrap_err();
        assert!(matches!(err, RecordIoError::InvalidLength(_)), "{err:?}");
        let mut buf = BytesMut::from(&b"99999999999999999999\n"[..]);
        let err = RecordIoCodec::default().decode(&mut buf).unwrap_err();
        assert!(matches!(
            err,
            RecordIoError::InvalidLength(_) | RecordIoError::TooLong { .. }
        ));
    }

    #[test]
    fn waits_for_partial_header_and_body() {
        let mut codec = RecordIoCodec::default();
        let mut buf = BytesMut::from(&b"1"[..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        buf.extend_from_slice(b"0\nhello");
        assert!(codec.decode(&mut buf).unwrap().is_none());
        buf.extend_from_slice(b"world!");
        assert_eq!(&codec.decode(&mut buf).unwrap().unwrap()[..], b"helloworld");
        assert_eq!(&buf[..], b"!");
    }

    #[test]
    fn truncated_stream_is_an_error_at_eof() {
        let mut codec = RecordIoCodec::default();
        let mut buf = BytesMut::from(&b"10\nhello"[..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        let err = codec.decode_eof(&mut buf).unwrap_err();
        assert!(matches!(err, RecordIoError::Truncated(5)), "{err:?}");
        let mut buf = BytesMut::from(&b"10"[..]);
        let err = RecordIoCodec::default().decode_eof(&mut buf).unwrap_err();
        assert!(matches!(err, RecordIoError::Truncated(2)), "{err:?}");
    }

    #[test]
    fn a_custom_limit_applies_to_both_directions() {
        let mut codec = RecordIoCodec::with_max_len(4);
        let err = codec.encode(&b"12345"[..], &mut BytesMut::new()).unwrap_err();
        assert!(matches!(err, RecordIoError::TooLong { len: 5, max: 4 }));
        let mut buf = BytesMut::from(&b"5\n12345"[..]);
        assert!(matches!(codec.decode(&mut buf), Err(RecordIoError::TooLong { .. })));
    }
}
