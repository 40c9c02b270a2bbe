"""Send 64-byte UDP datagrams to 127.0.0.1:PORT at RATE packets/s for SECONDS.

Paced in 1 ms slices; prints "<sent> <elapsed seconds>" (the achieved rate
can be below the target when one Python core cannot keep up).
"""
import socket
import sys
import time

port, rate, secs = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
# A bound receiver (never read) so the kernel sends no ICMP port-unreachable.
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sink.bind(("127.0.0.1", port))
# Several source ports, so the capture meters several flows.
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(8)]
payload = b"x" * 64
dst = ("127.0.0.1", port)
sent = 0
start = time.perf_counter()
end = start + secs
while True:
    now = time.perf_counter()
    if now >= end:
        break
    due = int((now - start) * rate)
    while sent < due:
        try:
            socks[sent & 7].sendto(payload, dst)
        except OSError:
            pass  # ICMP port unreachable feedback etc.; count only what left
        sent += 1
    time.sleep(0.0005)
print(sent, time.perf_counter() - start)
