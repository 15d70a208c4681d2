//! The on-disk form of the approximate index: one file next to the SQLite
//! store in the framing of [`snapshot`] (atomic replacement, a header
//! naming the store and change-log sequence, a checksum trailer), holding
//! every node's rowid, source, links and int8 codes.

use std::io::Write;
use std::path::Path;

use super::graph::GraphParams;
use super::{source_index, AnnIndex};
use crate::store::embedded::snapshot::{self, Header, Writer};
use crate::{Result, SourceType};

const MAGIC: &[u8; 8] = b"VQANN\0\0\x01";
const NO_ENTRY: u32 = u32::MAX;
const WHAT: &str = "vector index";

/// Writes `index` to `path` atomically.
pub(in crate::store::embedded) fn save(
    index: &AnnIndex,
    header: &Header,
    path: &Path,
) -> Result<()> {
    snapshot::save(path, WHAT, MAGIC, header, |w| write_body(w, index))
}

fn write_body<W: Write>(w: &mut Writer<W>, index: &AnnIndex) -> std::io::Result<()> {
    let g = &index.graph;
    w.u32(g.dimension as u32)?;
    w.u32(g.params.m as u32)?;
    w.u32(g.params.ef_construction as u32)?;
    w.u64(index.rowids.len() as u64)?;
    w.u32(g.entry.unwrap_or(NO_ENTRY))?;
    w.u64(g.rng)?;
    let capacity = g.params.m * 2;
    for slot in 0..index.rowids.len() {
        w.u64(index.rowids[slot] as u64)?;
        w.u8(source_index(index.sources[slot]) as u8)?;
        w.u8(u8::from(index.deleted[slot]))?;
        w.bytes(&g.scales[slot].to_le_bytes())?;
        w.u8(g.levels[slot])?;
        let used = g.base_len[slot] as usize;
        w.u8(used as u8)?;
        for link in &g.base_links[slot * capacity..slot * capacity + used] {
            w.u32(*link)?;
        }
        for layer in &g.upper_links[slot] {
            w.u8(layer.len() as u8)?;
            for link in layer {
                w.u32(*link)?;
            }
        }
        let codes = &g.codes[slot * g.dimension..(slot + 1) * g.dimension];
        let bytes: Vec<u8> = codes.iter().map(|c| *c as u8).collect();
        w.bytes(&bytes)?;
    }
    Ok(())
}

/// Reads the index at `path`. `Ok(None)` when there is no file; a
/// `Corrupt` error when it is damaged or was built for other settings.
pub(in crate::store::embedded) fn load(
    path: &Path,
    dimension: usize,
    params: GraphParams,
) -> Result<Option<(AnnIndex, Header)>> {
    let Some(snapshot::Opened {
        reader: mut r,
        header,
        file_len,
    }) = snapshot::open(path, WHAT, MAGIC)?
    else {
        return Ok(None);
    };
    let corrupt = |what: &str| snapshot::corrupt(path, what);
    let truncated = |e: std::io::Error| snapshot::unreadable(path, e);
    let dim = r.u32().map_err(truncated)? as usize;
    let m = r.u32().map_err(truncated)? as usize;
    let ef_construction = r.u32().map_err(truncated)? as usize;
    if dim != dimension || m != params.m || ef_construction != params.ef_construction {
        return Err(corrupt("built for another dimension or graph settings"));
    }
    let count = r.u64().map_err(truncated)? as usize;
    let entry = r.u32().map_err(truncated)?;
    let rng = r.u64().map_err(truncated)?;
    // Bound allocations by what the file can hold before trusting `count`.
    if count.saturating_mul(dim + 15) as u64 > file_len {
        return Err(corrupt("node count exceeds the file size"));
    }
    let mut index = AnnIndex::new(dim, params);
    let g = &mut index.graph;
    g.rng = rng;
    let capacity = m * 2;
    g.codes.reserve_exact(count * dim);
    g.base_links.reserve_exact(count * capacity);
    let mut code_bytes = vec![0u8; dim];
    for slot in 0..count {
        let rowid = r.u64().map_err(truncated)? as i64;
        let source = *SourceType::ALL
            .get(r.u8().map_err(truncated)? as usize)
            .ok_or_else(|| corrupt("unknown source type"))?;
        let deleted = r.u8().map_err(truncated)? != 0;
        let mut scale = [0u8; 4];
        r.fill(&mut scale).map_err(truncated)?;
        let level = r.u8().map_err(truncated)?;
        let used = r.u8().map_err(truncated)? as usize;
        if used > capacity || level > 15 {
            return Err(corrupt("node links out of range"));
        }
        let mut links = Vec::with_capacity(capacity);
        for _ in 0..used {
            links.push(r.u32().map_err(truncated)?);
        }
        links.resize(capacity, 0);
        g.base_links.extend_from_slice(&links);
        g.base_len.push(used as u8);
        let mut upper = Vec::with_capacity(level as usize);
        for _ in 0..level {
            let len = r.u8().map_err(truncated)? as usize;
            let mut layer = Vec::with_capacity(len);
            for _ in 0..len {
                layer.push(r.u32().map_err(truncated)?);
            }
            upper.push(layer);
        }
        g.upper_links.push(upper);
        g.levels.push(level);
        g.scales.push(f32::from_le_bytes(scale));
        r.fill(&mut code_bytes).map_err(truncated)?;
        g.codes.extend(code_bytes.iter().map(|b| *b as i8));
        index.rowids.push(rowid);
        index.sources.push(source);
        index.deleted.push(deleted);
        if !deleted {
            if index.slot_of.insert(rowid, slot as u32).is_some() {
                return Err(corrupt("a chunk appears twice"));
            }
            index.live_by_source[source_index(source)] += 1;
        }
    }
    snapshot::finish(r, path)?;
    let g = &mut index.graph;
    let in_range = |link: &u32| (*link as usize) < count;
    let links_ok =
        g.base_links.iter().all(in_range) && g.upper_links.iter().flatten().flatten().all(in_range);
    g.entry = match entry {
        NO_ENTRY => None,
        e if (e as usize) < count => Some(e),
        _ => return Err(corrupt("entry point out of range")),
    };
    if !links_ok || (count > 0 && g.entry.is_none()) {
        return Err(corrupt("links out of range"));
    }
    Ok(Some((index, header)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn sample() -> AnnIndex {
        let mut index = AnnIndex::new(8, GraphParams::default());
        for i in 0..200i64 {
            let v: Vec<f32> = (0..8)
                .map(|d| ((i * 31 + d * 7) % 17) as f32 - 8.0)
                .collect();
            index.insert(i * 3, SourceType::Slack, &v);
        }
        index.remove(9);
        index
    }

    #[test]
    fn round_trip_keeps_results_and_header() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", Path::new("."), e))?;
        let path = dir.path().join("vectors.ann");
        let index = sample();
        let header = Header {
            store_id: "abc".into(),
            seq: 42,
        };
        save(&index, &header, &path)?;
        let Some((loaded, read)) = load(&path, 8, GraphParams::default())? else {
            panic!("saved index not found");
        };
        assert_eq!(read, header);
        assert_eq!(loaded.len(), index.len());
        let q = [1.0, -2.0, 0.5, 3.0, 0.0, 1.0, -1.0, 2.0];
        assert_eq!(
            loaded.candidates(&q, 10, 32, super::super::AnnFilter::All),
            index.candidates(&q, 10, 32, super::super::AnnFilter::All)
        );
        Ok(())
    }

    #[test]
    fn damage_is_detected() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", Path::new("."), e))?;
        let path = dir.path().join("vectors.ann");
        let header = Header {
            store_id: "abc".into(),
            seq: 1,
        };
        save(&sample(), &header, &path)?;
        let mut bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        std::fs::write(&path, &bytes).map_err(|e| Error::io("write", &path, e))?;
        assert!(matches!(
            load(&path, 8, GraphParams::default()),
            Err(Error::Corrupt(_))
        ));
        std::fs::write(&path, &bytes[..middle]).map_err(|e| Error::io("write", &path, e))?;
        assert!(matches!(
            load(&path, 8, GraphParams::default()),
            Err(Error::Corrupt(_))
        ));
        assert!(matches!(
            load(&path, 16, GraphParams::default()),
            Err(Error::Corrupt(_))
        ));
        assert!(load(&dir.path().join("none"), 8, GraphParams::default())?.is_none());
        Ok(())
    }
}
