//! Symmetric int8 quantisation of one vector with its own scale: a 384-d
//! vector takes 388 bytes instead of 1,536, and the dot product of two
//! codes (times both scales) approximates the f32 dot product closely
//! enough to pick candidates, which are then rescored exactly.

/// Largest code magnitude; -128 is never used so negation stays exact.
const LEVELS: f32 = 127.0;

/// Appends the codes of `vector` to `out` and returns its scale (the value
/// of one code step); a zero vector gets scale 0.
pub(super) fn quantise_into(vector: &[f32], out: &mut Vec<i8>) -> f32 {
    let peak = vector.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if peak == 0.0 || !peak.is_finite() {
        out.extend(std::iter::repeat_n(0i8, vector.len()));
        return 0.0;
    }
    let inverse = LEVELS / peak;
    out.extend(
        vector
            .iter()
            .map(|x| (x * inverse).round().clamp(-LEVELS, LEVELS) as i8),
    );
    peak / LEVELS
}

/// Integer dot product of two codes. The loop is compiled once per
/// instruction set by `pulp` and picked at run time: built for the
/// baseline x86-64 target, LLVM has no widening multiply-add for bytes and
/// this loop (most of the graph's build and search time) runs several
/// times slower than with AVX2 or AVX-512, all without `unsafe`.
pub(super) fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    static ARCH: std::sync::OnceLock<pulp::Arch> = std::sync::OnceLock::new();
    ARCH.get_or_init(pulp::Arch::new).dispatch(DotI8 { a, b })
}

struct DotI8<'a> {
    a: &'a [i8],
    b: &'a [i8],
}

impl pulp::WithSimd for DotI8<'_> {
    type Output = i32;

    // Inlined into each of pulp's per-instruction-set entry points, so each
    // gets its own vectorised copy of the loop.
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> i32 {
        dot_lanes(self.a, self.b)
    }
}

/// The dot product in sixteen independent lanes so LLVM vectorises it.
/// 384 x 127 x 127 fits an i32 with room to spare (the sum is bounded by
/// 6.2 million per 384 values).
#[inline(always)]
fn dot_lanes(a: &[i8], b: &[i8]) -> i32 {
    let mut lanes = [0i32; 16];
    let mut a_chunks = a.chunks_exact(16);
    let mut b_chunks = b.chunks_exact(16);
    for (x, y) in (&mut a_chunks).zip(&mut b_chunks) {
        for i in 0..16 {
            lanes[i] += i32::from(x[i]) * i32::from(y[i]);
        }
    }
    let tail: i32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| i32::from(*x) * i32::from(*y))
        .sum();
    lanes.iter().sum::<i32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_approximate_the_dot_product() {
        let a: Vec<f32> = (0..384)
            .map(|i| ((i * 7 % 13) as f32 - 6.0) / 30.0)
            .collect();
        let b: Vec<f32> = (0..384)
            .map(|i| ((i * 5 % 11) as f32 - 5.0) / 25.0)
            .collect();
        let exact: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        let (mut qa, mut qb) = (Vec::new(), Vec::new());
        let sa = quantise_into(&a, &mut qa);
        let sb = quantise_into(&b, &mut qb);
        let approx = dot_i8(&qa, &qb) as f32 * sa * sb;
        assert!(
            (exact - approx).abs() < 0.01 * exact.abs().max(1.0),
            "{exact} vs {approx}"
        );
    }

    #[test]
    fn zero_and_tails_are_handled() {
        let mut codes = Vec::new();
        assert_eq!(quantise_into(&[0.0; 5], &mut codes), 0.0);
        assert_eq!(codes, [0i8; 5]);
        let a: Vec<i8> = (0..19).map(|i| i as i8 - 9).collect();
        let expected: i32 = a.iter().map(|x| i32::from(*x) * i32::from(*x)).sum();
        assert_eq!(dot_i8(&a, &a), expected);
    }
}
