//! The keyword index's snapshot, in the framing of [`snapshot`]: every
//! slot (rowid, source, token count, live flag), then every term with its
//! postings as gaps between slots and frequencies, all varints, so a
//! posting mostly costs two bytes. Block bounds, the rowid map and the
//! totals are recomputed on load, and the file is checked for consistency
//! (sorted postings in range, document frequencies that match the live
//! slots) before it is trusted: a file that fails any check is rebuilt
//! from SQLite.

use std::io::Write;
use std::path::Path;

use super::{KeywordIndex, Postings};
use crate::store::embedded::keyword::STOP_WORDS;
use crate::store::embedded::snapshot::{self, Header, Writer};
use crate::{Result, SourceType};

const MAGIC: &[u8; 8] = b"VQBM25\0\x01";
const WHAT: &str = "keyword index";
/// Longest term a snapshot may hold (the analyzer keeps whole words).
const MAX_TERM_BYTES: u64 = 1 << 16;

/// Names the text analysis the terms came from: the stemmer and the stop
/// words. A snapshot written under other rules would not meet the terms
/// of today's queries, so it is rebuilt instead.
fn analyzer_fingerprint() -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let rules = std::iter::once("snowball-english-1").chain(STOP_WORDS.iter().copied());
    for word in rules {
        for b in word.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

fn source_index(source: SourceType) -> u8 {
    SourceType::ALL
        .iter()
        .position(|s| *s == source)
        .unwrap_or(SourceType::ALL.len() - 1) as u8
}

/// Writes `index` to `path` atomically.
pub(in crate::store::embedded) fn save(
    index: &KeywordIndex,
    header: &Header,
    path: &Path,
) -> Result<()> {
    snapshot::save(path, WHAT, MAGIC, header, |w| write_body(w, index))
}

fn write_body<W: Write>(w: &mut Writer<W>, index: &KeywordIndex) -> std::io::Result<()> {
    w.u64(analyzer_fingerprint())?;
    w.varint(index.rowids.len() as u64)?;
    for slot in 0..index.rowids.len() {
        // SQLite rowids of rows this store inserted are positive.
        w.varint(index.rowids[slot] as u64)?;
        w.u8(source_index(index.sources[slot]))?;
        w.varint(u64::from(index.lens[slot]))?;
        w.u8(u8::from(index.live[slot]))?;
    }
    let mut names = vec![""; index.postings.len()];
    for (term, id) in &index.terms {
        if let Some(name) = names.get_mut(*id as usize) {
            *name = term.as_str();
        }
    }
    w.varint(index.postings.len() as u64)?;
    for (name, list) in names.iter().zip(&index.postings) {
        w.varint(name.len() as u64)?;
        w.bytes(name.as_bytes())?;
        w.varint(u64::from(list.live_df))?;
        w.varint(list.slots.len() as u64)?;
        let mut previous = 0u32;
        for (i, (slot, tf)) in list.slots.iter().zip(&list.tfs).enumerate() {
            let gap = if i == 0 { *slot } else { slot - previous };
            w.varint(u64::from(gap))?;
            w.varint(u64::from(*tf))?;
            previous = *slot;
        }
    }
    Ok(())
}

/// Reads the index at `path`. `Ok(None)` when there is no file; a
/// `Corrupt` error when it is damaged, inconsistent or was written under
/// other analysis rules.
pub(in crate::store::embedded) fn load(path: &Path) -> Result<Option<(KeywordIndex, Header)>> {
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
    let to_u32 = |v: u64, what: &str| u32::try_from(v).map_err(|_| corrupt(what));
    if r.u64().map_err(truncated)? != analyzer_fingerprint() {
        return Err(corrupt("written under other text-analysis rules"));
    }
    // Every count is bounded by what the file can hold before it sizes an
    // allocation: a slot takes at least four bytes, a posting two.
    let slots = r.varint().map_err(truncated)?;
    if slots.saturating_mul(4) > file_len {
        return Err(corrupt("slot count exceeds the file size"));
    }
    let slots = to_u32(slots, "too many slots")? as usize;
    let mut index = KeywordIndex::default();
    index.rowids.reserve_exact(slots);
    index.sources.reserve_exact(slots);
    index.lens.reserve_exact(slots);
    index.live.reserve_exact(slots);
    for slot in 0..slots {
        let rowid = i64::try_from(r.varint().map_err(truncated)?)
            .map_err(|_| corrupt("rowid out of range"))?;
        let source = *SourceType::ALL
            .get(r.u8().map_err(truncated)? as usize)
            .ok_or_else(|| corrupt("unknown source type"))?;
        let len = to_u32(r.varint().map_err(truncated)?, "token count out of range")?;
        let live = match r.u8().map_err(truncated)? {
            0 => false,
            1 => true,
            _ => return Err(corrupt("bad live flag")),
        };
        index.rowids.push(rowid);
        index.sources.push(source);
        index.lens.push(len);
        index.live.push(live);
        if live {
            if index.slot_of.insert(rowid, slot as u32).is_some() {
                return Err(corrupt("a chunk appears twice"));
            }
            index.live_count += 1;
            index.live_tokens += u64::from(len);
        }
    }
    let terms = r.varint().map_err(truncated)?;
    if terms.saturating_mul(3) > file_len {
        return Err(corrupt("term count exceeds the file size"));
    }
    index.postings.reserve_exact(terms as usize);
    for id in 0..terms {
        let name_len = r.varint().map_err(truncated)?;
        if name_len > MAX_TERM_BYTES {
            return Err(corrupt("term too long"));
        }
        let mut name = vec![0u8; name_len as usize];
        r.fill(&mut name).map_err(truncated)?;
        let name = String::from_utf8(name).map_err(|_| corrupt("term is not text"))?;
        if index.terms.insert(name, id as u32).is_some() {
            return Err(corrupt("a term appears twice"));
        }
        let live_df = to_u32(r.varint().map_err(truncated)?, "document frequency")?;
        let count = r.varint().map_err(truncated)?;
        if count > slots as u64 {
            return Err(corrupt("more postings than slots"));
        }
        let mut list = Postings::default();
        list.slots.reserve_exact(count as usize);
        list.tfs.reserve_exact(count as usize);
        let mut live_seen = 0u32;
        let mut previous: Option<u32> = None;
        for _ in 0..count {
            let gap = to_u32(r.varint().map_err(truncated)?, "posting out of range")?;
            let slot = match previous {
                None => gap,
                Some(_) if gap == 0 => return Err(corrupt("postings out of order")),
                Some(p) => p
                    .checked_add(gap)
                    .ok_or_else(|| corrupt("posting overflow"))?,
            };
            let Some(&len) = index.lens.get(slot as usize) else {
                return Err(corrupt("posting names a slot that does not exist"));
            };
            let tf = to_u32(r.varint().map_err(truncated)?, "term frequency")?;
            if tf == 0 {
                return Err(corrupt("zero term frequency"));
            }
            list.push(slot, tf, len);
            live_seen += u32::from(index.live[slot as usize]);
            previous = Some(slot);
        }
        if live_seen != live_df {
            return Err(corrupt("document frequency does not match the postings"));
        }
        list.live_df = live_df;
        index.postings.push(list);
    }
    snapshot::finish(r, path)?;
    Ok(Some((index, header)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn sample() -> KeywordIndex {
        let mut index = KeywordIndex::default();
        for i in 0..300i64 {
            let text = format!(
                "runbook {i} restart the {} service after the certificate rotation {}",
                ["postgres", "nginx", "kafka", "redis"][i as usize % 4],
                "again ".repeat(i as usize % 5)
            );
            index.insert(i * 2 + 1, SourceType::ALL[i as usize % 6], &text);
        }
        // Tombstones and replacements survive the round trip too.
        index.remove(
            5,
            "runbook 2 restart the kafka service after the certificate rotation again again ",
        );
        index.remove_without_text(&[7, 9, 11]);
        index.insert(
            11,
            SourceType::Jira,
            "a replaced certificate runbook for kafka",
        );
        index
    }

    fn dir() -> Result<tempfile::TempDir> {
        tempfile::tempdir().map_err(|e| Error::io("tempdir", Path::new("."), e))
    }

    #[test]
    fn round_trip_ranks_exactly_like_the_original() -> Result<()> {
        let dir = dir()?;
        let path = dir.path().join("keywords.bm25");
        let mut index = sample();
        let header = Header {
            store_id: "abc".into(),
            seq: 42,
        };
        save(&index, &header, &path)?;
        let Some((mut loaded, read)) = load(&path)? else {
            panic!("saved index not found");
        };
        assert_eq!(read, header);
        assert_eq!(loaded.len(), index.len());
        for query in [
            "certificate rotation",
            "kafka restart",
            "postgres again",
            "nothing",
        ] {
            assert_eq!(
                loaded.search(query, 10, &|_, _| true),
                index.search(query, 10, &|_, _| true),
                "{query}"
            );
        }
        // And it keeps working as an index: later changes land alike.
        for target in [&mut index, &mut loaded] {
            target.insert(1001, SourceType::Slack, "kafka certificate expired");
            target.remove(
                3,
                "runbook 1 restart the nginx service after the certificate rotation again ",
            );
        }
        assert_eq!(
            loaded.search("kafka certificate", 20, &|_, _| true),
            index.search("kafka certificate", 20, &|_, _| true)
        );
        Ok(())
    }

    #[test]
    fn damage_is_detected() -> Result<()> {
        let dir = dir()?;
        let path = dir.path().join("keywords.bm25");
        let header = Header {
            store_id: "abc".into(),
            seq: 1,
        };
        save(&sample(), &header, &path)?;
        let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
        for at in [40, bytes.len() / 3, bytes.len() / 2, bytes.len() - 3] {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x21;
            std::fs::write(&path, &damaged).map_err(|e| Error::io("write", &path, e))?;
            assert!(matches!(load(&path), Err(Error::Corrupt(_))), "byte {at}");
        }
        std::fs::write(&path, &bytes[..bytes.len() / 2])
            .map_err(|e| Error::io("write", &path, e))?;
        assert!(matches!(load(&path), Err(Error::Corrupt(_))));
        assert!(load(&dir.path().join("none"))?.is_none());
        Ok(())
    }
}
