//! W3C Trace Context (`traceparent`), so one resident's request can be followed through
//! portal, process layer, exchange and register, and so the processing log can tie its
//! records together.

use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId([u8; 16]);

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanId([u8; 8]);

/// Our position in a trace: the trace, the span we are in, and the span that called us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub sampled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid traceparent header")]
pub struct TraceparentError;

impl TraceId {
    pub fn random() -> Self {
        loop {
            let bytes: [u8; 16] = rand::random();
            if bytes != [0; 16] {
                return Self(bytes);
            }
        }
    }
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl SpanId {
    pub fn random() -> Self {
        loop {
            let bytes: [u8; 8] = rand::random();
            if bytes != [0; 8] {
                return Self(bytes);
            }
        }
    }
    pub fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}
impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}
impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}
impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

/// Lowercase hex in one write: ids are formatted for every log record.
fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buffer = [0u8; 32];
    for (i, byte) in bytes.iter().take(16).enumerate() {
        buffer[2 * i] = DIGITS[usize::from(byte >> 4)];
        buffer[2 * i + 1] = DIGITS[usize::from(byte & 0x0f)];
    }
    let text = std::str::from_utf8(&buffer[..2 * bytes.len().min(16)]).map_err(|_| fmt::Error)?;
    f.write_str(text)
}

impl TraceContext {
    /// Start a new trace: nobody called us with a (valid) traceparent.
    pub fn new_root() -> Self {
        Self {
            trace_id: TraceId::random(),
            span_id: SpanId::random(),
            parent_span_id: None,
            sampled: true,
        }
    }

    /// Continue the caller's trace in a new span of our own.
    pub fn child_of(parent: &TraceContext) -> Self {
        Self {
            trace_id: parent.trace_id,
            span_id: SpanId::random(),
            parent_span_id: Some(parent.span_id),
            sampled: parent.sampled,
        }
    }

    /// Parse a `traceparent` header (version 00; higher versions are read as 00, as the
    /// spec asks, as long as the first four fields are well formed).
    pub fn parse_traceparent(header: &str) -> Result<Self, TraceparentError> {
        let header = header.trim();
        let mut parts = header.split('-');
        let (Some(version), Some(trace), Some(span), Some(flags)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TraceparentError);
        };
        let version = decode_hex::<1>(version)?[0];
        if version == 0xff || (version == 0 && parts.next().is_some()) {
            return Err(TraceparentError);
        }
        let trace_id = decode_hex::<16>(trace)?;
        let span_id = decode_hex::<8>(span)?;
        let flags = decode_hex::<1>(flags)?[0];
        if trace_id == [0; 16] || span_id == [0; 8] {
            return Err(TraceparentError);
        }
        Ok(Self {
            trace_id: TraceId(trace_id),
            span_id: SpanId(span_id),
            parent_span_id: None,
            sampled: flags & 1 == 1,
        })
    }

    /// The header to send on an outgoing call made from within this span.
    pub fn to_traceparent(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            self.trace_id,
            self.span_id,
            u8::from(self.sampled)
        )
    }
}

fn decode_hex<const N: usize>(text: &str) -> Result<[u8; N], TraceparentError> {
    let bytes = text.as_bytes();
    if bytes.len() != N * 2 {
        return Err(TraceparentError);
    }
    let mut out = [0u8; N];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *slot = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
    }
    Ok(out)
}

// The spec allows lowercase hex only.
fn hex_value(byte: u8) -> Result<u8, TraceparentError> {
    match byte {
        b'0'..=b'9' => Ok(byte - b'0'),
        b'a'..=b'f' => Ok(byte - b'a' + 10),
        _ => Err(TraceparentError),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_the_spec_example() {
        let ctx = TraceContext::parse_traceparent(EXAMPLE).unwrap();
        assert_eq!(ctx.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(ctx.span_id.to_string(), "00f067aa0ba902b7");
        assert!(ctx.sampled);
        assert_eq!(ctx.to_traceparent(), EXAMPLE);
    }

    #[test]
    fn a_child_keeps_the_trace_and_points_at_its_parent() {
        let parent = TraceContext::parse_traceparent(EXAMPLE).unwrap();
        let child = TraceContext::child_of(&parent);
        assert_eq!(child.trace_id, parent.trace_id);
        assert_eq!(child.parent_span_id, Some(parent.span_id));
        assert_ne!(child.span_id, parent.span_id);
    }

    #[test]
    fn refuses_malformed_headers() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert!(
                TraceContext::parse_traceparent(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn future_versions_are_read_as_version_00() {
        let future = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-whatever";
        assert!(TraceContext::parse_traceparent(future).is_ok());
    }

    proptest! {
        #[test]
        fn parse_never_panics(input in "\\PC{0,80}") {
            let _ = TraceContext::parse_traceparent(&input);
        }

        #[test]
        fn formatted_contexts_parse_back(trace in any::<[u8; 16]>(), span in any::<[u8; 8]>(), sampled: bool) {
            prop_assume!(trace != [0; 16] && span != [0; 8]);
            let ctx = TraceContext { trace_id: TraceId(trace), span_id: SpanId(span), parent_span_id: None, sampled };
            prop_assert_eq!(TraceContext::parse_traceparent(&ctx.to_traceparent()).unwrap(), ctx);
        }
    }
}
