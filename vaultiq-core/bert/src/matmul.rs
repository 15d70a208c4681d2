//! Matrix products on the `gemm` crate behind a bounds-checked, safe API.
//!
//! `gemm` takes raw pointers and strides. This is the one place in the
//! crate that calls it: every view is checked against the length of its
//! slice before the call, so the unsafe block cannot read or write outside
//! the buffers it was given, and `&`/`&mut` borrows rule out aliasing
//! between the destination and the operands.
#![allow(unsafe_code)]

use gemm::Parallelism;

use crate::{Error, Result};

/// A read-only matrix view: element (r, c) is `data[r * row_stride + c * col_stride]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A strided view; fails if any element would fall outside `data`.
    pub(crate) fn new(
        data: &'a [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Result<Self> {
        check_extent(data.len(), rows, cols, row_stride, col_stride)?;
        Ok(MatRef {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        })
    }

    /// A dense row-major view.
    pub(crate) fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Result<Self> {
        Self::new(data, rows, cols, cols, 1)
    }

    /// The same elements read as the transpose.
    pub(crate) fn transposed(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }
}

/// A writable matrix view with contiguous rows `row_stride` apart.
#[derive(Debug)]
pub(crate) struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
}

impl<'a> MatMut<'a> {
    /// A strided view; fails if any element would fall outside `data`.
    pub(crate) fn new(
        data: &'a mut [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
    ) -> Result<Self> {
        // Overlapping rows would make gemm write one element twice.
        if rows > 1 && row_stride < cols {
            return Err(Error::model(format!(
                "internal writable view has row stride {row_stride} < {cols} columns"
            )));
        }
        check_extent(data.len(), rows, cols, row_stride, 1)?;
        Ok(MatMut {
            data,
            rows,
            cols,
            row_stride,
        })
    }

    /// A dense row-major view.
    pub(crate) fn row_major(data: &'a mut [f32], rows: usize, cols: usize) -> Result<Self> {
        Self::new(data, rows, cols, cols)
    }
}

/// `dst = scale * lhs * rhs`, on the calling thread (callers parallelise
/// over sequences, which scales better than splitting each product).
pub(crate) fn matmul(dst: MatMut<'_>, lhs: MatRef<'_>, rhs: MatRef<'_>, scale: f32) -> Result<()> {
    if lhs.rows != dst.rows || rhs.cols != dst.cols || lhs.cols != rhs.rows {
        return Err(Error::model(format!(
            "internal shape mismatch: ({}x{}) * ({}x{}) into ({}x{})",
            lhs.rows, lhs.cols, rhs.rows, rhs.cols, dst.rows, dst.cols
        )));
    }
    if dst.rows == 0 || dst.cols == 0 {
        return Ok(());
    }
    if lhs.cols == 0 {
        for r in 0..dst.rows {
            let start = r * dst.row_stride;
            dst.data[start..start + dst.cols].fill(0.0);
        }
        return Ok(());
    }
    let (m, n, k) = (dst.rows, dst.cols, lhs.cols);
    // SAFETY: `check_extent` proved that every (row, col) of each view lies
    // inside its slice, and the dimensions agree, so gemm's reads of
    // lhs/rhs and writes of dst stay in bounds. `dst` is borrowed mutably
    // and the operands shared, so they cannot overlap. Strides fit in
    // isize because they index existing slices. `read_dst = false` means
    // the previous contents of `dst` are ignored (alpha unused).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.data.as_mut_ptr(),
            1,
            dst.row_stride as isize,
            false,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            0.0,
            scale,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
    Ok(())
}

/// Fails unless the last element of a `rows x cols` view is inside a slice
/// of `len` elements (the largest index of a view with non-negative strides).
fn check_extent(
    len: usize,
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    let last = (rows - 1).checked_mul(row_stride).and_then(|r| {
        (cols - 1)
            .checked_mul(col_stride)
            .and_then(|c| r.checked_add(c))
    });
    match last {
        Some(last) if last < len && last <= isize::MAX as usize => Ok(()),
        _ => Err(Error::model(format!(
            "internal view {rows}x{cols} (strides {row_stride}, {col_stride}) exceeds a buffer of {len}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn matches_naive_product_including_transposed_and_strided_views() {
        let (m, k, n) = (7, 5, 9);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let expected = naive(&a, &b, m, k, n);
        let mut c = vec![0.0; m * n];
        let lhs = MatRef::row_major(&a, m, k).unwrap();
        let rhs = MatRef::row_major(&b, k, n).unwrap();
        matmul(MatMut::row_major(&mut c, m, n).unwrap(), lhs, rhs, 2.0).unwrap();
        for (x, y) in c.iter().zip(&expected) {
            assert!((x - 2.0 * y).abs() < 1e-4);
        }
        // b stored transposed (n x k), read back as k x n.
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        let rhs = MatRef::row_major(&bt, n, k).unwrap().transposed();
        // Write into the left columns of a wider buffer.
        let mut wide = vec![-1.0; m * (n + 3)];
        matmul(MatMut::new(&mut wide, m, n, n + 3).unwrap(), lhs, rhs, 1.0).unwrap();
        for i in 0..m {
            for j in 0..n {
                assert!((wide[i * (n + 3) + j] - expected[i * n + j]).abs() < 1e-4);
            }
            assert_eq!(wide[i * (n + 3) + n], -1.0, "padding columns untouched");
        }
    }

    #[test]
    fn out_of_bounds_views_and_bad_shapes_are_errors() {
        let a = vec![0.0; 10];
        assert!(MatRef::row_major(&a, 3, 4).is_err());
        assert!(MatRef::new(&a, 2, 2, usize::MAX, 1).is_err());
        let mut c = vec![0.0; 4];
        let lhs = MatRef::row_major(&a, 2, 5).unwrap();
        let rhs = MatRef::row_major(&a, 2, 5).unwrap();
        assert!(matmul(MatMut::row_major(&mut c, 2, 2).unwrap(), lhs, rhs, 1.0).is_err());
    }
}
