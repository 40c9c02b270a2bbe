//! The simulated network and its conversations (benign sessions and attacks).
//!
//! Invariant: conversations are started in non-decreasing start time and
//! the sink is flushed up to each start before the conversation is queued,
//! so the pcap is written in time order while only live conversations are
//! held in memory.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::TcpOptionElement;

use crate::apps;
use crate::net::{FlowRow, Host, L4, RST, SYN, Sink, Tcp, frame};
use crate::rng::Rng;
use crate::{SynthConfig, SynthError};

const NS: i64 = 1_000_000_000;
const MS: i64 = 1_000_000;

/// Router MAC: everything from or to the Internet crosses it.
const GW_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x00, 0x01];
const VLAN_ID: u16 = 100;

/// A named Internet service.
struct Site {
    name: &'static str,
    v4: Ipv4Addr,
    /// Index in 2001:db8:1::/64.
    v6_host: u16,
    /// Round-trip time from the office, ms.
    rtt_ms: i64,
}

const SITES: [Site; 8] = [
    Site {
        name: "www.wikipedia.org",
        v4: Ipv4Addr::new(185, 15, 59, 224),
        v6_host: 0x10,
        rtt_ms: 24,
    },
    Site {
        name: "github.com",
        v4: Ipv4Addr::new(140, 82, 121, 4),
        v6_host: 0x11,
        rtt_ms: 31,
    },
    Site {
        name: "www.example.org",
        v4: Ipv4Addr::new(93, 184, 215, 14),
        v6_host: 0x12,
        rtt_ms: 88,
    },
    Site {
        name: "api.netlens.example",
        v4: Ipv4Addr::new(203, 0, 113, 80),
        v6_host: 0x13,
        rtt_ms: 12,
    },
    Site {
        name: "cdn.jsdelivr.net",
        v4: Ipv4Addr::new(151, 101, 1, 229),
        v6_host: 0x14,
        rtt_ms: 9,
    },
    Site {
        name: "news.ycombinator.com",
        v4: Ipv4Addr::new(209, 216, 230, 207),
        v6_host: 0x15,
        rtt_ms: 142,
    },
    Site {
        name: "crates.io",
        v4: Ipv4Addr::new(13, 227, 120, 86),
        v6_host: 0x16,
        rtt_ms: 18,
    },
    Site {
        name: "docs.rs",
        v4: Ipv4Addr::new(151, 101, 194, 137),
        v6_host: 0x17,
        rtt_ms: 11,
    },
];

/// A client with its link (VLAN) and next ephemeral port.
struct Client {
    host: Host,
    vlan: Option<u16>,
    next_port: u16,
}

/// Hosts of the simulated office.
struct World {
    clients: Vec<Client>,
    intranet: Host,
    resolver_v4: Host,
    resolver_v6: Host,
    attacker: Host,
}

fn v6(prefix_hi: u16, host: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, prefix_hi, 0, 0, 0, 0, host))
}

fn lan_mac(net: u8, host: u8) -> [u8; 6] {
    [0x02, 0x00, 0x00, 0x00, net, host]
}

impl World {
    fn new(rng: &mut Rng) -> World {
        let mut clients = Vec::new();
        for h in 10..30u8 {
            clients.push(Client {
                host: Host {
                    mac: lan_mac(0, h),
                    ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, h)),
                    ttl: 64,
                },
                vlan: None,
                next_port: 0,
            });
        }
        for h in 0x10..0x14u16 {
            clients.push(Client {
                host: Host {
                    mac: lan_mac(6, h as u8),
                    ip: v6(0, h),
                    ttl: 64,
                },
                vlan: None,
                next_port: 0,
            });
        }
        for h in 10..16u8 {
            clients.push(Client {
                host: Host {
                    mac: lan_mac(100, h),
                    ip: IpAddr::V4(Ipv4Addr::new(10, 0, 100, h)),
                    ttl: 128,
                },
                vlan: Some(VLAN_ID),
                next_port: 0,
            });
        }
        for c in &mut clients {
            c.next_port = rng.range(32_768, 60_999) as u16;
        }
        World {
            clients,
            intranet: Host {
                mac: lan_mac(0, 5),
                ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)),
                ttl: 64,
            },
            resolver_v4: Host {
                mac: GW_MAC,
                ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                ttl: 64,
            },
            resolver_v6: Host {
                mac: GW_MAC,
                ip: v6(0, 1),
                ttl: 64,
            },
            attacker: Host {
                mac: lan_mac(0, 66),
                ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 66)),
                ttl: 64,
            },
        }
    }
}

/// Next ephemeral port of a client (Linux range 32768–60999).
fn ephemeral(c: &mut Client, rng: &mut Rng) -> u16 {
    let p = c.next_port;
    let next = u32::from(p) + rng.range(1, 7);
    c.next_port = if next > 60_999 { 32_768 } else { next as u16 };
    p
}

/// The server side of a site for a client of the given IP version.
fn site_host(site: &Site, v6_client: bool) -> Host {
    Host {
        mac: GW_MAC,
        ip: if v6_client {
            v6(1, site.v6_host)
        } else {
            IpAddr::V4(site.v4)
        },
        ttl: if v6_client { 57 } else { 56 },
    }
}

/// Relative session rate at time `t` (1.0 at 16:00 UTC, 0.15 at 04:00).
fn diurnal(t_ns: i64) -> f64 {
    let hour = t_ns.rem_euclid(86_400 * NS) as f64 / (3600.0 * NS as f64);
    let phase = 2.0 * std::f64::consts::PI * (hour - 4.0) / 24.0;
    0.15 + 0.85 * (0.5 - 0.5 * libm::cos(phase))
}

#[derive(Debug, Clone, Copy)]
enum Attack {
    PortScan,
    SynFlood,
    DnsAmp,
}

/// Run the whole scenario into `sink`.
pub(crate) fn run(cfg: &SynthConfig, dur_ns: i64, mut sink: Sink) -> Result<Sink, SynthError> {
    let mut rng = Rng::new(cfg.seed);
    let mut world = World::new(&mut rng);
    let start = cfg.start_time_ns;
    let end = start + dur_ns;

    let mut attacks: Vec<(i64, Attack)> = Vec::new();
    if cfg.attacks {
        if dur_ns <= 3600 * NS {
            let at = |f: f64| start + (dur_ns as f64 * f) as i64;
            attacks.push((at(0.30), Attack::PortScan));
            attacks.push((at(0.55), Attack::SynFlood));
            attacks.push((at(0.80), Attack::DnsAmp));
        } else {
            let kinds = [Attack::PortScan, Attack::SynFlood, Attack::DnsAmp];
            let mut t = start + NS * i64::from(rng.range(1800, 3 * 3600));
            while t < end {
                attacks.push((t, *rng.pick(&kinds)));
                t += NS * i64::from(rng.range(2 * 3600, 4 * 3600));
            }
        }
    }

    let peak_rate = 0.25 * cfg.scale; // sessions per second at the daily peak
    let mean_gap_ns = NS as f64 / peak_rate;
    let mut t = start;
    let mut next_attack = attacks.iter().peekable();
    loop {
        t += rng.exp(mean_gap_ns) as i64;
        while let Some(&&(at, kind)) = next_attack.peek() {
            if at > t || at >= end {
                break;
            }
            sink.flush_before(at)?;
            attack(kind, at, &mut rng, &world, &mut sink)?;
            next_attack.next();
        }
        if t >= end {
            break;
        }
        if !rng.chance(diurnal(t)) {
            continue;
        }
        sink.flush_before(t)?;
        benign(t, &mut rng, &mut world, &mut sink)?;
    }
    sink.finish()
}

/// One benign conversation (sometimes preceded by its DNS lookup).
fn benign(t: i64, rng: &mut Rng, world: &mut World, sink: &mut Sink) -> Result<(), SynthError> {
    let ci = rng.below(world.clients.len() as u32) as usize;
    let r = rng.below(100);
    let Some(client) = world.clients.get_mut(ci) else {
        return Ok(());
    };
    let is_v6 = client.host.ip.is_ipv6();
    let resolver = if is_v6 {
        world.resolver_v6
    } else {
        world.resolver_v4
    };
    match r {
        0..=54 => {
            let https = r < 35;
            let site = rng.pick(&SITES);
            let mut t = t;
            if rng.chance(0.7) {
                t = dns(client, &resolver, site.name, site, t, rng, sink)?;
            }
            let server = site_host(site, is_v6);
            let rtt = site.rtt_ms * MS + i64::from(rng.below(3000)) * 1000;
            if https {
                tls_session(client, server, site.name, t, rtt, rng, sink)
            } else {
                http_session(client, server, site.name, t, rtt, rng, sink)
            }
        }
        55..=66 if !is_v6 => {
            let server = world.intranet;
            http_session(client, server, "intranet.office.lan", t, MS / 2, rng, sink)
        }
        67..=73 => {
            let (server, rtt) = if is_v6 || rng.chance(0.5) {
                (site_host(&SITES[1], is_v6), 31 * MS)
            } else {
                (world.intranet, MS / 2)
            };
            ssh_session(client, server, t, rtt, rng, sink)
        }
        74..=86 => {
            let site = rng.pick(&SITES);
            dns(client, &resolver, site.name, site, t, rng, sink).map(|_| ())
        }
        87..=91 => ntp(client, t, rng, sink),
        _ => {
            let target = if is_v6 {
                Host {
                    mac: GW_MAC,
                    ip: v6(1, 0x53),
                    ttl: 58,
                }
            } else if rng.chance(0.5) {
                resolver
            } else {
                Host {
                    mac: GW_MAC,
                    ip: IpAddr::V4(Ipv4Addr::new(9, 9, 9, 9)),
                    ttl: 57,
                }
            };
            ping(client, target, t, rng, sink)
        }
    }
}

/// One UDP query/response conversation; returns when the answer arrived.
fn dns(
    client: &mut Client,
    resolver: &Host,
    name: &str,
    site: &Site,
    t: i64,
    rng: &mut Rng,
    sink: &mut Sink,
) -> Result<i64, SynthError> {
    let port = ephemeral(client, rng);
    let id = rng.u32() as u16;
    let is_v6 = client.host.ip.is_ipv6();
    let qtype = if is_v6 { 28 } else { 1 };
    let q = apps::dns_query(id, name, qtype);
    let addr = match site_host(site, is_v6).ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    let a = apps::dns_response(id, name, qtype, &[addr], rng.range(30, 3600));
    let up = L4::Udp {
        sport: port,
        dport: 53,
    };
    let down = L4::Udp {
        sport: 53,
        dport: port,
    };
    let t2 = t + i64::from(rng.range(300, 40_000)) * 1000;
    sink.push(t, frame(&client.host, resolver, client.vlan, &up, &q)?);
    sink.push(t2, frame(resolver, &client.host, client.vlan, &down, &a)?);
    sink.label(&FlowRow {
        src: client.host.ip,
        sport: port,
        dst: resolver.ip,
        dport: 53,
        proto: 17,
        first_ns: t,
        last_ns: t2,
        attack: None,
    })?;
    Ok(t2 + i64::from(rng.range(100, 2000)) * 1000)
}

fn new_tcp(client: &mut Client, server: Host, dport: u16, t: i64, rtt: i64, rng: &mut Rng) -> Tcp {
    let port = ephemeral(client, rng);
    Tcp::new(
        client.host,
        server,
        client.vlan,
        (port, dport),
        (rng.u32(), rng.u32()),
        t,
        rtt,
    )
}

/// Teardown: mostly FIN (either side first), sometimes RST.
fn finish_tcp(mut c: Tcp, rng: &mut Rng, sink: &mut Sink) -> Result<(), SynthError> {
    c.t += i64::from(rng.range(5, 3000)) * MS;
    match rng.below(20) {
        0..=11 => c.close(true)?,
        12..=17 => c.close(false)?,
        _ => c.reset(true)?,
    }
    c.commit(sink)
}

fn tls_session(
    client: &mut Client,
    server: Host,
    sni: &str,
    t: i64,
    rtt: i64,
    rng: &mut Rng,
    sink: &mut Sink,
) -> Result<(), SynthError> {
    let mut c = new_tcp(client, server, 443, t, rtt, rng);
    c.handshake()?;
    c.t += 200_000;
    let hello = apps::tls_client_hello(rng, sni);
    c.send(true, &hello)?;
    c.t += rtt + i64::from(rng.range(1, 8)) * MS;
    let enc = rng.size(3200, 1800, 5200);
    let flight = apps::tls_server_flight(rng, enc);
    c.send(false, &flight)?;
    c.t += 2 * MS;
    let fin = apps::tls_client_finish(rng);
    c.send(true, &fin)?;
    for _ in 0..rng.range(1, 3) {
        c.t += i64::from(rng.range(1, 400)) * MS;
        let n = rng.size(350, 90, 1400);
        let req = apps::tls_app_data(rng, n);
        c.send(true, &req)?;
        c.t += rtt + i64::from(rng.range(2, 150)) * MS;
        let n = rng.size(2000, 120, 20_000);
        let resp = apps::tls_app_data(rng, n);
        c.send(false, &resp)?;
    }
    finish_tcp(c, rng, sink)
}

fn http_session(
    client: &mut Client,
    server: Host,
    host: &str,
    t: i64,
    rtt: i64,
    rng: &mut Rng,
    sink: &mut Sink,
) -> Result<(), SynthError> {
    let mut c = new_tcp(client, server, 80, t, rtt, rng);
    c.handshake()?;
    for _ in 0..rng.range(1, 3) {
        c.t += i64::from(rng.range(1, 300)) * MS;
        let req = apps::http_request(rng, host);
        c.send(true, &req)?;
        c.t += rtt + i64::from(rng.range(1, 60)) * MS;
        let body = rng.size(1800, 0, 15_000);
        let resp = apps::http_response(rng, c.t.div_euclid(NS), body);
        c.send(false, &resp)?;
    }
    finish_tcp(c, rng, sink)
}

fn ssh_session(
    client: &mut Client,
    server: Host,
    t: i64,
    rtt: i64,
    rng: &mut Rng,
    sink: &mut Sink,
) -> Result<(), SynthError> {
    let mut c = new_tcp(client, server, 22, t, rtt, rng);
    c.handshake()?;
    c.t += 2 * MS;
    c.send(false, apps::SSH_SERVER_BANNER)?;
    c.t += MS;
    c.send(true, apps::SSH_CLIENT_BANNER)?;
    c.t += MS;
    let kex = apps::ssh_packet(rng, 1512);
    c.send(true, &kex)?;
    c.t += rtt;
    let kex = apps::ssh_packet(rng, 1080);
    c.send(false, &kex)?;
    c.t += MS;
    let ecdh = apps::ssh_packet(rng, 48);
    c.send(true, &ecdh)?;
    c.t += rtt + 3 * MS;
    let reply = apps::ssh_packet(rng, 564);
    c.send(false, &reply)?;
    // Interactive typing: each keystroke echoed, now and then some output.
    for _ in 0..rng.range(8, 30) {
        c.t += i64::from(rng.range(80, 600)) * MS;
        let k = apps::ssh_packet(rng, 36);
        c.send(true, &k)?;
        c.t += rtt;
        let n = if rng.chance(0.15) {
            rng.size(700, 100, 4000)
        } else {
            36
        };
        let e = apps::ssh_packet(rng, n);
        c.send(false, &e)?;
    }
    c.t += 200 * MS;
    c.close(true)?;
    c.commit(sink)
}

fn ntp(client: &mut Client, t: i64, rng: &mut Rng, sink: &mut Sink) -> Result<(), SynthError> {
    let server = Host {
        mac: GW_MAC,
        ip: if client.host.ip.is_ipv6() {
            v6(1, 0x7b)
        } else {
            IpAddr::V4(Ipv4Addr::new(162, 159, 200, 1))
        },
        ttl: 57,
    };
    let port = ephemeral(client, rng);
    let t2 = t + i64::from(rng.range(5, 40)) * MS;
    let q = apps::ntp_packet(3, t, None);
    let a = apps::ntp_packet(4, t2, Some(t));
    sink.push(
        t,
        frame(
            &client.host,
            &server,
            client.vlan,
            &L4::Udp {
                sport: port,
                dport: 123,
            },
            &q,
        )?,
    );
    sink.push(
        t2,
        frame(
            &server,
            &client.host,
            client.vlan,
            &L4::Udp {
                sport: 123,
                dport: port,
            },
            &a,
        )?,
    );
    sink.label(&FlowRow {
        src: client.host.ip,
        sport: port,
        dst: server.ip,
        dport: 123,
        proto: 17,
        first_ns: t,
        last_ns: t2,
        attack: None,
    })
}

fn ping(
    client: &mut Client,
    target: Host,
    t: i64,
    rng: &mut Rng,
    sink: &mut Sink,
) -> Result<(), SynthError> {
    let id = rng.u32() as u16;
    let rtt = i64::from(rng.range(300, 30_000)) * 1000;
    let (mut first, mut last) = (i64::MAX, t);
    for seq in 1..=4u16 {
        let ts = t + i64::from(seq - 1) * NS + i64::from(rng.below(500)) * 1000;
        first = first.min(ts);
        let payload = apps::ping_payload(ts);
        let req = L4::Echo {
            reply: false,
            id,
            seq,
        };
        let rep = L4::Echo {
            reply: true,
            id,
            seq,
        };
        sink.push(
            ts,
            frame(&client.host, &target, client.vlan, &req, &payload)?,
        );
        sink.push(
            ts + rtt,
            frame(&target, &client.host, client.vlan, &rep, &payload)?,
        );
        last = ts + rtt;
    }
    sink.label(&FlowRow {
        src: client.host.ip,
        sport: 0,
        dst: target.ip,
        dport: 0,
        proto: if client.host.ip.is_ipv6() { 58 } else { 1 },
        first_ns: first,
        last_ns: last,
        attack: None,
    })
}

fn attack(
    kind: Attack,
    t: i64,
    rng: &mut Rng,
    world: &World,
    sink: &mut Sink,
) -> Result<(), SynthError> {
    match kind {
        Attack::PortScan => port_scan(t, rng, world, sink),
        Attack::SynFlood => syn_flood(t, rng, world, sink),
        Attack::DnsAmp => dns_amp(t, rng, world, sink),
    }
}

/// SYN scan of ports 1–1000 in random order: open ports answer SYN/ACK (the
/// scanner resets), closed ones RST/ACK, a few are filtered (no answer).
fn port_scan(t: i64, rng: &mut Rng, world: &World, sink: &mut Sink) -> Result<(), SynthError> {
    let mut ports: Vec<u16> = (1..=1000).collect();
    for i in (1..ports.len()).rev() {
        let j = rng.below(i as u32 + 1) as usize;
        ports.swap(i, j);
    }
    let sport = rng.range(40_000, 65_000) as u16;
    let opts = [TcpOptionElement::MaximumSegmentSize(1460)];
    let mut ts = t;
    for port in ports {
        ts += i64::from(rng.range(400, 1200)) * 1000;
        let mut c = Tcp::new(
            world.attacker,
            world.intranet,
            None,
            (sport, port),
            (rng.u32(), 0),
            ts,
            150_000,
        );
        c.row.attack = Some("portscan");
        c.seg(true, SYN, &[], &opts)?;
        c.t += c.rtt;
        match port {
            22 | 80 | 443 => {
                c.seg(false, SYN, &[], &opts)?;
                c.t += 20_000;
                c.seg(true, RST, &[], &[])?;
            }
            _ if rng.chance(0.03) => {}
            _ => c.seg(false, RST, &[], &[])?,
        }
        c.commit(sink)?;
    }
    Ok(())
}

/// A public-looking IPv4 address (no private, loopback or multicast ranges).
fn spoofed_v4(rng: &mut Rng) -> Ipv4Addr {
    loop {
        let a = Ipv4Addr::from(rng.u32());
        let o = a.octets();
        if !(a.is_private() || a.is_loopback() || o[0] == 0 || o[0] >= 224 || a.is_link_local()) {
            return a;
        }
    }
}

/// 1000 spoofed SYNs to 10.0.0.5:80 over about three seconds; the server
/// answers some with SYN/ACK (to nobody), and no handshake completes.
fn syn_flood(t: i64, rng: &mut Rng, world: &World, sink: &mut Sink) -> Result<(), SynthError> {
    let mut ts = t;
    for i in 0..1000u32 {
        ts += i64::from(rng.range(500, 3500)) * 1000;
        let src = Host {
            mac: GW_MAC,
            ip: IpAddr::V4(spoofed_v4(rng)),
            ttl: rng.range(40, 250) as u8,
        };
        let mut c = Tcp::new(
            src,
            world.intranet,
            None,
            (rng.range(1024, 65_535) as u16, 80),
            (rng.u32(), rng.u32()),
            ts,
            100_000,
        );
        c.row.attack = Some("synflood");
        c.seg(true, SYN, &[], &[])?;
        // Backlog fills after the first few hundred: later SYNs go unanswered.
        if i < 300 || rng.chance(0.2) {
            c.t += 100_000;
            let opts = [TcpOptionElement::MaximumSegmentSize(1460)];
            c.seg(false, SYN, &[], &opts)?;
        }
        c.commit(sink)?;
    }
    Ok(())
}

/// DNS amplification: large ANY answers from 20 open resolvers to a victim that never asked.
fn dns_amp(t: i64, rng: &mut Rng, world: &World, sink: &mut Sink) -> Result<(), SynthError> {
    let Some(victim) = world.clients.get(2).map(|c| c.host) else {
        return Ok(());
    };
    let vport = rng.range(1024, 65_535) as u16;
    for r in 0..20u8 {
        let refl = Host {
            mac: GW_MAC,
            ip: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10 + r)),
            ttl: rng.range(44, 60) as u8,
        };
        let mut ts = t + i64::from(rng.range(0, 200)) * MS;
        let first = ts;
        let mut last = ts;
        for _ in 0..rng.range(4, 8) {
            let id = rng.u32() as u16;
            let resp = apps::dns_amplified_response(rng, id, "amp.example", 5);
            let l4 = L4::Udp {
                sport: 53,
                dport: vport,
            };
            sink.push(ts, frame(&refl, &victim, None, &l4, &resp)?);
            last = ts;
            ts += i64::from(rng.range(20, 400)) * MS;
        }
        sink.label(&FlowRow {
            src: refl.ip,
            sport: 53,
            dst: victim.ip,
            dport: vport,
            proto: 17,
            first_ns: first,
            last_ns: last,
            attack: Some("dns_amplification"),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diurnal_shape() {
        let at = |h: i64| diurnal(h * 3600 * NS);
        assert!((at(4) - 0.15).abs() < 1e-9);
        assert!((at(16) - 1.0).abs() < 1e-9);
        assert!(at(10) > at(5) && at(10) < at(15));
    }
}
