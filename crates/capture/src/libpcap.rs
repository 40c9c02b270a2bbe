//! libpcap, loaded at run time (feature `live`).
//!
//! Why not the `pcap` crate: it links libpcap when netlens is built, so a
//! plain `cargo build` failed on every machine without libpcap-dev, even
//! for users who only read capture files (the README's first command among
//! them). No maintained crate loads libpcap on demand, so this module binds
//! the dozen libpcap 1.x functions live capture needs through `libloading`
//! the first time an interface is opened. Building needs no C library;
//! capturing needs the libpcap runtime (`libpcap0.8` on Debian/Ubuntu), and
//! without it opening an interface fails with an error that says so.
//!
//! Invariants: the library is loaded at most once and never unloaded (it
//! lives in a `static`), so the function pointers copied out of it stay
//! valid for the life of the process. Every function here takes a handle
//! that [`Handle`] owns and closes exactly once.

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::sync::OnceLock;

/// libpcap's error buffer size (`PCAP_ERRBUF_SIZE`).
const ERRBUF: usize = 256;
/// `PCAP_NETMASK_UNKNOWN`: the filter does not test broadcast addresses.
const NETMASK_UNKNOWN: u32 = 0xffff_ffff;
/// `pcap_activate` status: the interface does not exist.
const ERROR_NO_SUCH_DEVICE: c_int = -5;
/// `pcap_activate` status: no permission to open the interface.
const ERROR_PERM_DENIED: c_int = -8;
/// `pcap_activate` status: no permission for promiscuous mode.
const ERROR_PROMISC_PERM_DENIED: c_int = -11;

/// Opaque `pcap_t`.
#[repr(C)]
struct RawPcap {
    _private: [u8; 0],
}

/// `struct pcap_pkthdr`.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct PktHdr {
    /// Capture time.
    pub ts: libc::timeval,
    /// Bytes captured.
    pub caplen: u32,
    /// Bytes on the wire.
    pub len: u32,
}

/// `struct pcap_stat` (the fields every platform has).
#[repr(C)]
#[derive(Default)]
struct RawStat {
    ps_recv: c_uint,
    ps_drop: c_uint,
    ps_ifdrop: c_uint,
    /// Windows appends `ps_capt` etc.; room so a larger struct cannot
    /// overrun ours.
    _spare: [c_uint; 4],
}

/// `struct bpf_program`.
#[repr(C)]
struct BpfProgram {
    bf_len: c_uint,
    bf_insns: *mut c_void,
}

/// `struct pcap_if`: only its two leading fields are read, and values of
/// this type are only ever behind pointers libpcap returned.
#[repr(C)]
struct RawIf {
    next: *mut RawIf,
    name: *mut c_char,
}

/// The libpcap functions used, copied out of the loaded library.
struct Api {
    create: unsafe extern "C" fn(*const c_char, *mut c_char) -> *mut RawPcap,
    set_snaplen: unsafe extern "C" fn(*mut RawPcap, c_int) -> c_int,
    set_timeout: unsafe extern "C" fn(*mut RawPcap, c_int) -> c_int,
    set_promisc: unsafe extern "C" fn(*mut RawPcap, c_int) -> c_int,
    set_immediate_mode: unsafe extern "C" fn(*mut RawPcap, c_int) -> c_int,
    set_buffer_size: unsafe extern "C" fn(*mut RawPcap, c_int) -> c_int,
    activate: unsafe extern "C" fn(*mut RawPcap) -> c_int,
    geterr: unsafe extern "C" fn(*mut RawPcap) -> *const c_char,
    statustostr: unsafe extern "C" fn(c_int) -> *const c_char,
    setnonblock: unsafe extern "C" fn(*mut RawPcap, c_int, *mut c_char) -> c_int,
    get_selectable_fd: unsafe extern "C" fn(*mut RawPcap) -> c_int,
    datalink: unsafe extern "C" fn(*mut RawPcap) -> c_int,
    compile:
        unsafe extern "C" fn(*mut RawPcap, *mut BpfProgram, *const c_char, c_int, u32) -> c_int,
    setfilter: unsafe extern "C" fn(*mut RawPcap, *mut BpfProgram) -> c_int,
    freecode: unsafe extern "C" fn(*mut BpfProgram),
    next_ex: unsafe extern "C" fn(*mut RawPcap, *mut *mut PktHdr, *mut *const u8) -> c_int,
    stats: unsafe extern "C" fn(*mut RawPcap, *mut RawStat) -> c_int,
    findalldevs: unsafe extern "C" fn(*mut *mut RawIf, *mut c_char) -> c_int,
    freealldevs: unsafe extern "C" fn(*mut RawIf),
    close: unsafe extern "C" fn(*mut RawPcap),
    /// Keeps the library mapped (never dropped: `Api` lives in a static).
    _lib: libloading::Library,
}

/// Names the runtime library goes by, most specific first.
#[cfg(not(target_os = "macos"))]
const LIBRARY_NAMES: &[&str] = &["libpcap.so.1", "libpcap.so.0.8", "libpcap.so"];
/// Names the runtime library goes by, most specific first.
#[cfg(target_os = "macos")]
const LIBRARY_NAMES: &[&str] = &["libpcap.A.dylib", "libpcap.dylib"];

fn load() -> Result<Api, String> {
    let lib = LIBRARY_NAMES
        .iter()
        // SAFETY: loading libpcap runs no initialisers with preconditions.
        .find_map(|name| unsafe { libloading::Library::new(name) }.ok())
        .ok_or_else(|| {
            format!(
                "live capture needs the libpcap library, and none of {} could be loaded \
                 (install it: apt-get install libpcap0.8, or dnf install libpcap)",
                LIBRARY_NAMES.join(", ")
            )
        })?;
    macro_rules! sym {
        ($name:literal) => {{
            // SAFETY: the signature declared in `Api` is libpcap 1.x's for
            // this symbol (pcap/pcap.h), and the pointer is only used while
            // `lib` is alive (it is moved into the same `Api`).
            let s = unsafe { lib.get(concat!($name, "\0").as_bytes()) }.map_err(|e| {
                format!(
                    "libpcap lacks {}: {e} (libpcap 1.5 or later is needed)",
                    $name
                )
            })?;
            *s
        }};
    }
    Ok(Api {
        create: sym!("pcap_create"),
        set_snaplen: sym!("pcap_set_snaplen"),
        set_timeout: sym!("pcap_set_timeout"),
        set_promisc: sym!("pcap_set_promisc"),
        set_immediate_mode: sym!("pcap_set_immediate_mode"),
        set_buffer_size: sym!("pcap_set_buffer_size"),
        activate: sym!("pcap_activate"),
        geterr: sym!("pcap_geterr"),
        statustostr: sym!("pcap_statustostr"),
        setnonblock: sym!("pcap_setnonblock"),
        get_selectable_fd: sym!("pcap_get_selectable_fd"),
        datalink: sym!("pcap_datalink"),
        compile: sym!("pcap_compile"),
        setfilter: sym!("pcap_setfilter"),
        freecode: sym!("pcap_freecode"),
        next_ex: sym!("pcap_next_ex"),
        stats: sym!("pcap_stats"),
        findalldevs: sym!("pcap_findalldevs"),
        freealldevs: sym!("pcap_freealldevs"),
        close: sym!("pcap_close"),
        _lib: lib,
    })
}

/// The loaded library, or why it could not be loaded.
fn api() -> Result<&'static Api, OpenError> {
    static API: OnceLock<Result<Api, String>> = OnceLock::new();
    API.get_or_init(load)
        .as_ref()
        .map_err(|e| OpenError::Other(e.clone()))
}

/// Text of a NUL-terminated C string libpcap returned (empty for null).
fn text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: libpcap returns NUL-terminated strings that stay valid until
    // the next call on the same handle; we copy at once.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Text of an error buffer libpcap filled.
fn errbuf_text(buf: &[c_char; ERRBUF]) -> String {
    let bytes: Vec<u8> = buf
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Why an interface could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// The interface does not exist.
    NoSuchDevice,
    /// No permission to capture.
    Permission(String),
    /// Anything else (including a missing libpcap).
    Other(String),
}

/// How to open an interface.
pub(crate) struct Settings<'a> {
    pub device: &'a str,
    pub snaplen: i32,
    pub timeout_ms: i32,
    pub promiscuous: bool,
    pub immediate: bool,
    pub buffer_bytes: Option<i32>,
}

/// An activated, non-blocking capture handle; closed on drop.
pub(crate) struct Handle {
    api: &'static Api,
    p: *mut RawPcap,
}

// SAFETY: a pcap_t may be used from any one thread at a time; `Handle` is
// not `Sync` and every method takes `&mut self` or `&self` without sharing
// the handle across threads concurrently.
unsafe impl Send for Handle {}

/// One packet as libpcap returned it (valid until the next read).
pub(crate) enum Next<'a> {
    /// A packet: header and captured bytes.
    Packet(PktHdr, &'a [u8]),
    /// No packet ready (non-blocking read came back empty).
    Empty,
}

impl Handle {
    /// Create, configure, activate and switch to non-blocking mode.
    pub fn open(s: &Settings<'_>) -> Result<Handle, OpenError> {
        let api = api()?;
        let dev = CString::new(s.device)
            .map_err(|_| OpenError::Other("interface name contains a NUL byte".into()))?;
        let mut err = [0 as c_char; ERRBUF];
        // SAFETY: valid C string and error buffer of PCAP_ERRBUF_SIZE.
        let p = unsafe { (api.create)(dev.as_ptr(), err.as_mut_ptr()) };
        if p.is_null() {
            return Err(OpenError::Other(errbuf_text(&err)));
        }
        let h = Handle { api, p };
        // SAFETY: `p` is a created, not yet activated handle; these setters
        // only fail on an activated one.
        unsafe {
            (api.set_snaplen)(p, s.snaplen);
            (api.set_timeout)(p, s.timeout_ms);
            (api.set_promisc)(p, c_int::from(s.promiscuous));
            (api.set_immediate_mode)(p, c_int::from(s.immediate));
            if let Some(b) = s.buffer_bytes {
                (api.set_buffer_size)(p, b);
            }
        }
        // SAFETY: `p` is valid; activation returns a status code.
        let status = unsafe { (api.activate)(p) };
        if status < 0 {
            // SAFETY: valid handle / any status code; strings copied at once.
            let detail = match text(unsafe { (api.geterr)(p) }) {
                d if d.is_empty() => text(unsafe { (api.statustostr)(status) }),
                d => d,
            };
            return Err(match status {
                ERROR_NO_SUCH_DEVICE => OpenError::NoSuchDevice,
                ERROR_PERM_DENIED | ERROR_PROMISC_PERM_DENIED => OpenError::Permission(detail),
                _ => OpenError::Other(detail),
            });
        }
        // Non-blocking, with the caller's own poll() for the timeout:
        // libpcap's read timeout is not guaranteed to return when no packet
        // arrives (on Linux 1.10 it keeps polling), so an idle link would
        // never tick.
        // SAFETY: activated handle, error buffer of the right size.
        if unsafe { (api.setnonblock)(p, 1, err.as_mut_ptr()) } < 0 {
            return Err(OpenError::Other(errbuf_text(&err)));
        }
        Ok(h)
    }

    /// The handle's last error message.
    fn last_error(&self) -> String {
        // SAFETY: valid handle; the string is copied at once.
        text(unsafe { (self.api.geterr)(self.p) })
    }

    /// LINKTYPE/DLT of the interface.
    pub fn datalink(&self) -> i32 {
        // SAFETY: activated handle.
        unsafe { (self.api.datalink)(self.p) }
    }

    /// A descriptor to poll() for readability (-1 when there is none).
    pub fn selectable_fd(&self) -> i32 {
        // SAFETY: activated handle.
        unsafe { (self.api.get_selectable_fd)(self.p) }
    }

    /// Compile a BPF expression and apply it in the kernel.
    pub fn set_filter(&mut self, expr: &str) -> Result<(), String> {
        let c = CString::new(expr).map_err(|_| "the filter contains a NUL byte".to_string())?;
        let mut prog = BpfProgram {
            bf_len: 0,
            bf_insns: std::ptr::null_mut(),
        };
        // SAFETY: valid handle, program struct and C string.
        if unsafe { (self.api.compile)(self.p, &mut prog, c.as_ptr(), 1, NETMASK_UNKNOWN) } < 0 {
            return Err(self.last_error());
        }
        // SAFETY: `prog` was filled by pcap_compile and is freed once, after use.
        let rc = unsafe { (self.api.setfilter)(self.p, &mut prog) };
        // SAFETY: freed exactly once; the kernel keeps its own copy.
        unsafe { (self.api.freecode)(&mut prog) };
        if rc < 0 {
            return Err(self.last_error());
        }
        Ok(())
    }

    /// Read one packet without blocking.
    pub fn next(&mut self) -> Result<Next<'_>, String> {
        let mut hdr: *mut PktHdr = std::ptr::null_mut();
        let mut data: *const u8 = std::ptr::null();
        // SAFETY: valid handle and out-pointers.
        let rc = unsafe { (self.api.next_ex)(self.p, &mut hdr, &mut data) };
        match rc {
            1 if !hdr.is_null() && !data.is_null() => {
                // SAFETY: on success libpcap points `hdr` at a header and
                // `data` at `caplen` bytes, both valid until the next read on
                // this handle, which needs `&mut self` and so cannot happen
                // while the returned borrow lives.
                let h = unsafe { *hdr };
                let bytes = unsafe { std::slice::from_raw_parts(data, h.caplen as usize) };
                Ok(Next::Packet(h, bytes))
            }
            0 | 1 => Ok(Next::Empty),
            -2 => Err("the capture was stopped".into()),
            _ => Err(self.last_error()),
        }
    }

    /// (received, dropped by the kernel, dropped by the interface).
    pub fn stats(&mut self) -> Option<(u32, u32, u32)> {
        let mut s = RawStat::default();
        // SAFETY: valid handle and stat struct at least as large as libpcap's.
        (unsafe { (self.api.stats)(self.p, &mut s) } == 0).then_some((
            s.ps_recv,
            s.ps_drop,
            s.ps_ifdrop,
        ))
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle is owned and closed exactly once.
        unsafe { (self.api.close)(self.p) }
    }
}

/// Names of the interfaces libpcap can open (empty when it cannot list them).
pub(crate) fn device_names() -> Vec<String> {
    let Ok(api) = api() else {
        return Vec::new();
    };
    let mut list: *mut RawIf = std::ptr::null_mut();
    let mut err = [0 as c_char; ERRBUF];
    // SAFETY: out-pointer and error buffer of the right size.
    if unsafe { (api.findalldevs)(&mut list, err.as_mut_ptr()) } < 0 {
        return Vec::new();
    }
    let mut names = Vec::new();
    let mut cur = list;
    // Bounded walk: a corrupt list cannot loop forever.
    while !cur.is_null() && names.len() < 10_000 {
        // SAFETY: `cur` is a node of the list pcap_findalldevs returned.
        let node = unsafe { &*cur };
        names.push(text(node.name));
        cur = node.next;
    }
    // SAFETY: the list is freed once, after the walk.
    unsafe { (api.freealldevs)(list) };
    names
}
