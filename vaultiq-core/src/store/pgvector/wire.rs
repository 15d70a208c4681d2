//! Binary wire formats PostgreSQL's client library does not know: pgvector's
//! `vector` and `jsonb` (written from text we already serialised).

use bytes::{Buf, BufMut, BytesMut};
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// A borrowed vector sent as pgvector's binary `vector`: dimension (u16),
/// an unused u16, then big-endian f32s (pgvector `vector_send`).
#[derive(Debug)]
pub(crate) struct VectorParam<'a>(pub &'a [f32]);

impl ToSql for VectorParam<'_> {
    fn to_sql(&self, _ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let dimension = u16::try_from(self.0.len())
            .map_err(|_| format!("vector of {} dimensions is too long", self.0.len()))?;
        out.reserve(4 + 4 * self.0.len());
        out.put_u16(dimension);
        out.put_u16(0);
        for value in self.0 {
            out.put_f32(*value);
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        ty.name() == "vector"
    }

    to_sql_checked!();
}

/// A vector read back from a `vector` column.
#[derive(Debug)]
pub(crate) struct VectorValue(pub Vec<f32>);

impl<'a> FromSql<'a> for VectorValue {
    fn from_sql(_ty: &Type, mut raw: &'a [u8]) -> Result<Self, BoxError> {
        if raw.len() < 4 {
            return Err("vector value is shorter than its header".into());
        }
        let dimension = usize::from(raw.get_u16());
        let _unused = raw.get_u16();
        if raw.len() != dimension * 4 {
            return Err(format!(
                "vector value holds {} bytes for {dimension} dimensions",
                raw.len()
            )
            .into());
        }
        let mut values = Vec::with_capacity(dimension);
        for _ in 0..dimension {
            values.push(raw.get_f32());
        }
        Ok(VectorValue(values))
    }

    fn accepts(ty: &Type) -> bool {
        ty.name() == "vector"
    }
}

/// JSON text sent as binary `jsonb` (format version 1, then the text).
#[derive(Debug)]
pub(crate) struct JsonbParam(pub String);

impl ToSql for JsonbParam {
    fn to_sql(&self, _ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        out.put_u8(1);
        out.put_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSONB
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn vector_round_trips_through_the_binary_format() {
        let ty = Type::FLOAT4_ARRAY; // any type: the codec ignores it
        let mut out = BytesMut::new();
        VectorParam(&[1.0, -0.5, 0.25])
            .to_sql(&ty, &mut out)
            .unwrap();
        assert_eq!(&out[..4], &[0, 3, 0, 0]);
        let back = VectorValue::from_sql(&ty, &out).unwrap();
        assert_eq!(back.0, vec![1.0, -0.5, 0.25]);
        assert!(VectorValue::from_sql(&ty, &out[..7]).is_err());
    }
}
