//! The on-disk form of a vector, shared by the store and the embedding
//! cache: little-endian `f32`s, four bytes each.

/// A vector as bytes.
pub(crate) fn encode(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Decodes `blob` into `out`; false (and `out` untouched) when the blob
/// does not hold exactly `dimension` values.
pub(crate) fn decode_into(blob: &[u8], dimension: usize, out: &mut Vec<f32>) -> bool {
    if blob.len() != dimension * 4 {
        return false;
    }
    out.clear();
    out.extend(
        blob.chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks_the_length() {
        let v = [1.5f32, -0.25, 3.0];
        let mut out = Vec::new();
        assert!(decode_into(&encode(&v), 3, &mut out));
        assert_eq!(out, v);
        assert!(!decode_into(&encode(&v), 4, &mut out));
    }
}
