//! Fuzz `netlens_appmeta::AppState`: the first byte picks a flow scenario
//! (protocol and ports, so every parser is reachable), the rest is split
//! into packets, each prefixed by one byte: bit 0 = direction, the other
//! bits = length / 2 (so packets of 0..=254 bytes), the last one taking the
//! remainder. Checks the documented invariants on the result.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netlens_appmeta::{AppState, MAX_JA3, MAX_TEXT};

const SCENARIOS: [(u8, u16, u16); 10] = [
    (6, 50000, 443),
    (6, 50000, 80),
    (6, 50000, 22),
    (6, 22, 50000),
    (6, 50000, 25),
    (6, 50000, 53),
    (17, 50000, 53),
    (17, 5353, 5353),
    (17, 50000, 443),
    (17, 50000, 123),
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let (proto, sp, dp) = SCENARIOS[usize::from(sel) % SCENARIOS.len()];
    let mut st = AppState::new(proto, sp, dp);
    while let Some((&h, tail)) = rest.split_first() {
        let len = usize::from(h >> 1) * 2;
        let (pkt, next) = tail.split_at(len.min(tail.len()));
        st.on_payload(h & 1 == 0, pkt);
        rest = next;
    }
    let m = st.meta();
    for s in [
        &m.server_name,
        &m.alpn,
        &m.alpn_selected,
        &m.tls_version,
        &m.dns_query,
        &m.http_host,
        &m.http_method,
        &m.http_user_agent,
        &m.http_content_type,
        &m.ssh_client_banner,
        &m.ssh_server_banner,
    ]
    .into_iter()
    .flatten()
    {
        assert!(s.len() <= MAX_TEXT && s.bytes().all(|b| (0x20..=0x7e).contains(&b)), "{s:?}");
    }
    for s in [&m.ja3, &m.ja3s].into_iter().flatten() {
        assert!(s.len() <= MAX_JA3);
    }
});
