//! Unit tests of the reader and writer over hand-built captures.

use std::io::{self, Read, Write};

use crate::*;

/// A little-endian µs pcap, Ethernet, two packets, written out by hand.
#[rustfmt::skip]
const PCAP_LE_US: [u8; 24 + 16 + 4 + 16 + 6] = [
    0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, // magic, version 2.4
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // thiszone, sigfigs
    0xff, 0xff, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // snaplen 65535, linktype 1
    // record 1: ts 1.000002, caplen 4, origlen 60
    0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00,
    0xde, 0xad, 0xbe, 0xef,
    // record 2: ts 2.5, caplen 6, origlen 6
    0x02, 0x00, 0x00, 0x00, 0x20, 0xa1, 0x07, 0x00, 0x06, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00,
    1, 2, 3, 4, 5, 6,
];

/// (ts_ns, wire_len, linktype, data, interface) of every packet.
type Pkt = (i64, u32, u32, Vec<u8>, u32);

fn drain(r: &mut CaptureReader) -> Vec<Pkt> {
    let mut v = Vec::new();
    while let Some(p) = r.next_packet() {
        v.push((
            p.ts_ns,
            p.wire_len,
            p.linktype,
            p.data.to_vec(),
            p.interface,
        ));
    }
    v
}

fn opts() -> ReadOptions {
    ReadOptions::default()
}

fn read_mem(b: &[u8]) -> Result<(Vec<Pkt>, Vec<Warning>, ReadStats), CaptureError> {
    let mut r = CaptureReader::from_bytes(b.to_vec(), "mem".into(), &opts())?;
    let p = drain(&mut r);
    Ok((p, r.take_warnings(), r.stats().clone()))
}

/// A reader that hands out at most `step` bytes per call.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let rest = self.data.get(self.pos..).unwrap_or(&[]);
        let n = rest.len().min(out.len()).min(self.step);
        out[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

fn read_stream(b: &[u8], step: usize) -> Result<(Vec<Pkt>, Vec<Warning>, ReadStats), CaptureError> {
    let t = Trickle {
        data: b.to_vec(),
        pos: 0,
        step,
    };
    let mut r = CaptureReader::from_reader(Box::new(t), "<stdin>".into(), &opts())?;
    let p = drain(&mut r);
    Ok((p, r.take_warnings(), r.stats().clone()))
}

// ---------- builders ----------

fn pcap_file(be: bool, nanos: bool, linktype: u32, pkts: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
    let u32b = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
    let u16b = |v: u16| if be { v.to_be_bytes() } else { v.to_le_bytes() };
    let magic = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut v = Vec::new();
    v.extend(u32b(magic));
    v.extend(u16b(2));
    v.extend(u16b(4));
    v.extend(u32b(0));
    v.extend(u32b(0));
    v.extend(u32b(65535));
    v.extend(u32b(linktype));
    for (s, f, d, o) in pkts {
        v.extend(u32b(*s));
        v.extend(u32b(*f));
        v.extend(u32b(d.len() as u32));
        v.extend(u32b(*o));
        v.extend_from_slice(d);
    }
    v
}

/// pcapng block builder for one byte order.
struct Ng {
    be: bool,
    out: Vec<u8>,
    /// End offset of every block written.
    ends: Vec<usize>,
}

impl Ng {
    fn new(be: bool) -> Ng {
        Ng {
            be,
            out: Vec::new(),
            ends: Vec::new(),
        }
    }
    fn u32b(&self, v: u32) -> [u8; 4] {
        if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    fn u16b(&self, v: u16) -> [u8; 2] {
        if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    fn block(&mut self, btype: u32, body: &[u8]) {
        let mut body = body.to_vec();
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        let len = 12 + body.len() as u32;
        let t = self.u32b(btype);
        let l = self.u32b(len);
        self.out.extend(t);
        self.out.extend(l);
        self.out.extend(body);
        self.out.extend(l);
        self.ends.push(self.out.len());
    }
    fn shb(&mut self, be: bool) {
        self.be = be;
        let mut b = Vec::new();
        b.extend(self.u32b(0x1A2B_3C4D));
        b.extend(self.u16b(1));
        b.extend(self.u16b(0));
        b.extend(if be {
            (-1i64).to_be_bytes()
        } else {
            (-1i64).to_le_bytes()
        });
        self.block(0x0A0D_0D0A, &b);
    }
    fn idb(&mut self, linktype: u16, snaplen: u32, tsresol: Option<u8>, tsoffset: Option<i64>) {
        let mut b = Vec::new();
        b.extend(self.u16b(linktype));
        b.extend(self.u16b(0));
        b.extend(self.u32b(snaplen));
        if let Some(r) = tsresol {
            b.extend(self.u16b(9));
            b.extend(self.u16b(1));
            b.extend([r, 0, 0, 0]);
        }
        if let Some(o) = tsoffset {
            b.extend(self.u16b(14));
            b.extend(self.u16b(8));
            b.extend(if self.be {
                o.to_be_bytes()
            } else {
                o.to_le_bytes()
            });
        }
        if tsresol.is_some() || tsoffset.is_some() {
            b.extend(self.u16b(0));
            b.extend(self.u16b(0));
        }
        self.block(1, &b);
    }
    fn epb(&mut self, if_id: u32, ts: u64, data: &[u8], orig: u32) {
        let mut b = Vec::new();
        b.extend(self.u32b(if_id));
        b.extend(self.u32b((ts >> 32) as u32));
        b.extend(self.u32b(ts as u32));
        b.extend(self.u32b(data.len() as u32));
        b.extend(self.u32b(orig));
        b.extend_from_slice(data);
        self.block(6, &b);
    }
    fn spb(&mut self, data: &[u8], orig: u32) {
        let mut b = Vec::new();
        b.extend(self.u32b(orig));
        b.extend_from_slice(data);
        self.block(3, &b);
    }
    fn opb(&mut self, if_id: u16, ts: u64, data: &[u8], orig: u32) {
        let mut b = Vec::new();
        b.extend(self.u16b(if_id));
        b.extend(self.u16b(0));
        b.extend(self.u32b((ts >> 32) as u32));
        b.extend(self.u32b(ts as u32));
        b.extend(self.u32b(data.len() as u32));
        b.extend(self.u32b(orig));
        b.extend_from_slice(data);
        self.block(2, &b);
    }
}

/// Two interfaces (Ethernet µs; raw IP ns with a +10 s offset), EPBs on both,
/// an SPB, an OPB, an unknown block and a statistics block.
fn two_iface_ng(be: bool) -> (Vec<u8>, Vec<Pkt>) {
    let mut ng = Ng::new(be);
    ng.shb(be);
    ng.idb(1, 0, None, None);
    ng.idb(101, 0, Some(9), Some(10));
    ng.epb(0, 1_500_000, &[0xaa; 14], 60);
    ng.block(0x0000_1234, &[1, 2, 3]); // unknown type
    ng.epb(1, 2_000_000_123, &[0x45, 0, 0, 20, 9], 20);
    ng.spb(&[7, 7, 7], 3);
    ng.opb(0, 3_000_000, &[1, 2], 100);
    ng.block(5, &[0; 20]); // interface statistics (minimal)
    let want = vec![
        (1_500_000_000, 60, 1, vec![0xaa; 14], 0),
        (12_000_000_123, 20, 101, vec![0x45, 0, 0, 20, 9], 1),
        (12_000_000_123, 3, 1, vec![7, 7, 7], 0),
        (3_000_000_000, 100, 1, vec![1, 2], 0),
    ];
    (ng.out, want)
}

// ---------- tests ----------

#[test]
fn literal_pcap_le_us() {
    let (p, w, st) = read_mem(&PCAP_LE_US).unwrap();
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(
        p,
        vec![
            (1_000_002_000, 60, 1, vec![0xde, 0xad, 0xbe, 0xef], 0),
            (2_500_000_000, 6, 1, vec![1, 2, 3, 4, 5, 6], 0),
        ]
    );
    let s = &st.sources[0];
    assert_eq!(s.format.kind, FormatKind::PcapMicro);
    assert!(!s.format.big_endian);
    assert_eq!((s.packets, s.bytes, s.wire_bytes), (2, 10, 66));
    assert_eq!(s.linktypes, vec![(1, 2)]);
    assert_eq!(
        s.to_string(),
        "mem: pcap (µs), little-endian; 2 packets, 10 bytes captured, 66 on the wire; link types 1×2"
    );
}

#[test]
fn pcap_byte_orders_and_precisions_agree() {
    let pk: [(u32, u32, &[u8], u32); 2] = [(1, 2, &[9, 8, 7], 3), (5, 999, &[1], 1)];
    for be in [false, true] {
        for nanos in [false, true] {
            let f = pcap_file(be, nanos, 113, &pk);
            let (p, w, st) = read_mem(&f).unwrap();
            assert!(w.is_empty());
            let mult = if nanos { 1 } else { 1000 };
            assert_eq!(p[0], (1_000_000_000 + 2 * mult, 3, 113, vec![9, 8, 7], 0));
            assert_eq!(p[1].0, 5_000_000_000 + 999 * mult);
            assert_eq!(st.sources[0].format.big_endian, be);
            let kind = if nanos {
                FormatKind::PcapNano
            } else {
                FormatKind::PcapMicro
            };
            assert_eq!(st.sources[0].format.kind, kind);
        }
    }
}

#[test]
fn modified_pcap() {
    // Kuznetzov format: 24-byte records (8 extra bytes: ifindex, protocol, pkt_type, pad).
    let mut f = pcap_file(false, false, 1, &[]);
    f[0..4].copy_from_slice(&0xa1b2_cd34u32.to_le_bytes());
    for (s, d) in [(7u32, &[1u8, 2][..]), (8, &[3u8][..])] {
        f.extend(s.to_le_bytes());
        f.extend(0u32.to_le_bytes());
        f.extend((d.len() as u32).to_le_bytes());
        f.extend((d.len() as u32).to_le_bytes());
        f.extend([0u8; 8]);
        f.extend_from_slice(d);
    }
    let (p, w, st) = read_mem(&f).unwrap();
    assert!(w.is_empty());
    assert_eq!(st.sources[0].format.kind, FormatKind::PcapModified);
    assert_eq!(p.len(), 2);
    assert_eq!(p[1], (8_000_000_000, 1, 1, vec![3], 0));
}

#[test]
fn pcapng_two_interfaces_spb_opb_both_orders() {
    for be in [false, true] {
        let (f, want) = two_iface_ng(be);
        for (p, w, st) in [read_mem(&f).unwrap(), read_stream(&f, 3).unwrap()] {
            assert!(w.is_empty(), "{w:?}");
            assert_eq!(p, want, "be={be}");
            let s = &st.sources[0];
            assert_eq!(s.format.kind, FormatKind::PcapNg);
            assert_eq!(s.format.big_endian, be);
            assert_eq!(s.interfaces, 2);
            assert_eq!(s.unknown_blocks, 1);
            assert_eq!(s.other_blocks, 1);
            assert_eq!((s.simple_packets, s.obsolete_packets), (1, 1));
            assert_eq!(s.linktypes, vec![(1, 3), (101, 1)]);
        }
    }
}

#[test]
fn pcapng_sections_switch_byte_order_and_reset_interfaces() {
    let mut ng = Ng::new(false);
    ng.shb(false);
    ng.idb(1, 0, None, None);
    ng.epb(0, 1, &[1], 1);
    ng.shb(true);
    ng.idb(4242, 0, Some(0x80 | 10), None); // unknown link type, 2^-10 s units
    ng.epb(0, 2048, &[2], 1);
    ng.epb(1, 1, &[3], 1); // interface 1 does not exist in this section
    let (p, w, st) = read_mem(&ng.out).unwrap();
    assert_eq!(
        p,
        vec![
            (1_000, 1, 1, vec![1], 0),
            (2_000_000_000, 1, 4242, vec![2], 0)
        ]
    );
    assert_eq!(w.len(), 1);
    assert!(
        w[0].to_string().contains("undeclared interface 1"),
        "{}",
        w[0]
    );
    assert_eq!(st.sources[0].sections, 2);
    assert_eq!(st.sources[0].corrupt_records, 1);
}

/// Cut a valid capture at every byte offset: never panic; every packet whose
/// record ends before the cut comes out; a cut inside a record warns.
fn check_every_truncation(full: &[u8], ends: &[usize], header_len: usize, want: &[Pkt]) {
    for cut in 0..=full.len() {
        let part = &full[..cut];
        let complete = ends.iter().filter(|&&e| e <= cut).count();
        for res in [read_mem(part), read_stream(part, 5)] {
            match res {
                Err(e) => {
                    assert!(cut < header_len.max(4), "cut {cut}: unexpected error {e}");
                }
                Ok((p, w, st)) => {
                    assert_eq!(p.len(), complete, "cut {cut}");
                    assert_eq!(&p[..], &want[..complete]);
                    let at_boundary = cut == header_len || ends.contains(&cut);
                    if at_boundary {
                        assert!(w.is_empty(), "cut {cut}: {w:?}");
                    } else {
                        assert_eq!(w.len(), 1, "cut {cut}");
                        let msg = w[0].to_string();
                        assert!(msg.contains("truncated record at byte offset"), "{msg}");
                        assert!(st.sources[0].truncated_at.is_some());
                    }
                }
            }
        }
    }
}

#[test]
fn pcap_truncated_at_every_offset() {
    let want = read_mem(&PCAP_LE_US).unwrap().0;
    check_every_truncation(&PCAP_LE_US, &[44, 66], 24, &want);
}

#[test]
fn pcapng_truncated_at_every_offset() {
    for be in [false, true] {
        let (f, _) = two_iface_ng(be);
        let (want, _, _) = read_mem(&f).unwrap();
        let blocks = boundaries(&f);
        // Blocks 0..=2 are SHB, IDB, IDB; packets end blocks 3, 5, 6, 7.
        let ends = [blocks[4], blocks[6], blocks[7], blocks[8]];
        for cut in 0..=f.len() {
            let complete = ends.iter().filter(|&&e| e <= cut).count();
            for res in [read_mem(&f[..cut]), read_stream(&f[..cut], 7)] {
                match res {
                    Err(_) => assert!(cut < 12, "cut {cut}"),
                    Ok((p, w, _)) => {
                        assert_eq!(&p[..], &want[..complete], "cut {cut}");
                        // A warning exactly when the cut is inside a block.
                        assert_eq!(w.is_empty(), blocks.contains(&cut), "cut {cut}: {w:?}");
                    }
                }
            }
        }
    }
}

/// Offsets of every pcapng block boundary of a well-formed little/big-endian file.
fn boundaries(f: &[u8]) -> Vec<usize> {
    let be = f.get(8..12) == Some(&[0x1a, 0x2b, 0x3c, 0x4d][..]);
    let mut v = vec![0];
    let mut off = 0;
    while off + 8 <= f.len() {
        let b: [u8; 4] = f[off + 4..off + 8].try_into().unwrap();
        let len = if be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        } as usize;
        off += len;
        v.push(off);
    }
    v
}

#[test]
fn absurd_caplen_is_damage() {
    let mut f = PCAP_LE_US.to_vec();
    // Third record claims 300000 captured bytes.
    f.extend(3u32.to_le_bytes());
    f.extend(0u32.to_le_bytes());
    f.extend(300_000u32.to_le_bytes());
    f.extend(300_000u32.to_le_bytes());
    f.extend([0u8; 64]);
    let (p, w, st) = read_mem(&f).unwrap();
    assert_eq!(p.len(), 2);
    assert_eq!(st.sources[0].truncated_at, Some(66));
    let msg = w[0].to_string();
    assert_eq!(
        msg,
        "mem: truncated record at byte offset 66 (captured length 300000 exceeds 256 KiB); 2 packets read before it"
    );
}

#[test]
fn not_a_capture_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.csv");
    std::fs::write(&p, "id,name\n1,x\n").unwrap();
    let err = CaptureReader::open(&[Input::Path(p.clone())], &opts())
        .err()
        .unwrap();
    assert!(matches!(err, CaptureError::NotACapture { .. }));
    assert!(err.to_string().contains("notes.csv"), "{err}");
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let err = CaptureReader::open(&[Input::Path(empty)], &opts())
        .err()
        .unwrap();
    assert!(err.to_string().contains("empty file"), "{err}");
}

fn write_pcap(path: &std::path::Path, linktype: u32, ts: &[i64]) {
    let mut w = PcapWriter::create(path, linktype, 0, true).unwrap();
    for (i, t) in ts.iter().enumerate() {
        w.write_packet(*t, &[i as u8; 20], 40).unwrap();
    }
    w.close().unwrap();
}

#[test]
fn merge_two_files_by_time_and_walk_directory() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.pcap");
    let b = dir.path().join("sub").join("b.pcap.gz");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    write_pcap(&a, 1, &[10, 30, 50, 70]);
    write_pcap(&b, 101, &[20, 40, 60]);
    std::fs::write(dir.path().join("readme.md"), "# hi").unwrap();

    let inputs = [Input::Path(a.clone()), Input::Path(b.clone())];
    let mut r = CaptureReader::open(&inputs, &opts()).unwrap();
    let mut seen = Vec::new();
    while let Some(p) = r.next_packet() {
        seen.push((p.ts_ns, p.source, p.linktype));
    }
    assert_eq!(
        seen,
        vec![
            (10, 0, 1),
            (20, 1, 101),
            (30, 0, 1),
            (40, 1, 101),
            (50, 0, 1),
            (60, 1, 101),
            (70, 0, 1)
        ]
    );
    assert!(r.sources()[1].format.gzip);

    // Unsorted: file order.
    let o = ReadOptions {
        sort_by_time: false,
    };
    let mut r = CaptureReader::open(&inputs, &o).unwrap();
    let mut ts = Vec::new();
    while let Some(p) = r.next_packet() {
        ts.push(p.ts_ns);
    }
    assert_eq!(ts, vec![10, 30, 50, 70, 20, 40, 60]);

    // Directory: both captures found, readme skipped with a warning.
    let mut r = CaptureReader::open(&[Input::Path(dir.path().into())], &opts()).unwrap();
    assert_eq!(r.sources().len(), 2);
    assert_eq!(drain(&mut r).len(), 7);
    let w = r.take_warnings();
    assert_eq!(w.len(), 1);
    assert!(w[0].to_string().contains("readme.md"));
    assert_eq!(r.stats().skipped_files, 1);
}

#[test]
fn gzip_roundtrip_and_truncated_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.pcap.gz");
    let ts: Vec<i64> = (0..500)
        .map(|i| 1_700_000_000_000_000_000 + i * 1000)
        .collect();
    write_pcap(&p, 1, &ts);
    let mut r = CaptureReader::open(&[Input::Path(p.clone())], &opts()).unwrap();
    let got = drain(&mut r);
    assert_eq!(got.len(), 500);
    assert_eq!(got[499].0, ts[499]);
    assert!(r.take_warnings().is_empty());

    // Cut the compressed file in half: a prefix of packets and a warning
    // that speaks of the decompressed stream.
    let bytes = std::fs::read(&p).unwrap();
    let half = dir.path().join("half.pcap.gz");
    std::fs::write(&half, &bytes[..bytes.len() / 2]).unwrap();
    let mut r = CaptureReader::open(&[Input::Path(half)], &opts()).unwrap();
    let got = drain(&mut r);
    assert!(!got.is_empty() && got.len() < 500, "{}", got.len());
    let w = r.take_warnings();
    assert_eq!(w.len(), 1);
    assert!(
        w[0].to_string().contains("of the decompressed stream"),
        "{}",
        w[0]
    );
}

#[test]
fn stdin_path_streams_pcap_and_gzip() {
    // Plain, delivered a few bytes at a time.
    let (p, w, _) = read_stream(&PCAP_LE_US, 3).unwrap();
    assert!(w.is_empty());
    assert_eq!(p, read_mem(&PCAP_LE_US).unwrap().0);
    // gzip through the same entry point.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&PCAP_LE_US).unwrap();
    let gz = enc.finish().unwrap();
    let (p2, w2, st) = read_stream(&gz, 11).unwrap();
    assert!(w2.is_empty());
    assert_eq!(p2, p);
    assert!(st.sources[0].format.gzip);
    // Non-capture on stdin.
    let err = read_stream(b"hello world", 4).err().unwrap();
    assert!(err.to_string().starts_with("<stdin>: not a capture file"));
}

#[test]
fn writer_roundtrip_us_and_ns() {
    for nanos in [false, true] {
        let mut w = PcapWriter::new(Vec::new(), 1, 8, nanos).unwrap();
        w.write_packet(1_234_567_891, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 10)
            .unwrap();
        w.write_packet(2_000_000_000, &[1], 0).unwrap();
        assert!(w.write_packet(-1, &[1], 1).is_err());
        let buf = w.finish().unwrap();
        let (p, warn, _) = read_mem(&buf).unwrap();
        assert!(warn.is_empty());
        let t0 = if nanos { 1_234_567_891 } else { 1_234_567_000 };
        assert_eq!(p[0], (t0, 10, 1, vec![1, 2, 3, 4, 5, 6, 7, 8], 0));
        assert_eq!(p[1], (2_000_000_000, 1, 1, vec![1], 0));
    }
}

/// Deterministic mutation fuzzing of valid files through both code paths.
#[test]
fn mutated_inputs_never_panic() {
    let mut seeds = vec![
        PCAP_LE_US.to_vec(),
        two_iface_ng(false).0,
        two_iface_ng(true).0,
    ];
    seeds.push(pcap_file(true, true, 1, &[(1, 1, &[1, 2, 3], 3)]));
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..3000 {
        let mut f = seeds[round % seeds.len()].clone();
        let flips = 1 + next() % 4;
        for _ in 0..flips {
            let i = (next() as usize) % f.len();
            f[i] = next() as u8;
        }
        if next() % 4 == 0 {
            let cut = (next() as usize) % f.len();
            f.truncate(cut);
        }
        if let Ok(mut r) = CaptureReader::from_bytes(f.clone(), "m".into(), &opts()) {
            while r.next_packet().is_some() {}
        }
        // Tiny reads now and then; mostly large ones (a mutated length can ask for 256 KiB).
        let step = if round % 16 == 0 {
            1 + (next() as usize % 9)
        } else {
            4096
        };
        if let Ok((_, _, _)) = read_stream(&f, step) {}
    }
}

#[test]
fn many_interfaces_are_bounded_and_linear() {
    let mut ng = Ng::new(false);
    ng.shb(false);
    for i in 0..70_000u32 {
        ng.idb(i as u16, 0, None, None);
    }
    ng.epb(65_535, 1, &[1, 2, 3], 3);
    let t0 = std::time::Instant::now();
    let (p, w, st) = read_mem(&ng.out).unwrap();
    assert!(t0.elapsed().as_secs() < 20, "too slow: {:?}", t0.elapsed());
    let s = &st.sources[0];
    assert_eq!(s.interfaces, 65_536);
    assert_eq!(s.corrupt_records, 70_000 - 65_536);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].2, 65_535);
    // Warnings are capped per source.
    assert_eq!(w.len(), 50);
    assert_eq!(w[49].kind, WarningKind::Suppressed);
}
