//! Live capture through the real binary: `netlens flows -i lo` meters TCP
//! and UDP traffic this test generates on loopback, hands out an idle flow
//! while still running, and on SIGINT flushes the rest and exits 0.
//! Needs capture rights (root in CI); without them the test says
//! "skipped: needs root" and passes.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the capture if the test fails half-way (no orphaned process).
struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut()
            && c.try_wait().ok().flatten().is_none()
        {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netlens"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

type Row = HashMap<String, String>;

fn read_rows(path: &Path) -> Vec<Row> {
    let Ok(mut r) = csv::Reader::from_path(path) else {
        return Vec::new();
    };
    let Ok(h) = r.headers().cloned() else {
        return Vec::new();
    };
    r.records()
        .filter_map(Result::ok)
        .map(|rec| {
            h.iter()
                .zip(rec.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn num(r: &Row, k: &str) -> u64 {
    r.get(k)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("column {k} in {r:?}"))
}

fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// SIGINT the child and wait for it (kills it after 20 s).
fn interrupt(child: &mut Child) -> std::process::ExitStatus {
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(st.success());
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        if t.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("netlens did not stop within 20 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One TCP exchange: `up` bytes to the server, `down` bytes back, clean close.
fn tcp_exchange(port: u16, up: usize, down: usize) -> u16 {
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let local = c.local_addr().expect("addr").port();
    c.write_all(&vec![b'u'; up]).expect("send");
    c.shutdown(Shutdown::Write).expect("shutdown");
    let mut got = Vec::new();
    c.read_to_end(&mut got).expect("read");
    assert_eq!(got.len(), down);
    local
}

#[test]
fn live_flows_on_loopback_expire_while_running_and_flush_on_sigint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("live.csv");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let tcp_port = listener.local_addr().expect("addr").port();
    let udp_rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let udp_port = udp_rx.local_addr().expect("addr").port();
    // Only this test's traffic: other tests may use loopback at the same time.
    let filter = format!("port {tcp_port} or port {udp_port}");
    let child = bin()
        .args([
            "flows",
            "-i",
            "lo",
            "--idle-timeout",
            // Long enough that a loaded CI machine (scheduling delays of
            // the test's own sender threads) cannot split a burst.
            "3",
            "--bpf",
            &filter,
            "-o",
        ])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("netlens starts");
    let mut child = KillOnDrop(Some(child));
    let child = child.0.as_mut().expect("child");
    // The CSV header is written once the capture is open.
    let ready = wait_for(Duration::from_secs(20), || {
        std::fs::read_to_string(&out).is_ok_and(|s| s.contains('\n'))
    });
    if !ready {
        let _ = child.kill();
        let _ = child.wait();
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        if !is_root() || err.contains("no permission") {
            eprintln!("skipped: needs root ({})", err.trim());
            return;
        }
        panic!("netlens did not start capturing: {err}");
    }

    // Server: for each connection read everything, answer 3000 bytes, close.
    let server = std::thread::spawn(move || {
        for stream in listener.incoming().take(3) {
            let mut s = stream.expect("accept");
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).expect("read");
            s.write_all(&vec![b'd'; 3000]).expect("write");
            drop(s);
        }
    });
    let sizes = [100usize, 1000, 20_000];
    let client_ports: Vec<u16> = sizes
        .iter()
        .map(|&n| tcp_exchange(tcp_port, n, 3000))
        .collect();
    server.join().expect("server");

    // Five 200-byte datagrams; the flow then goes quiet and must expire (3 s).
    let udp_tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let udp_src = udp_tx.local_addr().expect("addr").port();
    for _ in 0..5 {
        udp_tx
            .send_to(&[7u8; 200], ("127.0.0.1", udp_port))
            .expect("send");
    }

    // The UDP flow appears in the file while netlens still runs.
    let mut rows = Vec::new();
    let expired = wait_for(Duration::from_secs(15), || {
        rows = read_rows(&out);
        rows.iter()
            .any(|r| num(r, "src_port") == u64::from(udp_src))
    });
    assert!(
        child.try_wait().expect("wait").is_none(),
        "netlens exited early"
    );
    assert!(
        expired,
        "idle UDP flow not exported while running: {rows:?}"
    );
    let udp = rows
        .iter()
        .find(|r| num(r, "src_port") == u64::from(udp_src))
        .expect("udp row");
    assert_eq!(udp["end_reason"], "idle");
    assert_eq!(num(udp, "dst_port"), u64::from(udp_port));
    assert_eq!(num(udp, "protocol"), 17);
    assert_eq!(num(udp, "src2dst_packets"), 5);
    assert_eq!(num(udp, "dst2src_packets"), 0);
    assert_eq!(num(udp, "src2dst_payload_bytes"), 5 * 200);

    // A flow still open when the capture stops ends with the input.
    let late_tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let late_src = late_tx.local_addr().expect("addr").port();
    late_tx
        .send_to(b"late", ("127.0.0.1", udp_port))
        .expect("send");
    // Time for the capture thread to take the datagram from libpcap before
    // the interrupt, with margin for a loaded CI machine.
    std::thread::sleep(Duration::from_millis(1000));

    let status = interrupt(child);
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(status.success(), "exit {status:?}: {err}");
    assert!(
        err.contains("packets captured") && err.contains("kernel drops"),
        "{err}"
    );

    let rows = read_rows(&out);
    let late = rows
        .iter()
        .find(|r| num(r, "src_port") == u64::from(late_src))
        .unwrap_or_else(|| panic!("late UDP flow missing: {rows:?}"));
    assert_eq!(late["end_reason"], "end_of_input");
    assert_eq!(num(late, "src2dst_packets"), 1);

    for (port, up) in client_ports.iter().zip(sizes) {
        let f = rows
            .iter()
            .find(|r| num(r, "src_port") == u64::from(*port))
            .unwrap_or_else(|| panic!("TCP flow from port {port} missing: {rows:?}"));
        assert_eq!(num(f, "dst_port"), u64::from(tcp_port));
        assert_eq!(num(f, "protocol"), 6);
        assert_eq!(num(f, "src2dst_payload_bytes"), up as u64);
        assert_eq!(num(f, "dst2src_payload_bytes"), 3000);
        // Client: SYN, ACK, ≥1 data segment, FIN (+ ACKs); server: SYN-ACK,
        // data, FIN (+ ACKs). Loopback's 64 kB MTU keeps segments few.
        let (fwd, bwd) = (num(f, "src2dst_packets"), num(f, "dst2src_packets"));
        assert!((4..=20).contains(&fwd), "fwd {fwd}: {f:?}");
        assert!((3..=20).contains(&bwd), "bwd {bwd}: {f:?}");
        assert_eq!(f["end_reason"], "fin", "{f:?}");
    }
    assert_eq!(rows.len(), 5, "{rows:?}");
}

#[test]
fn missing_interface_is_a_one_line_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = bin()
        .args(["flows", "-i", "netlens-nosuch0", "-o"])
        .arg(dir.path().join("x.csv"))
        .output()
        .expect("netlens runs");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("netlens-nosuch0"), "{err}");
}

#[test]
fn interface_and_files_are_exclusive_and_live_options_need_an_interface() {
    let o = bin()
        .args(["flows", "x.pcap", "-i", "lo"])
        .output()
        .expect("netlens runs");
    assert!(!o.status.success());
    let o = bin()
        .args(["flows", "x.pcap", "--bpf", "udp"])
        .output()
        .expect("netlens runs");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--interface"));
}

/// Runs `netlens anomaly ARGS -i lo --bpf 'udp port P' --duration 3` while
/// sending `n` UDP datagrams to P; returns (stderr, alert lines).
fn live_anomaly(args: &[&str], n: usize) -> (String, Vec<serde_json::Value>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("alerts.jsonl");
    let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = rx.local_addr().expect("addr").port();
    let filter = format!("udp port {port}");
    let child = bin()
        .arg("anomaly")
        .args(args)
        .args(["-i", "lo", "--bpf", &filter, "--duration", "3", "-o"])
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .expect("netlens starts");
    let mut child = KillOnDrop(Some(child));
    // Let libpcap attach before the first datagram.
    std::thread::sleep(Duration::from_millis(700));
    let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    for i in 0..n {
        tx.send_to(&vec![b'a'; 20 + i % 50], ("127.0.0.1", port))
            .expect("send");
        std::thread::sleep(Duration::from_millis(10));
    }
    let c = child.0.as_mut().expect("child");
    let stopped = wait_for(Duration::from_secs(20), || {
        c.try_wait().ok().flatten().is_some()
    });
    let c = child.0.take().expect("child");
    assert!(stopped, "netlens anomaly did not stop after --duration");
    let o = c.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{err}");
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let alerts = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (err, alerts)
}

#[test]
fn live_anomaly_detectors_on_loopback() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    // Kitsune trains on the first 20 packets it sees; threshold 0 makes every
    // later packet anomalous, so alerts must come from live traffic.
    let (err, alerts) = live_anomaly(
        &["kitsune", "--train-packets", "20", "--threshold", "0"],
        80,
    );
    assert!(err.contains("live lo: 80 packets captured"), "{err}");
    assert!(err.contains("80 IP"), "{err}");
    assert!(!alerts.is_empty(), "{err}");
    for a in &alerts {
        assert_eq!(a["detector"], "kitsune", "{a}");
        assert_eq!(a["protocol"], 17, "{a}");
    }
    // The flow forest, trained on the bundled sample; threshold 0 flags
    // every flow, here the one UDP conversation, flushed at --duration.
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("iforest.nlm");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample/sample.pcap");
    let o = bin()
        .args(["anomaly", "train", "--method", "iforest", "-q"])
        .arg(&sample)
        .arg("-o")
        .arg(&model)
        .output()
        .expect("netlens runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = model.to_string_lossy().to_string();
    let (err, alerts) = live_anomaly(&["score", "--model", &m, "--threshold", "0"], 30);
    assert!(err.contains("scored 1 flows (30 packets)"), "{err}");
    assert_eq!(alerts.len(), 1, "{err}");
    assert_eq!(alerts[0]["packets"], 30, "{}", alerts[0]);
    assert_eq!(alerts[0]["detector"], "iforest", "{}", alerts[0]);
}
