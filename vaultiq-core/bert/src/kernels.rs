//! The element-wise parts of the encoder: bias + GELU, residual + layer
//! norm, softmax.
//!
//! The loops are plain safe Rust written so LLVM vectorises them (no
//! branches in the per-element math, reductions split into independent
//! lanes). `pulp` compiles each one for the best instruction set the CPU
//! has (AVX-512 on x86-64-v4, AVX2+FMA on v3) and picks it at run time, so
//! the binary stays portable and the code needs no `unsafe`.

/// Independent partial sums per reduction: enough for one AVX-512 register.
const LANES: usize = 16;

/// Runs the kernels with the widest SIMD the CPU supports.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kernels {
    arch: pulp::Arch,
}

/// Declares a kernel as a `pulp::WithSimd` operation. The body sits in an
/// `#[inline(always)]` generic method, so pulp's per-instruction-set entry
/// points each get their own copy compiled for their target features (a
/// closure would be one shared, baseline-compiled function).
macro_rules! simd_kernel {
    ($name:ident { $($field:ident: $ty:ty),* $(,)? } |$this:ident| $body:block) => {
        struct $name<'a> {
            $($field: $ty,)*
        }

        impl pulp::WithSimd for $name<'_> {
            type Output = ();

            #[inline(always)]
            fn with_simd<S: pulp::Simd>(self, _simd: S) {
                let $this = self;
                $body
            }
        }
    };
}

simd_kernel!(BiasGelu { rows: &'a mut [f32], bias: &'a [f32] } |op| {
    for row in op.rows.chunks_exact_mut(op.bias.len()) {
        for (x, b) in row.iter_mut().zip(op.bias) {
            *x = gelu(*x + b);
        }
    }
});

simd_kernel!(AddBias { rows: &'a mut [f32], bias: &'a [f32] } |op| {
    for row in op.rows.chunks_exact_mut(op.bias.len()) {
        for (x, b) in row.iter_mut().zip(op.bias) {
            *x += b;
        }
    }
});

simd_kernel!(ResidualLayerNorm {
    x: &'a mut [f32],
    delta: &'a [f32],
    bias: &'a [f32],
    norm: &'a LayerNormParams<'a>,
} |op| {
    let width = op.norm.gamma.len();
    for (row, d) in op.x.chunks_exact_mut(width).zip(op.delta.chunks_exact(width)) {
        for ((x, d), b) in row.iter_mut().zip(d).zip(op.bias) {
            *x += d + b;
        }
        normalise_row(row, op.norm);
    }
});

simd_kernel!(LayerNormRows { x: &'a mut [f32], norm: &'a LayerNormParams<'a> } |op| {
    for row in op.x.chunks_exact_mut(op.norm.gamma.len()) {
        normalise_row(row, op.norm);
    }
});

simd_kernel!(SoftmaxRows { scores: &'a mut [f32], cols: usize } |op| {
    for row in op.scores.chunks_exact_mut(op.cols) {
        let max = max_of(row);
        for x in row.iter_mut() {
            *x = exp(*x - max);
        }
        let inv = 1.0 / sum_of(row);
        for x in row.iter_mut() {
            *x *= inv;
        }
    }
});

impl Kernels {
    /// Detects the CPU's features once.
    pub(crate) fn new() -> Self {
        Kernels {
            arch: pulp::Arch::new(),
        }
    }

    /// `rows[i] = gelu(rows[i] + bias[i % bias.len()])`, the exact (erf)
    /// GELU of BERT's `hidden_act = "gelu"`.
    pub(crate) fn bias_gelu(&self, rows: &mut [f32], bias: &[f32]) {
        self.arch.dispatch(BiasGelu { rows, bias });
    }

    /// `rows[i] += bias[i % bias.len()]`.
    pub(crate) fn add_bias(&self, rows: &mut [f32], bias: &[f32]) {
        self.arch.dispatch(AddBias { rows, bias });
    }

    /// Post-norm residual block end: `x = layer_norm(x + delta + bias)` per
    /// row of `gamma.len()` values.
    pub(crate) fn residual_layer_norm(
        &self,
        x: &mut [f32],
        delta: &[f32],
        bias: &[f32],
        norm: &LayerNormParams<'_>,
    ) {
        self.arch.dispatch(ResidualLayerNorm {
            x,
            delta,
            bias,
            norm,
        });
    }

    /// `x = layer_norm(x)` per row of `gamma.len()` values.
    pub(crate) fn layer_norm(&self, x: &mut [f32], norm: &LayerNormParams<'_>) {
        self.arch.dispatch(LayerNormRows { x, norm });
    }

    /// Softmax of each row of `cols` values, in place.
    pub(crate) fn softmax_rows(&self, scores: &mut [f32], cols: usize) {
        self.arch.dispatch(SoftmaxRows { scores, cols });
    }
}

/// Scale, shift and epsilon of one layer norm.
#[derive(Debug)]
pub(crate) struct LayerNormParams<'a> {
    pub(crate) gamma: &'a [f32],
    pub(crate) beta: &'a [f32],
    pub(crate) eps: f32,
}

#[inline(always)]
fn normalise_row(row: &mut [f32], norm: &LayerNormParams<'_>) {
    let n = row.len() as f32;
    let mean = sum_of(row) / n;
    let mut lanes = [0.0f32; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (lane, x) in lanes.iter_mut().zip(chunk) {
            let d = x - mean;
            *lane += d * d;
        }
    }
    let tail: f32 = chunks
        .remainder()
        .iter()
        .map(|x| (x - mean) * (x - mean))
        .sum();
    let variance = (lanes.iter().sum::<f32>() + tail) / n;
    let inv = 1.0 / (variance + norm.eps).sqrt();
    for ((x, g), b) in row.iter_mut().zip(norm.gamma).zip(norm.beta) {
        *x = (*x - mean) * inv * g + b;
    }
}

#[inline(always)]
fn sum_of(xs: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (lane, x) in lanes.iter_mut().zip(chunk) {
            *lane += x;
        }
    }
    lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

#[inline(always)]
fn max_of(xs: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (lane, x) in lanes.iter_mut().zip(chunk) {
            *lane = lane.max(*x);
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, x| m.max(*x));
    lanes.iter().fold(tail, |m, x| m.max(*x))
}

/// `e^x` to within ~2 ulp for x in [-87, 88] (clamped outside, which
/// softmax and GELU never notice): `2^n * e^r` with `r` in [-ln2/2, ln2/2]
/// and a degree-6 Taylor polynomial for `e^r`.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    // 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits.
    const ROUNDER: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUNDER;
    let n = shifted - ROUNDER;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // The low bits of `shifted` are n (two's complement); the ROUNDER's own
    // bits are shifted out, so this builds the float 2^n directly.
    let two_n = f32::from_bits(shifted.to_bits().wrapping_add(127) << 23);
    p * two_n
}

/// `erf` by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7).
#[inline(always)]
pub(crate) fn erf(z: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A1: f32 = 0.254_829_6;
    const A2: f32 = -0.284_496_74;
    const A3: f32 = 1.421_413_7;
    const A4: f32 = -1.453_152_1;
    const A5: f32 = 1.061_405_4;
    let a = z.abs();
    let t = 1.0 / (1.0 + P * a);
    let poly = t * (A1 + t * (A2 + t * (A3 + t * (A4 + t * A5))));
    (1.0 - poly * exp(-a * a)).copysign(z)
}

/// GELU as BERT defines it: `x * Phi(x) = x/2 * (1 + erf(x / sqrt 2))`.
#[inline(always)]
pub(crate) fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_accurate_over_the_range_softmax_and_gelu_use() {
        let mut worst = 0.0f64;
        for i in 0..=20_000 {
            let x = -80.0 + i as f32 * 0.0084;
            let got = exp(x) as f64;
            let want = (x as f64).exp();
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(worst < 5e-7, "relative error {worst}");
        assert!((0.0..1e-37).contains(&exp(-1000.0)));
        assert!(exp(1000.0).is_finite());
    }

    #[test]
    fn gelu_matches_the_erf_definition() {
        // erf from its Maclaurin series in f64, exact enough for |z| <= 3.
        fn erf64(z: f64) -> f64 {
            let mut term = z;
            let mut sum = z;
            for n in 1..200 {
                term *= -z * z / n as f64;
                sum += term / (2 * n + 1) as f64;
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        }
        for i in 0..=800 {
            let x = -4.0 + i as f64 * 0.01;
            let want = 0.5 * x * (1.0 + erf64(x / std::f64::consts::SQRT_2));
            let got = gelu(x as f32) as f64;
            assert!((got - want).abs() < 1e-6, "gelu({x}) = {got}, want {want}");
        }
        assert_eq!(gelu(-30.0), 0.0);
        assert_eq!(gelu(30.0), 30.0);
    }

    #[test]
    fn softmax_and_layer_norm_rows() {
        let k = Kernels::new();
        let mut s: Vec<f32> = (0..40).map(|i| (i % 20) as f32 * 0.3).collect();
        k.softmax_rows(&mut s, 20);
        for row in s.chunks(20) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert!(row[19] > row[0]);
        }
        let gamma = vec![2.0; 37];
        let beta = vec![1.0; 37];
        let norm = LayerNormParams {
            gamma: &gamma,
            beta: &beta,
            eps: 1e-12,
        };
        let mut x: Vec<f32> = (0..37).map(|i| i as f32).collect();
        let delta = vec![0.5; 37];
        let bias = vec![0.5; 37];
        k.residual_layer_norm(&mut x, &delta, &bias, &norm);
        let mean: f32 = x.iter().sum::<f32>() / 37.0;
        let var: f32 = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / 37.0;
        assert!((mean - 1.0).abs() < 1e-5, "{mean}");
        assert!((var - 4.0).abs() < 1e-3, "{var}");
    }
}
