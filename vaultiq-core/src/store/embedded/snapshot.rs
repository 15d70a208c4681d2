//! The file framing the embedded store's derived indexes are saved in: a
//! magic number naming the format and version, a header naming the store
//! and the change-log sequence the snapshot reflects, the body, and an
//! FNV-1a checksum trailer that catches torn or damaged files. Files are
//! replaced atomically (write a temporary file, fsync, rename, fsync the
//! directory), so a crash leaves the old snapshot or the new one, never
//! half of one. A damaged snapshot is rebuilt from SQLite, never trusted.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use crate::{Error, Result};

/// What a saved snapshot says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Header {
    /// `meta.store_id` of the SQLite store it was built from.
    pub store_id: String,
    /// The last change-log sequence number it reflects.
    pub seq: i64,
}

/// FNV-1a over every byte, cheap enough for a file read once per open.
struct Checksum(u64);

impl Checksum {
    fn new() -> Self {
        Checksum(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Writes little-endian integers and LEB128 varints, checksumming them.
pub(super) struct Writer<W: Write> {
    inner: W,
    sum: Checksum,
}

impl<W: Write> Writer<W> {
    pub(super) fn bytes(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.sum.update(bytes);
        self.inner.write_all(bytes)
    }
    pub(super) fn u8(&mut self, v: u8) -> std::io::Result<()> {
        self.bytes(&[v])
    }
    pub(super) fn u32(&mut self, v: u32) -> std::io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    pub(super) fn u64(&mut self, v: u64) -> std::io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    /// An unsigned LEB128 varint: small numbers (gaps between sorted ids,
    /// term frequencies) take one byte.
    pub(super) fn varint(&mut self, mut v: u64) -> std::io::Result<()> {
        let mut buf = [0u8; 10];
        let mut n = 0;
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                buf[n] = byte;
                n += 1;
                break;
            }
            buf[n] = byte | 0x80;
            n += 1;
        }
        self.bytes(&buf[..n])
    }
}

/// Reads what [`Writer`] wrote, checksumming it.
pub(super) struct Reader<R: Read> {
    inner: R,
    sum: Checksum,
}

impl<R: Read> Reader<R> {
    pub(super) fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        self.inner.read_exact(buf)?;
        self.sum.update(buf);
        Ok(())
    }
    pub(super) fn u8(&mut self) -> std::io::Result<u8> {
        let mut b = [0u8; 1];
        self.fill(&mut b)?;
        Ok(b[0])
    }
    pub(super) fn u32(&mut self) -> std::io::Result<u32> {
        let mut b = [0u8; 4];
        self.fill(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    pub(super) fn u64(&mut self) -> std::io::Result<u64> {
        let mut b = [0u8; 8];
        self.fill(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    pub(super) fn varint(&mut self) -> std::io::Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "varint longer than 64 bits",
        ))
    }
}

/// Writes `magic`, `header` and the body `write_body` produces to `path`
/// atomically; `what` names the index in errors.
pub(super) fn save(
    path: &Path,
    what: &str,
    magic: &[u8; 8],
    header: &Header,
    write_body: impl FnOnce(&mut Writer<BufWriter<File>>) -> std::io::Result<()>,
) -> Result<()> {
    // A name of this writer's own: two processes saving at once must not
    // interleave their bytes in one temporary file.
    static SAVES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let serial = SAVES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temporary = path.with_extension(format!("{}-{serial}.tmp", std::process::id()));
    let written = write_file(&temporary, what, magic, header, write_body).and_then(|()| {
        std::fs::rename(&temporary, path)
            .map_err(|e| Error::io(&format!("cannot replace the {what}"), path, e))
    });
    if written.is_err() {
        // Leave no half-written file behind; the old snapshot stays.
        let _ = std::fs::remove_file(&temporary);
    }
    written?;
    // The rename itself must survive a power cut too.
    if let Some(dir) = path.parent() {
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

/// Writes the framed snapshot to `temporary` and syncs it to disk.
fn write_file(
    temporary: &Path,
    what: &str,
    magic: &[u8; 8],
    header: &Header,
    write_body: impl FnOnce(&mut Writer<BufWriter<File>>) -> std::io::Result<()>,
) -> Result<()> {
    let io = |e| Error::io(&format!("cannot write the {what}"), temporary, e);
    let file = File::create(temporary).map_err(io)?;
    let mut w = Writer {
        inner: BufWriter::with_capacity(1 << 20, file),
        sum: Checksum::new(),
    };
    let framed = (|| {
        w.bytes(magic)?;
        w.u32(header.store_id.len() as u32)?;
        w.bytes(header.store_id.as_bytes())?;
        w.u64(header.seq as u64)?;
        write_body(&mut w)
    })();
    framed.map_err(io)?;
    let sum = w.sum.0;
    w.inner.write_all(&sum.to_le_bytes()).map_err(io)?;
    let file = w.inner.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    drop(file);
    Ok(())
}

/// An opened snapshot whose header has been read.
pub(super) struct Opened {
    /// The body reader.
    pub reader: Reader<BufReader<File>>,
    /// The header.
    pub header: Header,
    /// The file's size, to bound allocations before trusting counts.
    pub file_len: u64,
}

/// Opens the snapshot at `path`: `Ok(None)` when there is none, a
/// `Corrupt` error when it is not a `magic` file or is cut short.
pub(super) fn open(path: &Path, what: &str, magic: &[u8; 8]) -> Result<Option<Opened>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&format!("cannot open the {what}"), path, e)),
    };
    let file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = Reader {
        inner: BufReader::with_capacity(1 << 20, file),
        sum: Checksum::new(),
    };
    let mut found = [0u8; 8];
    reader.fill(&mut found).map_err(|e| unreadable(path, e))?;
    if &found != magic {
        return Err(corrupt(path, &format!("not a {what} of this version")));
    }
    let id_len = reader.u32().map_err(|e| unreadable(path, e))? as usize;
    if id_len > 256 {
        return Err(corrupt(path, "store id too long"));
    }
    let mut id = vec![0u8; id_len];
    reader.fill(&mut id).map_err(|e| unreadable(path, e))?;
    let store_id = String::from_utf8(id).map_err(|_| corrupt(path, "store id is not text"))?;
    let seq = reader.u64().map_err(|e| unreadable(path, e))? as i64;
    Ok(Some(Opened {
        reader,
        header: Header { store_id, seq },
        file_len,
    }))
}

/// Checks the trailer once the body has been read.
pub(super) fn finish(mut reader: Reader<BufReader<File>>, path: &Path) -> Result<()> {
    let expected = reader.sum.0;
    let mut trailer = [0u8; 8];
    reader
        .inner
        .read_exact(&mut trailer)
        .map_err(|e| unreadable(path, e))?;
    if u64::from_le_bytes(trailer) != expected {
        return Err(corrupt(path, "checksum mismatch"));
    }
    Ok(())
}

/// A snapshot that cannot be trusted.
pub(super) fn corrupt(path: &Path, what: &str) -> Error {
    Error::Corrupt(format!("{}: {what}", path.display()))
}

/// A snapshot cut short or unreadable mid-way.
pub(super) fn unreadable(path: &Path, e: std::io::Error) -> Error {
    corrupt(path, &format!("unreadable ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", Path::new("."), e))?;
        let path = dir.path().join("s.bin");
        let values = [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ];
        let header = Header {
            store_id: "id".into(),
            seq: 7,
        };
        save(&path, "test index", b"VQTEST\0\x01", &header, |w| {
            values.iter().try_for_each(|v| w.varint(*v))
        })?;
        let Some(mut opened) = open(&path, "test index", b"VQTEST\0\x01")? else {
            panic!("saved file not found");
        };
        assert_eq!(opened.header, header);
        for v in values {
            assert_eq!(opened.reader.varint().map_err(|e| unreadable(&path, e))?, v);
        }
        finish(opened.reader, &path)?;
        assert!(matches!(
            open(&path, "test index", b"VQOTHER\x01"),
            Err(Error::Corrupt(_))
        ));
        Ok(())
    }
}
