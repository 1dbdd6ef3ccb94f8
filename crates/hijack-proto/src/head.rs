//! Incremental head-end scanning: where does the head end, without re-scanning the buffer.

use super::error::ProtoError;

/// Finds the end of a head (the blank line) in a buffer that grows between calls.
///
/// Each call resumes where the previous one stopped (less the two bytes a split terminator can
/// straddle), so a head delivered a byte at a time costs O(n), not O(n²) (slowloris, hyper's
/// `is_complete_fast`). Accepts `\r\n\r\n` and the bare-LF forms RFC 9112 §2.2 allows; leading
/// empty lines are skipped as httparse skips them.
#[derive(Clone, Debug)]
pub struct HeadScanner {
    max_head_bytes: usize,
    /// Bytes already examined without finding the end.
    scanned: usize,
    /// Leading CR/LF bytes found so far; final once it is below `scanned`.
    lead: usize,
}

impl HeadScanner {
    /// A scanner that refuses heads longer than `max_head_bytes`.
    pub fn new(max_head_bytes: usize) -> Self {
        Self {
            max_head_bytes,
            scanned: 0,
            lead: 0,
        }
    }

    /// Forget what was scanned: the next head starts at offset 0 of a new buffer.
    pub fn reset(&mut self) {
        self.scanned = 0;
        self.lead = 0;
    }

    /// How many more bytes the buffer may grow by before the head is too large.
    pub fn room(&self, buffered: usize) -> usize {
        self.max_head_bytes
            .saturating_add(1)
            .saturating_sub(buffered)
    }

    /// `Ok(Some(n))` when `buf[..n]` is a complete head (its blank line included), `Ok(None)`
    /// when more bytes are needed. `buf` must be the same buffer as before, possibly longer.
    pub fn scan(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtoError> {
        // Resume the count of leading empty lines too, or a stream of them costs O(n²).
        if self.lead >= self.scanned {
            let rest = buf.get(self.lead..).unwrap_or_default();
            self.lead += rest
                .iter()
                .position(|&b| b != b'\r' && b != b'\n')
                .unwrap_or(rest.len());
        }
        let lead = self.lead;
        let mut i = self.scanned.saturating_sub(2).max(lead);
        while let Some(off) = buf
            .get(i..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        {
            i += off;
            match (buf.get(i + 1), buf.get(i + 2)) {
                (Some(b'\n'), _) => return self.found(i + 2),
                (Some(b'\r'), Some(b'\n')) => return self.found(i + 3),
                (None, _) | (Some(b'\r'), None) => break,
                _ => i += 1,
            }
        }
        self.scanned = buf.len();
        if buf.len() > self.max_head_bytes {
            return Err(ProtoError::HeadTooLarge);
        }
        Ok(None)
    }

    fn found(&mut self, end: usize) -> Result<Option<usize>, ProtoError> {
        if end > self.max_head_bytes {
            return Err(ProtoError::HeadTooLarge);
        }
        Ok(Some(end))
    }
}
